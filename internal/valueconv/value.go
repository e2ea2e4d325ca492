package valueconv

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// ErrMissing is wrapped by the error ValueFromProto returns for a nil value
// or a value whose oneof is not set.
var ErrMissing = errors.New("input is missing")

// ValueToProto converts v to its wire form. The slices of v are aliased, not
// copied. A zero Value (KindNone) converts to nil.
func ValueToProto(v predict.Value) *swapwirev1.Value {
	switch v.Kind() {
	case predict.KindText:
		return &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: v.Text()}}
	case predict.KindBytes:
		return &swapwirev1.Value{Kind: &swapwirev1.Value_Data{Data: v.Bytes()}}
	case predict.KindInts:
		return &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: v.Ints()}}}
	case predict.KindFloats:
		return &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: v.Floats()}}}
	case predict.KindStrings:
		return &swapwirev1.Value{Kind: &swapwirev1.Value_Strings{Strings: &swapwirev1.StringArray{Values: v.Strings()}}}
	}
	return nil
}

// ValueFromProto converts a wire value. The slices of p are aliased, not
// copied. A nil p, or one whose oneof is not set, gives an error with code
// InvalidArgument that wraps [ErrMissing]. An array message that is set but
// nil (possible only for messages built in Go) gives an empty array.
func ValueFromProto(p *swapwirev1.Value) (predict.Value, error) {
	switch k := p.GetKind().(type) {
	case *swapwirev1.Value_Text:
		return predict.Text(k.Text), nil
	case *swapwirev1.Value_Data:
		return predict.Bytes(k.Data), nil
	case *swapwirev1.Value_Ints:
		return predict.Ints(k.Ints.GetValues()...), nil
	case *swapwirev1.Value_Floats:
		return predict.Floats(k.Floats.GetValues()...), nil
	case *swapwirev1.Value_Strings:
		return predict.Strings(k.Strings.GetValues()...), nil
	case nil:
		return predict.Value{}, predict.Errorf(codes.InvalidArgument,
			"%w: set one of text, data, ints, floats or strings", ErrMissing)
	default:
		return predict.Value{}, predict.Errorf(codes.InvalidArgument, "unknown value kind %T", k)
	}
}

// ErrorToProto converts err to a wire error carrying its gRPC code (see
// predict.CodeOf) and message: the status message when err carries a gRPC
// status, err.Error() otherwise. A nil err converts to nil.
func ErrorToProto(err error) *swapwirev1.Error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Message()
	}
	return &swapwirev1.Error{Code: int32(predict.CodeOf(err)), Message: msg}
}

// ErrorFromProto converts a wire error to an error with the same code and
// message. A nil e converts to nil; an e whose code is OK converts to an
// error with code Unknown, since it reports a failure.
func ErrorFromProto(e *swapwirev1.Error) error {
	if e == nil {
		return nil
	}
	c := codes.Code(e.GetCode())
	if c == codes.OK || c > codes.Unauthenticated {
		c = codes.Unknown
	}
	return predict.Errorf(c, "%s", e.GetMessage())
}

// describe names a Go type for an error message.
func describe(v any) string { return fmt.Sprintf("%T", v) }
