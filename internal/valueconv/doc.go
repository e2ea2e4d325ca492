// Package valueconv converts between the Go types of package predict
// (Value, Option, Request, Result) and their protobuf forms
// (swapwire.v1.Value, google.protobuf.Struct, swapwire.worker.v1
// messages).
//
// Conversions alias slices instead of copying them where the two sides
// share a representation: the []int64, []float64, []string and []byte of a
// predict.Value are the very slices of the proto message, and the other way
// round. Neither side may be modified while the other is in use.
package valueconv
