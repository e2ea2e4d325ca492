package sidecar

import (
	"strconv"
	"time"
)

// WorkerState is where one worker slot of a [Pool] stands.
type WorkerState int

// The states of a worker slot.
const (
	WorkerStarting   WorkerState = iota // its process is starting: handshake, Info, Load
	WorkerIdle                          // ready and waiting for a request
	WorkerBusy                          // answering a request
	WorkerRestarting                    // its process exited; waiting out the backoff
	WorkerFailed                        // it crash-looped and is no longer restarted
	WorkerStopped                       // the pool was closed
)

var workerStateNames = [...]string{"starting", "idle", "busy", "restarting", "failed", "stopped"}

// String returns the state's lower-case name, such as "idle".
func (s WorkerState) String() string {
	if s >= 0 && int(s) < len(workerStateNames) {
		return workerStateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// WorkerInfo describes one worker slot of a [Pool].
type WorkerInfo struct {
	ID       int         // the slot number, from 1
	PID      int         // the current process id; 0 while none runs
	State    WorkerState // where the slot stands
	Since    time.Time   // when it entered State
	Restarts int         // restarts of this slot since Load
	Runtime  string      // the worker's runtime description from Info
	Batch    bool        // whether the worker said it implements PredictBatch
	Err      error       // the last failure of this slot, or nil; a *WorkerError when it crashed
}
