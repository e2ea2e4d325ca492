package sidecar

import "github.com/swapwire/swapwire/predict"

// WorkerState is where one worker slot of a [Pool] stands; it is
// predict.WorkerState, so a Pool is a predict.WorkerReporter.
type WorkerState = predict.WorkerState

// The states of a worker slot.
const (
	WorkerStarting   = predict.WorkerStarting
	WorkerIdle       = predict.WorkerIdle
	WorkerBusy       = predict.WorkerBusy
	WorkerRestarting = predict.WorkerRestarting
	WorkerFailed     = predict.WorkerFailed
	WorkerStopped    = predict.WorkerStopped
)

// WorkerInfo describes one worker slot of a [Pool]; it is
// predict.WorkerStatus.
type WorkerInfo = predict.WorkerStatus
