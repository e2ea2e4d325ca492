// Command swapwire-bench runs Swapwire's benchmarks: each measures a
// baseline and Swapwire in the same run and prints the ratio.
//
//	swapwire-bench overhead   bare grpc-go echo server vs a Swapwire server, same payload
//	swapwire-bench swap       p99 and failures under load while the model version swaps, and memory
//	swapwire-bench batching   a Go BatchPredictor with batching off vs on at 1, 16 and 64 streams
//	swapwire-bench workers    scikit-learn digits: a one-process Python gRPC server vs Swapwire
//	                          with 1 worker, N workers, N workers and batching
//	swapwire-bench fleet      three swapwire serve processes on one store (directory and S3): convergence and failures
//	swapwire-bench all        all five, each run twice, publishing the worse run; with -out DIR,
//	                          writes DIR/benchmarks.md and DIR/benchmarks.svg
//
// Servers run in child processes of this binary on 127.0.0.1, pinned with
// taskset to CPU 0 while the load generator runs on CPU 1 (see -pin). Every
// load loop is bounded by a request count and a time cap.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const pinnedEnv = "SWAPWIRE_BENCH_PINNED"

type common struct {
	pin     bool
	out     string
	quick   bool
	verbose bool
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: swapwire-bench <overhead|swap|batching|workers|fleet|all> [flags]

Run "swapwire-bench <command> -h" for a command's flags.`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	if cmd == "serve" { // the child process side: see child.go
		if err := serveChild(args); err != nil {
			fmt.Fprintln(os.Stderr, "swapwire-bench serve:", err)
			os.Exit(1)
		}
		return
	}
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var c common
	fs.BoolVar(&c.pin, "pin", canPin(), "pin servers to CPU 0 and the load generator to CPU 1 with taskset (default on when taskset exists and there are 2+ CPUs)")
	fs.StringVar(&c.out, "out", "", "directory to write benchmarks.md and benchmarks.svg into (all only)")
	fs.BoolVar(&c.quick, "quick", false, "a short run with small request counts, to check that everything works")
	fs.BoolVar(&c.verbose, "v", false, "print every round")
	var run func(common, *Report) error
	switch cmd {
	case "overhead":
		o := overheadFlags(fs)
		run = func(c common, r *Report) error { return runOverhead(c, o, r) }
	case "swap":
		o := swapFlags(fs)
		run = func(c common, r *Report) error { return runSwap(c, o, r) }
	case "batching":
		o := batchingFlags(fs)
		run = func(c common, r *Report) error { return runBatching(c, o, r) }
	case "workers":
		o := workersFlags(fs)
		run = func(c common, r *Report) error { return runWorkers(c, o, r) }
	case "fleet":
		run = runFleet
	case "all":
		oo, so, bo, wo := overheadFlags(fs), swapFlags(fs), batchingFlags(fs), workersFlags(fs)
		run = func(c common, r *Report) error { return runAll(c, r, oo, so, bo, wo) }
	case "-h", "-help", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "swapwire-bench: unknown command %q\n", cmd)
		usage()
	}
	fs.Parse(args)
	if c.pin && os.Getenv(pinnedEnv) == "" {
		reexecPinned() // does not return on success
	}
	if c.out != "" && cmd != "all" {
		fmt.Fprintln(os.Stderr, "swapwire-bench: -out is for the all command")
		os.Exit(2)
	}
	rep := newReport(c, os.Args[1:])
	err := run(c, rep)
	rep.finish()
	if c.out != "" {
		if werr := rep.write(c.out); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "swapwire-bench:", err)
		os.Exit(1)
	}
}

// canPin reports whether taskset exists and there are two CPUs or more.
func canPin() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && numCPUTotal() >= 2
}

// reexecPinned replaces this process with itself under "taskset -c 1", so
// every thread of the load generator runs on CPU 1 (and the Go runtime sees
// one CPU). Children are started with their own taskset.
func reexecPinned() {
	ts, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Fprintln(os.Stderr, "swapwire-bench: -pin needs taskset (util-linux):", err)
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "swapwire-bench:", err)
		os.Exit(2)
	}
	argv := append([]string{"taskset", "-c", loadCPU(), exe}, os.Args[1:]...)
	env := append(os.Environ(), pinnedEnv+"=1")
	err = syscall.Exec(ts, argv, env)
	fmt.Fprintln(os.Stderr, "swapwire-bench: exec taskset:", err)
	os.Exit(2)
}

// serverCPU and loadCPU are the CPUs of the pinned server and load generator.
func serverCPU() string { return "0" }
func loadCPU() string   { return "1" }

// allCPUs is the taskset list of every CPU, for servers that should not be pinned.
func allCPUs() string { return fmt.Sprintf("0-%d", max(numCPUTotal()-1, 0)) }

// numCPUTotal is the machine's CPU count, not this process's affinity.
func numCPUTotal() int {
	data, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err == nil {
		s := strings.TrimSpace(string(data))
		n := 0
		for _, part := range strings.Split(s, ",") {
			var a, b int
			if k, _ := fmt.Sscanf(part, "%d-%d", &a, &b); k == 2 {
				n += b - a + 1
			} else if k == 1 {
				n++
			}
		}
		if n > 0 {
			return n
		}
	}
	return runtime.NumCPU()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
