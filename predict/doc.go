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
//
// Errors returned by a Predictor may carry a gRPC code (see [Errorf]); the
// client then sees that code. Any other error reaches the client as Unknown.
package predict
