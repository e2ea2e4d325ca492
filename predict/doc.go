// Package predict defines what a modeler implements to serve a model with
// Swapwire: a [Predictor] that loads one model version from a directory and
// answers predictions on a [Value] with an [Option] map.
//
// A Predictor has two methods. Extra capabilities are separate interfaces
// found by type assertion, as net/http finds an http.Flusher:
//
//   - io.Closer: called once when the version is unloaded, after its last
//     in-flight request finished.
//   - [Warmer]: called after Load and before the version takes traffic.
//   - [BatchPredictor]: many inputs at once, used by dynamic batching.
//   - [Checker]: health that can change after Load, polled by the server.
//   - [WorkerReporter]: the worker processes behind the predictor, shown in
//     model listings and metrics (the pools of serving/sidecar have it).
//
// This package imports nothing of Swapwire's: the model store, the engine,
// the protocol front-ends and the sidecar all build on it (see the layout
// table in package serving's documentation).
//
// Errors returned by a Predictor may carry a gRPC code (see [Errorf]); the
// client then sees that code. Any other error reaches the client as Unknown.
package predict
