package serving

import (
	"log/slog"
	"os"
	"runtime"
)

// ReserveProc gives the Go scheduler a second processor (P) when the
// process may run on only one CPU (pinned with taskset, or given one
// exclusive CPU by a cpuset, as Kubernetes' static CPU manager does), and
// reports whether it did.
//
// With one P, a goroutine in a blocking system call keeps the P until the
// runtime's monitor takes it back, which can take up to about 10 ms on a
// busy server. A hot swap makes several such calls beside the version
// that serves: the fsyncs that make a policy write durable, the reads that
// verify and load the new version's files. Every request waits for each of
// them, and on a 2-CPU machine with the server pinned to one CPU the p99
// latency during swaps was 2.5–3.5× the steady p99 (docs/benchmarks.md).
// With a second P, requests run while a system call blocks; the two
// threads share the one CPU, and steady throughput is unchanged.
//
// It does nothing when GOMAXPROCS is set in the environment (the operator
// chose), when GOMAXPROCS is already above 1, or when the process may use
// several CPUs but a CPU quota (a cgroup limit) made the runtime choose 1:
// there, a second P would let the process use two CPUs' worth of its
// quota at once and be throttled for the rest of each period, which is
// worse. Raising GOMAXPROCS turns off the runtime's own updates of it when
// the CPU limit changes. serving.Run and `swapwire serve` call it; a
// program that builds its own server with New may too.
func ReserveProc(log *slog.Logger) bool {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) != 1 || runtime.NumCPU() != 1 {
		return false
	}
	runtime.GOMAXPROCS(2)
	if log != nil {
		log.Info("one CPU: running with GOMAXPROCS=2 so a blocking system call cannot stall requests (set GOMAXPROCS to choose)")
	}
	return true
}
