// Package oipconv converts Open Inference Protocol (KServe v2, Triton) tensors
// to and from Swapwire values. It holds pure functions only; the gRPC
// service that uses them lives in internal/protocol/oip.
//
// # Inputs
//
// [DecodeRequest] decodes every input tensor ([DecodeInputs] exactly one).
// Each tensor's elements come from its typed contents or from the request's
// raw_input_contents (one entry per input, in order) (little-endian; each BYTES element prefixed by its
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
// [ModelInputs] then shapes the decoded tensors for the model, from the
// [predict.Signature] it declares: inputs matched by name and shape, several
// inputs as one [predict.KindTensors] value, and with a batch dimension
// (MaxBatchSize > 0) one value per row of the first dimension.
//
// # Outputs
//
// [RequestedOutputs] reads the outputs a request names (refusing Triton's
// classification parameter), [Outputs] builds "label" and "scores" from one
// result or one per batch item (with the batch dimension), and
// [EncodeResponse] writes them as Triton does: raw_output_contents, no typed
// contents. [EncodeOutputs] is the three for one result. [TensorMetadata]
// and [ModelConfig] describe a model for ModelMetadata and ModelConfig.
// Every function works on decoded tensors or protocol messages, so each OIP
// front-end (gRPC, HTTP) shares them.
//
// All errors are *predict.Error values carrying a gRPC code.
package oipconv
