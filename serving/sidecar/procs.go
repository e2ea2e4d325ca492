package sidecar

// ServerProcs returns a GOMAXPROCS for a Go server whose model runs in
// worker processes, on a machine (or cgroup) of cpus CPUs with workers
// worker processes per model version: the CPUs the workers leave, at least
// one. workers <= 0 means one per CPU, the default of [Config.Workers].
//
// Such a server mostly moves bytes between its clients and its workers.
// With a P for every CPU, its idle Ps spin looking for work on the cores
// the workers compute on, and the goroutines of one batch's answers are
// woken on different threads. On 2 CPUs with 2 scikit-learn workers and
// batching, GOMAXPROCS 1 instead of 2 cut the server's CPU per request by
// about 15% and raised throughput by 8 to 12% (swapwire-bench workers,
// docs/benchmarks.md); at 1 stream the median latency fell too.
func ServerProcs(cpus, workers int) int {
	if workers <= 0 {
		workers = cpus
	}
	return max(1, cpus-workers)
}

// ServerGCPercent is a GOGC for a Go server whose models run in worker
// processes. Its heap holds only requests in flight and I/O buffers (the
// models live in the workers), a few MiB, so at Go's default of 100 it
// collects tens of times a second under load. In swapwire-bench workers
// (2 CPUs, 2 workers, 64 streams, batching) 400 instead of 100 raised
// throughput by 10% (10,780 vs 9,770 req/s, mean of five alternated runs
// each) for 13 MiB more resident memory (38 vs 25 MiB).
const ServerGCPercent = 400
