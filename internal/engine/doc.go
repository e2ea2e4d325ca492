// Package engine is Swapwire's model engine: it keeps every model of a
// [modelstore.Store] loaded as the store's policy asks, swaps versions
// without dropping a request, batches, tracks health and per-model metrics,
// and carries out the admin operations (publish, pin, label, split,
// rollback, delete, evaluate).
//
// Its API speaks Go types only (predict.Value, predict.Result, the status
// structs of this package). It knows no protocol: the gRPC front-ends in
// internal/protocol translate their wire types to these calls, and the
// serving package assembles engine and front-ends into a server. A new
// protocol is a new front-end; it needs no change here.
//
// Hot swap: each version is loaded into a fresh Predictor while the old one
// serves, then an atomic pointer to the model's snapshot flips. Requests
// hold a reference on the version they run on; the last reference released
// closes it, so a version being closed is never handed out again.
package engine
