package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// answer answers every request with the text of answer.txt in its version
// directory, and counts its instances' closes.
type answer struct {
	text   string
	closes *atomic.Int64
}

func (a *answer) Load(_ context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "answer.txt"))
	if err != nil {
		return err
	}
	a.text = strings.TrimSpace(string(b))
	if a.text == "fail" {
		return errors.New("this version cannot load")
	}
	return nil
}

func (a *answer) Predict(context.Context, predict.Value, predict.Option) (predict.Result, error) {
	return predict.Result{Label: predict.Text(a.text)}, nil
}

func (a *answer) Close() error {
	a.closes.Add(1)
	return nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start returns a started engine over a fresh local store holding model
// "m" with one version per answer given.
func start(t *testing.T, answers ...string) (*engine.Engine, *modelstore.Local, *atomic.Int64) {
	t.Helper()
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		publish(t, st, a)
	}
	closes := new(atomic.Int64)
	e, err := engine.New(st, engine.Config{Factory: func() predict.Predictor { return &answer{closes: closes} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, st, closes
}

// publish commits a new version of model "m" whose answer.txt holds text.
func publish(t *testing.T, st modelstore.Store, text string) int64 {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := modelstore.PublishDir(context.Background(), st, "m", 0, dir)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ask(t *testing.T, e *engine.Engine, r engine.Request) engine.Answer {
	t.Helper()
	r.Model = "m"
	if r.Input.IsZero() {
		r.Input = predict.Text("q")
	}
	a, err := e.Predict(context.Background(), r)
	if err != nil {
		t.Fatalf("predict %+v: %v", r, err)
	}
	return a
}

// TestEngineServesThroughItsGoAPI drives the engine as a front-end does:
// predict, then every admin operation, reading the state back from Model.
func TestEngineServesThroughItsGoAPI(t *testing.T) {
	e, st, closes := start(t, "one", "two")
	if err := e.WaitServing(ctxT(t), "m", 2); err != nil {
		t.Fatal(err)
	}
	if a := ask(t, e, engine.Request{}); a.Version != 2 || a.Result.Label.Text() != "two" || a.Model != "m" {
		t.Fatalf("unnamed request answered %+v", a)
	}
	if _, err := e.Predict(context.Background(), engine.Request{Model: "nope", Input: predict.Text("q")}); predict.CodeOf(err) != codes.NotFound {
		t.Fatalf("unknown model: %v", err)
	}
	if _, err := e.Predict(context.Background(), engine.Request{Model: "m"}); predict.CodeOf(err) != codes.InvalidArgument {
		t.Fatalf("missing input: %v", err)
	}

	// Pin version 1 and wait for it.
	p, err := e.Pin(ctxT(t), "m", 1, true)
	if err != nil || p.Pinned != 1 {
		t.Fatalf("pin 1: %+v %v", p, err)
	}
	if a := ask(t, e, engine.Request{}); a.Version != 1 || a.Result.Label.Text() != "one" {
		t.Fatalf("after pin: %+v", a)
	}
	// A label keeps version 2 loaded beside it.
	if _, err := e.SetLabel(ctxT(t), "m", "canary", 2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e, func(m engine.ModelStatus) bool { return m.Labels["canary"] == 2 && len(m.Loaded()) == 2 })
	if a := ask(t, e, engine.Request{Label: "canary"}); a.Version != 2 {
		t.Fatalf("canary answered by %d", a.Version)
	}
	if a := ask(t, e, engine.Request{Version: 2}); a.Result.Label.Text() != "two" {
		t.Fatalf("version 2 answered %q", a.Result.Label.Text())
	}
	// A split sends unnamed traffic to both.
	if _, err := e.SplitTraffic(ctxT(t), "m", map[int64]int{1: 50, 2: 50}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e, func(m engine.ModelStatus) bool { return len(m.Split) == 2 })
	seen := map[int64]int{}
	for range 200 {
		seen[ask(t, e, engine.Request{}).Version]++
	}
	if seen[1] == 0 || seen[2] == 0 {
		t.Fatalf("a 50/50 split answered %v", seen)
	}
	if _, err := e.SplitTraffic(ctxT(t), "m", map[int64]int{1: 0}); predict.CodeOf(err) != codes.InvalidArgument {
		t.Fatalf("all-zero split: %v", err)
	}
	if _, err := e.SplitTraffic(ctxT(t), "m", nil); err != nil {
		t.Fatal(err)
	}
	// Delete refuses what the policy names, then removes what it does not.
	if err := e.DeleteVersion(ctxT(t), "m", 2); predict.CodeOf(err) != codes.FailedPrecondition {
		t.Fatalf("delete of a labelled version: %v", err)
	}
	if _, err := e.SetLabel(ctxT(t), "m", "canary", 0); err != nil {
		t.Fatal(err)
	}
	v3 := publish(t, st, "three")
	if _, err := e.Pin(ctxT(t), "m", v3, true); err != nil {
		t.Fatal(err)
	}
	from, to, err := e.Rollback(ctxT(t), "m")
	if err != nil || from != v3 || to != 1 {
		t.Fatalf("rollback: from %d to %d, %v; want from %d to 1", from, to, err, v3)
	}
	if err := e.WaitServing(ctxT(t), "m", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteVersion(ctxT(t), "m", 2); err != nil {
		t.Fatalf("delete version 2: %v", err)
	}
	waitFor(t, e, func(m engine.ModelStatus) bool {
		for _, v := range m.Versions {
			if v.Version == 2 {
				return false
			}
		}
		return true
	})
	if closes.Load() < 2 {
		t.Errorf("%d predictors closed after versions 2 and 3 left, want at least 2", closes.Load())
	}
}

// TestEnginePublishAndFailedLoad publishes through the engine: a version
// that cannot load is reported failed and leaves the old one serving; a
// fill that fails publishes nothing.
func TestEnginePublishAndFailedLoad(t *testing.T) {
	e, st, _ := start(t, "one")
	if err := e.WaitServing(ctxT(t), "m", 1); err != nil {
		t.Fatal(err)
	}
	write := func(text string) func(string) (engine.Published, error) {
		return func(dir string) (engine.Published, error) {
			return engine.Published{Files: 1, Bytes: int64(len(text))}, os.WriteFile(filepath.Join(dir, "answer.txt"), []byte(text), 0o644)
		}
	}
	info, err := e.Publish(ctxT(t), "m", 0, write("fail"))
	if err != nil || info.Version != 2 || info.Model != "m" {
		t.Fatalf("publish: %+v %v", info, err)
	}
	if err := e.WaitFailed(ctxT(t), "m", 2); err == nil || !strings.Contains(err.Error(), "cannot load") {
		t.Fatalf("version 2's failure: %v", err)
	}
	if a := ask(t, e, engine.Request{}); a.Version != 1 {
		t.Fatalf("after a failed load, version %d answers", a.Version)
	}
	m, err := e.Model("m")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Versions[len(m.Versions)-1]; got.Version != 2 || got.State != engine.StateFailed || got.Err == nil {
		t.Fatalf("version 2 status %+v", got)
	}
	if _, err := e.Publish(ctxT(t), "m", 0, func(string) (engine.Published, error) {
		return engine.Published{}, predict.InvalidArgument("broken upload")
	}); predict.CodeOf(err) != codes.InvalidArgument {
		t.Fatalf("failed fill: %v", err)
	}
	if vs, _ := st.Versions(context.Background(), "m"); len(vs) != 2 {
		t.Fatalf("a failed fill left versions %v", vs)
	}
}

// TestEngineEvaluates runs labelled examples through the serving version.
func TestEngineEvaluates(t *testing.T) {
	e, _, _ := start(t, "cat")
	if err := e.WaitServing(ctxT(t), "m", 1); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctxT(t), "m", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	for _, want := range []string{"cat", "cat", "dog"} {
		ev.Example(context.Background(), predict.Text("x"), nil, predict.Text(want))
	}
	rep := ev.Report()
	if rep.Examples != 3 || rep.Version != 1 || rep.Accuracy < 0.66 || rep.Accuracy > 0.67 || len(rep.Details) != 3 || rep.Details[2].Correct {
		t.Fatalf("report %+v", rep)
	}
	if strings.Join(rep.ConfusionLabels, ",") != "cat,dog" || rep.Confusion[1][0] != 1 || rep.Confusion[0][0] != 2 {
		t.Fatalf("confusion %v %v", rep.ConfusionLabels, rep.Confusion)
	}
}

// waitFor waits until the model's status satisfies ok.
func waitFor(t *testing.T, e *engine.Engine, ok func(engine.ModelStatus) bool) {
	t.Helper()
	ctx := ctxT(t)
	for {
		ch := e.Changes()
		if m, err := e.Model("m"); err == nil && ok(m) {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			m, _ := e.Model("m")
			t.Fatalf("the model never reached the state wanted: %+v", m)
		}
	}
}

// retrier is a predictor that counts the retries asked of it.
type retrier struct {
	answer
	retries *atomic.Int64
}

func (r *retrier) Retry(context.Context) error {
	r.retries.Add(1)
	return nil
}

// TestPinRetriesTheVersion: switching to a version asks its predictor, if
// it is a predict.Retrier (a worker pool cooling down), to retry at once.
func TestPinRetriesTheVersion(t *testing.T) {
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, st, "one")
	retries, closes := new(atomic.Int64), new(atomic.Int64)
	e, err := engine.New(st, engine.Config{Factory: func() predict.Predictor {
		return &retrier{answer: answer{closes: closes}, retries: retries}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	if err := e.WaitServing(ctxT(t), "m", 1); err != nil {
		t.Fatal(err)
	}
	if retries.Load() != 0 {
		t.Fatalf("%d retries before any switch", retries.Load())
	}
	if _, err := e.Pin(ctxT(t), "m", 1, true); err != nil {
		t.Fatal(err)
	}
	if retries.Load() != 1 {
		t.Fatalf("%d retries after switching to the serving version, want 1", retries.Load())
	}
}

// picky is an answer that cannot load the version whose text is "two".
type picky struct{ answer }

func (p *picky) Load(ctx context.Context, dir string) error {
	if err := p.answer.Load(ctx, dir); err != nil {
		return err
	}
	if p.text == "two" {
		return errors.New("this replica cannot load version two")
	}
	return nil
}

// A delete never breaks another replica: replica B, which failed to load
// the newest version and serves the one before, may not delete the newest
// while the model follows the newest, because replica A serves it. Once
// the policy pins another version, it may.
func TestDeleteRefusesWhatAnotherReplicaServes(t *testing.T) {
	a, st, _ := start(t, "one", "two")
	if err := a.WaitServing(ctxT(t), "m", 2); err != nil {
		t.Fatal(err)
	}
	closes := new(atomic.Int64)
	b, err := engine.New(st, engine.Config{Factory: func() predict.Predictor { return &picky{answer{closes: closes}} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	if err := b.WaitFailed(ctxT(t), "m", 2); err == nil {
		t.Fatal("replica B loaded version two")
	}
	if err := b.WaitServing(ctxT(t), "m", 1); err != nil {
		t.Fatal(err)
	}

	err = b.DeleteVersion(ctxT(t), "m", 2)
	if predict.CodeOf(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "newest") {
		t.Fatalf("delete of the newest version while following it: %v, want FAILED_PRECONDITION", err)
	}
	if got := ask(t, a, engine.Request{}); got.Version != 2 || got.Result.Label.Text() != "two" {
		t.Fatalf("replica A answered %q from version %d after the refused delete", got.Result.Label.Text(), got.Version)
	}

	if _, err := a.Pin(ctxT(t), "m", 1, true); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteVersion(ctxT(t), "m", 2); err != nil {
		t.Fatalf("delete of version 2 once pinned to 1: %v", err)
	}
	if got := ask(t, a, engine.Request{}); got.Version != 1 || got.Result.Label.Text() != "one" {
		t.Fatalf("replica A answered %q from version %d after the delete", got.Result.Label.Text(), got.Version)
	}
}

// reporting is an answer backed by two worker slots, the second given up
// until retryAt.
type reporting struct {
	answer
	retryAt time.Time
}

func (r *reporting) Workers() []predict.WorkerStatus {
	return []predict.WorkerStatus{
		{ID: 1, PID: 100, State: predict.WorkerIdle, Restarts: 1},
		{ID: 2, State: predict.WorkerFailed, Restarts: 5, Err: errors.New("crashed"), RetryAt: r.retryAt},
	}
}

// The metrics show each worker state and when a given-up slot is retried.
func TestWorkerMetrics(t *testing.T) {
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, st, "one")
	retryAt := time.Unix(1_900_000_000, 500_000_000)
	reg := prometheus.NewRegistry()
	e, err := engine.New(st, engine.Config{Registerer: reg, Factory: func() predict.Predictor {
		return &reporting{answer: answer{closes: new(atomic.Int64)}, retryAt: retryAt}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	if err := e.WaitServing(ctxT(t), "m", 1); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP swapwire_worker_retry_timestamp_seconds When a given-up worker slot is next tried (Unix time); only slots in state failed have one.
# TYPE swapwire_worker_retry_timestamp_seconds gauge
swapwire_worker_retry_timestamp_seconds{model="m",version="1",worker="2"} 1.9000000005e+09
# HELP swapwire_worker_restarts_total Worker process restarts since the version loaded.
# TYPE swapwire_worker_restarts_total counter
swapwire_worker_restarts_total{model="m",version="1"} 6
# HELP swapwire_workers Worker processes by state (starting, idle, busy, restarting, failed, stopped).
# TYPE swapwire_workers gauge
swapwire_workers{model="m",state="failed",version="1"} 1
swapwire_workers{model="m",state="idle",version="1"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "swapwire_worker_retry_timestamp_seconds", "swapwire_worker_restarts_total", "swapwire_workers"); err != nil {
		t.Fatal(err)
	}
}
