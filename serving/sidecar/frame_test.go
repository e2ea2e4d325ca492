package sidecar

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

func TestFrameRoundTrip(t *testing.T) {
	in := &workerv1.Reply{Id: 7, Kind: &workerv1.Reply_Predict{Predict: &workerv1.PredictResponse{Scores: []float64{0.25, 0.75}}}}
	b, err := appendFrame([]byte("xx"), in)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b[2:])
	payload, err := readFrame(r, nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeReply(payload)
	if err != nil || !proto.Equal(in, out) {
		t.Fatalf("decoded %v, %v; want %v", out, err, in)
	}
	if _, err := readFrame(r, nil, 1<<20); err != io.EOF {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
	// Over the limit: refused before the payload is read.
	if _, err := readFrame(bytes.NewReader(b[2:]), nil, 3); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	// Cut short.
	if _, err := readFrame(bytes.NewReader(b[2:len(b)-1]), nil, 1<<20); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut short: %v", err)
	}
}

// FuzzReadFrame feeds arbitrary bytes to the reply decoder: it never
// panics, never reads past a frame's length, and what it accepts
// re-encodes to a frame that decodes to the same reply.
func FuzzReadFrame(f *testing.F) {
	good, _ := appendFrame(nil, &workerv1.Reply{Id: 1, Error: &swapwirev1.Error{Code: 3, Message: "bad"}})
	f.Add(good)
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0, 2, 0x08})
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, err := readFrame(bytes.NewReader(data), nil, 1<<16)
		if err != nil {
			return
		}
		if len(payload) > len(data)-frameHeader {
			t.Fatalf("payload of %d bytes from %d bytes of input", len(payload), len(data))
		}
		r, err := decodeReply(payload)
		if err != nil {
			return
		}
		again, err := appendFrame(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := readFrame(bytes.NewReader(again), nil, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeReply(p2)
		if err != nil || !proto.Equal(r, r2) {
			t.Fatalf("re-encoded reply differs: %v vs %v (%v)", r, r2, err)
		}
	})
}
