package serving

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// streams tracks the open streams of the Server's own grpc.Server so that
// Shutdown can end the idle ones (a health Watch, a PredictStream waiting
// for its next request), which would otherwise hold GracefulStop until its
// deadline. A stream is idle when it has answered every message it
// received.
type streams struct {
	mu       sync.Mutex
	open     map[*trackedStream]struct{}
	draining bool
}

type trackedStream struct {
	grpc.ServerStream
	ctx    context.Context
	cancel context.CancelFunc
	set    *streams

	mu      sync.Mutex // held while sending, so no send races the end
	pending int        // messages received and not yet answered
	ended   bool
	// serving: the last message sent was a health status of SERVING. Such
	// a Watch is about to be told NOT_SERVING by the shutdown, so the drain
	// ends it only after that message went out.
	serving bool
}

func (t *trackedStream) Context() context.Context { return t.ctx }

func (t *trackedStream) RecvMsg(m any) error {
	err := t.ServerStream.RecvMsg(m)
	if err == nil {
		t.mu.Lock()
		t.pending++
		t.mu.Unlock()
	}
	return err
}

func (t *trackedStream) SendMsg(m any) error {
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return status.Error(codes.Unavailable, "the server is shutting down")
	}
	err := t.ServerStream.SendMsg(m)
	if t.pending > 0 {
		t.pending--
	}
	if h, ok := m.(*healthpb.HealthCheckResponse); ok {
		t.serving = h.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}
	idle := t.pending == 0 && !t.serving
	t.mu.Unlock()
	if idle && t.set.isDraining() {
		t.cancel()
	}
	return err
}

// idle reports whether the stream may be ended now: it answered every
// message it received, and is not a health Watch that still has to say
// NOT_SERVING.
func (t *trackedStream) idle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending == 0 && !t.serving
}

func (s *streams) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// drain ends every idle stream now and every other one as soon as it has
// answered what it received.
func (s *streams) drain() {
	s.mu.Lock()
	s.draining = true
	var idle []*trackedStream
	for t := range s.open {
		if t.idle() {
			idle = append(idle, t)
		}
	}
	s.mu.Unlock()
	for _, t := range idle {
		t.cancel()
	}
}

// intercept is a stream interceptor that tracks the stream. When the drain
// ends it, the RPC returns UNAVAILABLE at once (so the client reconnects
// elsewhere) and the handler, whose Context is done, is left to return.
func (s *streams) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	t := &trackedStream{ServerStream: ss, ctx: ctx, cancel: cancel, set: s}
	s.mu.Lock()
	if s.open == nil {
		s.open = make(map[*trackedStream]struct{})
	}
	s.open[t] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.open, t)
		s.mu.Unlock()
	}()
	done := make(chan error, 1)
	go func() { done <- handler(srv, t) }()
	drained := status.Error(codes.Unavailable, "the server is shutting down; reconnect to another replica")
	select {
	case err := <-done:
		if ctx.Err() != nil && ss.Context().Err() == nil {
			return drained // it returned because the drain ended it
		}
		return err
	case <-ctx.Done():
	}
	if ss.Context().Err() != nil { // the client went away: let the handler finish
		return <-done
	}
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
	return drained
}
