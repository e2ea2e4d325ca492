// Package oipconv converts Open Inference Protocol (KServe v2, Triton) tensors
// to and from Swapwire values. It holds pure functions only; the gRPC
// service that uses them lives in serving.
//
// # Inputs
//
// [DecodeInputs] expects exactly one input tensor, because a Swapwire model
// takes one [predict.Value]; any other count is an InvalidArgument error.
// The elements come from the tensor's typed contents or from the request's
// raw_input_contents (little-endian; each BYTES element prefixed by its
// 4-byte little-endian length), never both. The shape must have no negative
// dimension and its product must equal the element count exactly (an empty
// shape is a scalar: one element); raw contents must have exactly the
// length the shape and datatype imply.
//
// Datatypes map to values as follows:
//
//   - INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32: ints. Typed
//     contents outside the datatype's range are rejected.
//   - UINT64: ints; an element above math.MaxInt64 is rejected.
//   - FP32, FP64: floats.
//   - BYTES: text when the tensor has one element, strings otherwise (also
//     for zero elements). Every element must then be valid UTF-8. With the
//     parameter content_type = "bytes" on the tensor (or, failing that, on
//     the request) the tensor must have exactly one element and becomes raw
//     bytes, unchecked. Other content_type values do not change decoding.
//   - BOOL, FP16, BF16: not supported (InvalidArgument).
//
// The shape is only checked, not kept in the value: a [2,3] INT64 tensor
// becomes six ints in row-major order. [Input] reports it for a model that
// wants it.
//
// # Outputs
//
// [EncodeOutputs] turns a [predict.Result] into a response with up to two
// outputs, "label" and "scores", as typed contents (never raw). See its
// documentation for the datatypes.
//
// All errors are *predict.Error values carrying a gRPC code.
package oipconv
