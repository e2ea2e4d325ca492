package serving

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// warmModel records what ran before it served: Warm and the warm-up file's
// requests. A version whose warm.txt says "fail" fails Warm.
type warmModel struct {
	mu     sync.Mutex
	dir    string
	warmed bool
	seen   []string // inputs, in order
}

func (w *warmModel) Load(_ context.Context, dir string) error { w.dir = dir; return nil }

func (w *warmModel) Warm(context.Context) error {
	if b, _ := os.ReadFile(filepath.Join(w.dir, "warm.txt")); strings.TrimSpace(string(b)) == "fail" {
		return errors.New("cache would not fill")
	}
	w.mu.Lock()
	w.warmed = true
	w.mu.Unlock()
	return nil
}

func (w *warmModel) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if in.Kind() == predict.KindInts && len(in.Ints()) == 0 {
		return predict.Result{}, predict.InvalidArgument("empty image")
	}
	w.seen = append(w.seen, in.String())
	return predict.Result{Label: predict.Text(filepath.Base(w.dir))}, nil
}

func publishFiles(t *testing.T, st modelstore.Store, version int64, files map[string]string) {
	t.Helper()
	tx, err := st.Begin(context.Background(), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Abort()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(tx.Dir(), name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(context.Background(), version); err != nil {
		t.Fatal(err)
	}
}

func TestWarmUpBeforeTraffic(t *testing.T) {
	st := newLocal(t, t.TempDir())
	publishFiles(t, st, 1, map[string]string{"warmup.jsonl": "{\"text\": \"a\"}\n\n{\"ints\": [1, 2]}\n"})
	var mu sync.Mutex
	var models []*warmModel
	factory := func() predict.Predictor {
		m := &warmModel{}
		mu.Lock()
		models = append(models, m)
		mu.Unlock()
		return m
	}
	ts := startServer(t, factory, st)
	ts.waitServing(t, "m", 1)
	w := models[0]
	w.mu.Lock()
	warmed, seen := w.warmed, strings.Join(w.seen, "|")
	w.mu.Unlock()
	if !warmed || seen != "a|1,2" {
		t.Fatalf("before serving: warmed %v, warm-up requests %q; want true and a|1,2", warmed, seen)
	}

	// A failing Warm, a bad warm-up line, and a warm-up request the model
	// refuses each fail the version; version 1 keeps serving.
	// Each becomes the latest in turn, so each is tried.
	for _, tc := range []struct {
		v     int64
		files map[string]string
		want  string
	}{
		{2, map[string]string{"warm.txt": "fail"}, "cache would not fill"},
		{3, map[string]string{"warmup.jsonl": "{\"txt\": \"typo\"}\n"}, "warmup.jsonl line 1"},
		{4, map[string]string{"warmup.jsonl": "{\"ints\": []}\n"}, "empty image"},
	} {
		publishFiles(t, st, tc.v, tc.files)
		err := ts.waitFailed(waitCtx(t), "m", tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("version %d failed with %v, want %q", tc.v, err, tc.want)
		}
	}
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
	if err != nil || resp.GetVersion() != 1 {
		t.Fatalf("after the failed warm-ups: %v %v", resp, err)
	}
}

// sumBatcher sums each request's ints and counts its PredictBatch calls.
type sumBatcher struct {
	mu      sync.Mutex
	batches int
}

func (s *sumBatcher) Load(context.Context, string) error { return nil }

func (s *sumBatcher) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	r, err := s.PredictBatch(ctx, []predict.Request{{Input: in, Option: opt}})
	if err != nil {
		return predict.Result{}, err
	}
	return r[0], nil
}

func (s *sumBatcher) PredictBatch(_ context.Context, reqs []predict.Request) ([]predict.Result, error) {
	s.mu.Lock()
	s.batches++
	s.mu.Unlock()
	out := make([]predict.Result, len(reqs))
	for i, r := range reqs {
		var sum int64
		for _, x := range r.Input.Ints() {
			sum += x
		}
		out[i] = predict.Result{Label: predict.Ints(sum)}
	}
	return out, nil
}

func TestBatchingFileOverridesServerConfig(t *testing.T) {
	st := newLocal(t, t.TempDir())
	publishFiles(t, st, 1, map[string]string{"batching.json": `{"max_batch_size": 16, "max_delay": "3ms", "slots": 2, "max_queue": 64}`})
	publishFiles(t, st, 2, map[string]string{"batching.json": `{"max_batch_size": 1}`})
	publishFiles(t, st, 3, map[string]string{"batching.json": `{"max_delay": "soon"}`})
	srv, err := New(func() predict.Predictor { return &sumBatcher{} }, st, WithModels("m"), WithBatching(BatchConfig{MaxBatchSize: 8}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, err := srv.eng.BatchConfigFor(filepath.Join(st.Root(), "m", "1"))
	if err != nil || cfg != (BatchConfig{MaxBatchSize: 16, MaxDelay: 3_000_000, Slots: 2, MaxQueue: 64}) {
		t.Fatalf("version 1 batching %+v %v", cfg, err)
	}
	if err := srv.waitFailed(waitCtx(t), "m", 3); err == nil || !strings.Contains(err.Error(), "max_delay") {
		t.Fatalf("version 3 with a bad batching.json: %v", err)
	}
	if err := srv.WaitServing(waitCtx(t), "m", 2); err != nil {
		t.Fatal(err)
	}
	batching := func(num int64) bool {
		m, err := srv.eng.Model("m")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range m.Versions {
			if v.Version == num {
				return v.Batching
			}
		}
		t.Fatalf("model m has no version %d", num)
		return false
	}
	if batching(2) {
		t.Fatalf("version 2 turned batching off, but has a batcher")
	}
	// Pin version 1: it batches.
	if err := st.SetPolicy(context.Background(), "m", modelstore.Policy{Pinned: 1}); err != nil {
		t.Fatal(err)
	}
	srv.eng.Refresh()
	if err := srv.WaitServing(waitCtx(t), "m", 1); err != nil {
		t.Fatal(err)
	}
	if !batching(1) {
		t.Fatalf("version 1 has no batcher")
	}
	a, err := srv.eng.Predict(context.Background(), engine.Request{Model: "m", Input: predict.Ints(2, 3, 4)})
	if err != nil || a.Result.Label.Ints()[0] != 9 || a.Version != 1 {
		t.Fatalf("batched predict: %+v %v", a, err)
	}
}
