package predict

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is an error with a gRPC code. A Predictor returns one to choose the
// status its client sees; Swapwire's own errors are of this type too.
type Error struct {
	code codes.Code
	msg  string
	err  error
}

// Errorf returns an *Error with the code and a formatted message. A %w verb
// wraps an error as fmt.Errorf does.
func Errorf(code codes.Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{code: code, msg: err.Error(), err: errors.Unwrap(err)}
}

// InvalidArgument returns an *Error with code InvalidArgument.
func InvalidArgument(format string, args ...any) *Error {
	return Errorf(codes.InvalidArgument, format, args...)
}

// Code returns the error's gRPC code.
func (e *Error) Code() codes.Code { return e.code }

func (e *Error) Error() string { return e.msg }

// Unwrap returns the wrapped error, if any.
func (e *Error) Unwrap() error { return e.err }

// GRPCStatus makes an *Error usable with status.FromError and so by grpc-go
// servers directly.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// CodeOf returns the gRPC code of err: OK for nil, the code an error carries
// (an *Error or a gRPC status error anywhere in its chain), DeadlineExceeded
// or Canceled for context errors, and Unknown for anything else.
func CodeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.code
	}
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		if s := gs.GRPCStatus(); s != nil {
			return s.Code()
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// Status converts err into a gRPC status error with the code CodeOf finds
// and err's message. It returns nil for nil.
func Status(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return s.Err()
	}
	return status.Error(CodeOf(err), err.Error())
}

func itoa(n int) string { return strconv.Itoa(n) }
