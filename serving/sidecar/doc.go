// Package sidecar serves models that run outside the Go process: a
// [predict.Predictor] backed by worker processes that speak the worker
// protocol (swapwire.worker.v1, version 2: length-prefixed protobuf frames
// over a unix socket, one call at a time, see worker.proto).
//
// A [Pool] supervises N worker processes for one model version, in the
// manner of hashicorp/go-plugin. Load starts each worker with
//
//	SWAPWIRE_WORKER_PROTOCOL=2
//	SWAPWIRE_WORKER_ADDR=unix:///<private dir>/w<n>-<gen>.sock
//
// in its environment and waits for the one ready line on its stdout,
//
//	SWAPWIRE_WORKER|2|unix|<socket path>
//
// then connects and calls Info and Load(dir). Lines the worker writes to
// stdout (other than the ready line) and to stderr go to the logger, tagged
// with model, version, worker and stream.
//
// Each worker answers one request at a time, so a model bound by a global
// interpreter lock still uses every core; a request waits for an idle worker
// while its context allows. A worker whose process exits fails its
// in-flight request with UNAVAILABLE at once and is restarted with
// exponential backoff; a slot whose worker crashes more than MaxRestarts
// times in RestartWindow is given up for a cool-down (GiveUpCooldown,
// doubling to MaxGiveUpCooldown) and then tried again, or at once on
// [Pool.Retry]. While no worker is left, requests fail fast with
// UNAVAILABLE and Check reports the last failure with the worker's stderr
// tail. A request whose caller left (its deadline passed, or it was
// cancelled) keeps its slot until the worker answers; a worker that has not
// answered WatchdogGrace after the deadline is killed and replaced. Close sends SIGTERM to each worker's process group
// and SIGKILL after StopTimeout. On Linux a worker also gets SIGKILL when
// the server process dies, so no worker outlives it.
//
// An [Attached] connects instead to one worker that runs on its own, at a
// TCP or unix address, such as a model container in the same Kubernetes
// pod. Each Attached loads its own version into that worker and names it in
// every request, and loads it again when that worker restarts.
//
// [Factory] and [AttachFactory] give the func() predict.Predictor that the
// server's model manager calls once per model version.
package sidecar

import "github.com/swapwire/swapwire/predict"

// Both kinds implement every optional interface the server looks for.
var (
	_ predict.BatchPredictor = (*Pool)(nil)
	_ predict.Checker        = (*Pool)(nil)
	_ predict.Retrier        = (*Pool)(nil)
	_ predict.WorkerReporter = (*Pool)(nil)
	_ predict.WorkerReporter = (*Attached)(nil)
	_ predict.BatchPredictor = (*Attached)(nil)
	_ predict.Checker        = (*Attached)(nil)
)
