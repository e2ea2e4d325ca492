package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swapwire/swapwire/client"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// parity answers "even" or "odd" for the sum of its ints, prefixed by the
// prefix in its version's prefix.txt.
type parity struct{ prefix string }

func (p *parity) Load(_ context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "prefix.txt"))
	p.prefix = strings.TrimSpace(string(b))
	return err
}

func (p *parity) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	var sum int64
	for _, v := range in.Ints() {
		sum += v
	}
	label := "odd"
	if sum%2 == 0 {
		label = "even"
	}
	return predict.Result{Label: predict.Text(p.prefix + label), Scores: []float64{float64(sum)}}, nil
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := dispatch(args, &out, &errb); code != 0 {
		t.Fatalf("swapwire %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

func TestCLIAgainstServer(t *testing.T) {
	root := t.TempDir()
	st, err := modelstore.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	v1 := t.TempDir()
	os.WriteFile(filepath.Join(v1, "prefix.txt"), []byte(""), 0o644)
	if _, err := modelstore.PublishDir(context.Background(), st, "parity", 1, v1); err != nil {
		t.Fatal(err)
	}
	srv := servingtest.StartReady(t, func() predict.Predictor { return &parity{} }, st)
	addr := "--addr=" + srv.Addr
	// The admin commands read the servingtest identity's token from the
	// environment.
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", srv.Token)

	var got predictOutput
	if err := json.Unmarshal([]byte(run(t, "predict", addr, "--model", "parity", "--ints", "1,2,4")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Model != "parity" || got.Version != 1 || got.Output.Text == nil || *got.Output.Text != "odd" || len(got.Scores) != 1 || got.Scores[0] != 7 {
		t.Fatalf("predict printed %+v", got)
	}
	if out := run(t, "health", addr); strings.TrimSpace(out) != "SERVING" {
		t.Fatalf("health printed %q", out)
	}

	v2 := t.TempDir()
	os.WriteFile(filepath.Join(v2, "prefix.txt"), []byte("v2-"), 0o644)
	out := run(t, "upload", addr, "--model", "parity", "--quiet", v2)
	if !strings.Contains(out, "uploaded parity version 2: 1 files") || !strings.Contains(out, "sha256 ") {
		t.Fatalf("upload printed %q", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.WaitServing(ctx, "parity", 2); err != nil {
		t.Fatal(err)
	}
	if out := run(t, "predict", addr, "--ints", "2"); !strings.Contains(out, `"text":"v2-even"`) || !strings.Contains(out, `"version":2`) {
		t.Fatalf("after upload: %s", out)
	}
	out = run(t, "models", addr)
	if !strings.Contains(out, "parity (default)") || !regexpLine(out, "2", "serving") {
		t.Fatalf("models printed:\n%s", out)
	}
	out = run(t, "switch", addr, "--model", "parity", "--version", "1")
	if !strings.Contains(out, "[pinned 1]") {
		t.Fatalf("switch printed:\n%s", out)
	}
	if err := srv.WaitServing(ctx, "parity", 1); err != nil {
		t.Fatal(err)
	}
	run(t, "label", addr, "--model", "parity", "--label", "canary", "--version", "2")
	run(t, "switch", addr, "--model", "parity", "--latest")
	if err := srv.WaitServing(ctx, "parity", 2); err != nil {
		t.Fatal(err)
	}
	if out := run(t, "rollback", addr, "--model", "parity"); !strings.Contains(out, "pinned to version 1 (was serving 2)") {
		t.Fatalf("rollback printed %q", out)
	}
	out = run(t, "split", addr, "--model", "parity", "1=90,2=10")
	if !regexpLine(out, "1", "90") || !regexpLine(out, "2", "canary", "10") {
		t.Fatalf("split printed:\n%s", out)
	}
	out = run(t, "split", addr, "--model", "parity", "--clear")
	if regexpLine(out, "2", "canary", "10") {
		t.Fatalf("split --clear printed:\n%s", out)
	}

	data := filepath.Join(t.TempDir(), "eval.jsonl")
	os.WriteFile(data, []byte(`{"ints": [1, 1], "label": "v2-even"}
{"ints": [1, 2], "label": "v2-odd"}
{"ints": [2, 2], "label": "v2-odd"}

{"ints": [3], "label": "v2-odd"}
`), 0o644)
	out = run(t, "evaluate", addr, "--model", "parity", "--version", "2", data)
	if !strings.Contains(out, "model parity version 2: 4 examples, 0 errors, accuracy 0.7500") {
		t.Fatalf("evaluate printed:\n%s", out)
	}
	// v2-even: precision 1/2 (one odd sum predicted... ) — check the table rows.
	if !regexpLine(out, "v2-odd", "1.0000", "0.6667", "0.8000", "3") {
		t.Fatalf("evaluate table:\n%s", out)
	}
}

// regexpLine reports whether one line of out holds all the fields in order.
func regexpLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		i := 0
		for _, w := range f {
			if i < len(fields) && w == fields[i] {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}

// reporting is a predictor behind two worker slots, the second given up
// after a crash loop.
type reporting struct{ parity }

var retryAt = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (*reporting) Workers() []predict.WorkerStatus {
	return []predict.WorkerStatus{
		{ID: 1, PID: 100, State: predict.WorkerIdle},
		{ID: 2, State: predict.WorkerFailed, Restarts: 5, Err: errors.New("exited 5 times in a minute"), RetryAt: retryAt},
	}
}

// TestModelsShowsWorkers checks that models reports the worker slots of a
// version, and when a given-up slot is retried.
func TestModelsShowsWorkers(t *testing.T) {
	root := t.TempDir()
	st, err := modelstore.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	v1 := t.TempDir()
	os.WriteFile(filepath.Join(v1, "prefix.txt"), []byte(""), 0o644)
	if _, err := modelstore.PublishDir(context.Background(), st, "w", 1, v1); err != nil {
		t.Fatal(err)
	}
	srv := servingtest.StartReady(t, func() predict.Predictor { return &reporting{} }, st)
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", srv.Token)
	addr := "--addr=" + srv.Addr
	want := "worker 2 given up, retried at 2030-01-02T03:04:05Z: exited 5 times in a minute"
	if out := run(t, "models", addr); !regexpLine(out, "w", "1", "serving") || !strings.Contains(out, want) {
		t.Fatalf("models printed:\n%s", out)
	}
	if out := run(t, "models", addr, "-o", "wide"); !regexpLine(out, "w", "1", "serving") || !strings.Contains(out, "  1 idle,1 failed  ") || !strings.Contains(out, want) {
		t.Fatalf("models -o wide printed:\n%s", out)
	}
	var ms []client.ModelStatus
	if err := json.Unmarshal([]byte(run(t, "models", addr, "-o", "json")), &ms); err != nil {
		t.Fatal(err)
	}
	ws := ms[0].Versions[0].Workers
	if len(ws) != 2 || ws[0].PID != 100 || ws[0].State != "idle" || ws[1].State != "failed" || !ws[1].RetryAt.Equal(retryAt) || ws[1].Restarts != 5 {
		t.Fatalf("models -o json workers: %+v", ws)
	}
}
