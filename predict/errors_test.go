package predict_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/predict"
)

func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"nil", nil, codes.OK},
		{"coded", predict.Errorf(codes.NotFound, "no %s", "x"), codes.NotFound},
		{"wrapped coded", fmt.Errorf("outer: %w", predict.InvalidArgument("bad")), codes.InvalidArgument},
		{"grpc status", status.Error(codes.ResourceExhausted, "full"), codes.ResourceExhausted},
		{"wrapped status", fmt.Errorf("call: %w", status.Error(codes.Unavailable, "down")), codes.Unavailable},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded},
		{"wrapped cancel", fmt.Errorf("x: %w", context.Canceled), codes.Canceled},
		{"plain", io.EOF, codes.Unknown},
		{"plain text", errors.New("boom"), codes.Unknown},
	}
	for _, tt := range tests {
		if got := predict.CodeOf(tt.err); got != tt.want {
			t.Errorf("%s: CodeOf = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestStatusKeepsCodeAndMessage(t *testing.T) {
	err := predict.Status(fmt.Errorf("model: %w", predict.InvalidArgument("want 64 pixels, got %d", 3)))
	s, _ := status.FromError(err)
	if s.Code() != codes.InvalidArgument || s.Message() != "model: want 64 pixels, got 3" {
		t.Fatalf("status %v %q", s.Code(), s.Message())
	}
	if predict.Status(nil) != nil {
		t.Fatal("Status(nil) is not nil")
	}
	s, _ = status.FromError(predict.Status(errors.New("disk on fire")))
	if s.Code() != codes.Unknown || s.Message() != "disk on fire" {
		t.Fatalf("plain error became %v %q", s.Code(), s.Message())
	}
}

func TestErrorfWraps(t *testing.T) {
	err := predict.Errorf(codes.Internal, "load: %w", io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) || err.Code() != codes.Internal || err.Error() != "load: unexpected EOF" {
		t.Fatalf("%v %v", err, err.Code())
	}
}

func TestItemErrors(t *testing.T) {
	if got := (predict.ItemErrors{nil, errors.New("bad pixel"), nil}).Error(); got != "1 batch item failed: bad pixel" {
		t.Errorf("one: %q", got)
	}
	if got := (predict.ItemErrors{errors.New("a"), errors.New("b")}).Error(); got != "2 batch items failed, first: a" {
		t.Errorf("two: %q", got)
	}
}
