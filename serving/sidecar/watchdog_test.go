package sidecar

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// A request past its deadline answers DEADLINE_EXCEEDED at the deadline;
// its worker keeps the slot until it answers within the grace, and is
// killed and replaced when it does not.
func TestPoolWatchdog(t *testing.T) {
	cfg := testConfig(t, 1)
	cfg.WatchdogGrace = 300 * time.Millisecond
	p := loadPool(t, cfg, modelDir(t, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid0 := p.Workers()[0].PID

	// Late by less than the grace: the slot is busy until the answer, then
	// the same worker serves on.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	start := time.Now()
	_, err := p.Predict(short, predict.Text("x"), predict.Option{"sleep_ms": 200.0})
	cancelShort()
	if predict.CodeOf(err) != codes.DeadlineExceeded || time.Since(start) > 150*time.Millisecond {
		t.Fatalf("late request = %v after %v", err, time.Since(start))
	}
	if st := p.Workers()[0].State; st != WorkerBusy {
		t.Fatalf("slot after the caller left: %v, want busy", st)
	}
	res, err := p.Predict(ctx, predict.Text("y"), nil)
	if err != nil || res.Label.Text() != "y@1" || int(res.Option["pid"].(float64)) != pid0 {
		t.Fatalf("next request = %v %v, %v; want y@1 from pid %d", res.Label, res.Option, err, pid0)
	}
	if time.Since(start) < 190*time.Millisecond {
		t.Fatalf("the next request ran after %v, before the late one finished", time.Since(start))
	}

	// Late by more than the grace: killed at deadline+grace and replaced.
	short, cancelShort = context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = p.Predict(short, predict.Text("x"), predict.Option{"sleep_ms": 60000.0})
	cancelShort()
	if predict.CodeOf(err) != codes.DeadlineExceeded {
		t.Fatalf("hung request = %v", err)
	}
	start = time.Now()
	res, err = p.Predict(ctx, predict.Text("z"), nil)
	pid := int(res.Option["pid"].(float64))
	if err != nil || res.Label.Text() != "z@1" || pid == pid0 {
		t.Fatalf("request after the hang = %v %v, %v; want z@1 from a new worker", res.Label, res.Option, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("replacement took %v", took)
	}
	if w := p.Workers()[0]; w.Restarts != 1 || w.PID != pid {
		t.Fatalf("worker = %+v, want 1 restart and pid %d", w, pid)
	}
}
