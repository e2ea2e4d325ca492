package predict

import (
	"strconv"
	"time"
)

// WorkerState is where one worker process behind a Predictor stands.
type WorkerState int

// The states of a worker.
const (
	WorkerStarting   WorkerState = iota // its process is starting: handshake, Info, Load
	WorkerIdle                          // ready and waiting for a request
	WorkerBusy                          // answering a request
	WorkerRestarting                    // its process exited; waiting out the backoff
	WorkerFailed                        // it crash-looped and waits out a cool-down before the next try
	WorkerStopped                       // its pool was closed
)

var workerStateNames = [...]string{"starting", "idle", "busy", "restarting", "failed", "stopped"}

// String returns the state's lower-case name, such as "idle".
func (s WorkerState) String() string {
	if s >= 0 && int(s) < len(workerStateNames) {
		return workerStateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// WorkerStatus describes one worker process (or slot) behind a Predictor.
type WorkerStatus struct {
	ID       int         // the slot number, from 1
	PID      int         // the current process id; 0 while none runs
	State    WorkerState // where the slot stands
	Since    time.Time   // when it entered State
	Restarts int         // restarts of this slot since Load
	Runtime  string      // the worker's runtime description
	Batch    bool        // whether the worker answers batches
	Err      error       // the last failure of this slot, or nil
	RetryAt  time.Time   // while Failed: when the slot is tried again; else zero
	// CPUSeconds and ResidentBytes are the process's CPU time (user and
	// system) and resident memory, when the reporter can read them (a
	// local process on Linux); else zero.
	CPUSeconds    float64
	ResidentBytes int64
}

// WorkerReporter is implemented by a Predictor backed by worker processes,
// such as the pools of package serving/sidecar. The server reads Workers
// to report them in model listings and metrics.
type WorkerReporter interface {
	Workers() []WorkerStatus
}
