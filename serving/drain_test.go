package serving

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/modelstore"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// TestShutdownEndsIdleStreamsAndFinishesBusyOnes holds an idle
// PredictStream and one with a request in flight: Shutdown ends the idle
// one with UNAVAILABLE, answers the request in flight, and returns well
// before its deadline (before the fix an idle stream held it to the end).
func TestShutdownEndsIdleStreamsAndFinishesBusyOnes(t *testing.T) {
	st := newLocal(t, t.TempDir(), modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "one")
	ts := startServer(t, answerFactory(newStats(), 500*time.Millisecond), st)
	ts.waitServing(t, "m", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	idle, err := ts.predict.PredictStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := ts.predict.PredictStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A first answer on each proves both streams reached the handler.
	for _, s := range []swapwirev1.PredictionService_PredictStreamClient{idle, busy} {
		s.Send(&swapwirev1.PredictStreamRequest{Id: "a", Request: &swapwirev1.PredictRequest{Model: "m", Input: textIn}})
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	busy.Send(&swapwirev1.PredictStreamRequest{Id: "b", Request: &swapwirev1.PredictRequest{Model: "m", Input: textIn}}) // in flight for 500 ms
	// Wait until the server holds it (the engine counts it in flight).
	for deadline := time.Now().Add(20 * time.Second); ; {
		m, err := ts.eng.Model("m")
		if err == nil && len(m.Versions) == 1 && m.Versions[0].InFlight > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second request never reached the model")
		}
		time.Sleep(5 * time.Millisecond) // polling the engine's count; it sends no event
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	start := time.Now()
	if err := ts.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Shutdown took %v", took)
	}
	if _, err := idle.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("idle stream: %v, want Unavailable", err)
	}
	if r, err := busy.Recv(); err != nil || r.GetResponse().GetOutput().GetText() != "one" {
		t.Errorf("the request in flight: %v %v, want its answer", r, err)
	}
}
