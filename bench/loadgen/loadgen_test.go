package loadgen

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPercentile(t *testing.T) {
	r := Result{}
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	if got := r.P50(); got != 50*time.Millisecond {
		t.Errorf("p50 = %v, want 50ms", got)
	}
	if got := r.P99(); got != 99*time.Millisecond {
		t.Errorf("p99 = %v, want 99ms", got)
	}
	if got := r.Percentile(1); got != 100*time.Millisecond {
		t.Errorf("p100 = %v, want 100ms", got)
	}
	if got := (Result{}).P99(); got != 0 {
		t.Errorf("empty p99 = %v, want 0", got)
	}
}

func TestRunCountsRequestsAndFailures(t *testing.T) {
	// A nil *grpc.ClientConn is never used by this call.
	conns := []*grpc.ClientConn{nil, nil}
	var calls atomic.Int64
	call := func(ctx context.Context, _ grpc.ClientConnInterface, stream int, seq int64) error {
		calls.Add(1)
		if seq%10 == 0 {
			return status.Error(codes.Unavailable, "every tenth fails")
		}
		return nil
	}
	r, err := Run(Config{Streams: 4, Requests: 1000}, conns, call)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 1000 || calls.Load() != 1000 {
		t.Errorf("requests = %d, calls = %d, want 1000", r.Requests, calls.Load())
	}
	if r.Failures != 100 || r.Errors["Unavailable"] != 100 {
		t.Errorf("failures = %d, errors = %v, want 100 Unavailable", r.Failures, r.Errors)
	}
	for i := 1; i < len(r.Latencies); i++ {
		if r.Latencies[i] < r.Latencies[i-1] {
			t.Fatal("latencies not sorted")
		}
	}
}

func TestRunStops(t *testing.T) {
	conns := []*grpc.ClientConn{nil}
	call := func(ctx context.Context, _ grpc.ClientConnInterface, _ int, _ int64) error {
		time.Sleep(time.Millisecond)
		return nil
	}
	stop := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(stop) })
	r, err := Run(Config{Streams: 2, Stop: stop}, conns, call)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Elapsed > 2*time.Second {
		t.Errorf("stop: %d requests in %v", r.Requests, r.Elapsed)
	}
	r, err = Run(Config{Streams: 2, MaxTime: 30 * time.Millisecond}, conns, call)
	if err != nil || r.Requests == 0 || r.Elapsed > 2*time.Second {
		t.Errorf("max time: %v, %d requests in %v", err, r.Requests, r.Elapsed)
	}
	if _, err := Run(Config{}, conns, call); err == nil {
		t.Error("a run without an end started")
	}
	if _, err := Run(Config{Requests: 1}, nil, call); !errors.Is(err, err) || err == nil {
		t.Error("a run without connections started")
	}
}

func TestMerge(t *testing.T) {
	a := Result{Requests: 2, Failures: 1, Elapsed: time.Second, Latencies: []time.Duration{1, 5}, Errors: map[string]int{"Unavailable": 1}}
	b := Result{Requests: 2, Elapsed: time.Second, Latencies: []time.Duration{2, 3}}
	m := Merge(a, b)
	if m.Requests != 4 || m.Failures != 1 || m.Elapsed != 2*time.Second || m.Throughput() != 2 || m.Errors["Unavailable"] != 1 {
		t.Errorf("merged %+v", m)
	}
	want := []time.Duration{1, 2, 3, 5}
	for i, l := range m.Latencies {
		if l != want[i] {
			t.Fatalf("latencies %v, want %v", m.Latencies, want)
		}
	}
}
