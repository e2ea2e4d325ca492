// Package rekcurdconv converts between the Rekcurd wire messages
// (package rekcurdpb) and Swapwire's predict values. It holds pure functions
// only; the gRPC service that uses them lives in serving.
//
// The Rekcurd protocol names each method after its input and output forms,
// Predict_<In>_<Out>, with the forms String, Bytes, ArrInt, ArrFloat and
// ArrString (see [Form] and [ParseMethod]). Integers travel as int32 and
// floats as float32, so outputs are narrowed: a value that does not fit is an
// InvalidArgument error, never a silently wrapped number (see [Int32s] and
// [Float32s]). Options travel as JSON text (see [ParseOption] and
// [FormatOption]).
//
// A model's label is matched to the output form the client asked for by
// [StringLabel], [BytesLabel], [ArrIntLabel], [ArrFloatLabel] and
// [ArrStringLabel]. Besides the exact match they accept these coercions:
//
//   - String: a text label, or a strings label of exactly one element.
//   - Bytes: a bytes label, or a text label as its UTF-8 bytes.
//   - ArrInt: an ints label (narrowed to int32).
//   - ArrFloat: a floats label (narrowed to float32), or an ints label
//     converted to the nearest float32.
//   - ArrString: a strings label, or a text label as a one-element array.
//
// Anything else fails with InvalidArgument and the message
// "model returned <kind> label, method Predict_X_Y wants <form>".
//
// All errors are *predict.Error values carrying a gRPC code.
package rekcurdconv
