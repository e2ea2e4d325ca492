package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

func TestPoolAnswers(t *testing.T) {
	dir := modelDir(t, "3")
	p := loadPool(t, testConfig(t, 3), dir)
	ctx := context.Background()

	ss, pids := states(p)
	if !reflect.DeepEqual(ss, []WorkerState{WorkerIdle, WorkerIdle, WorkerIdle}) {
		t.Fatalf("states after Load = %v", ss)
	}
	if slices.Contains(pids, 0) || len(slices.Compact(slices.Sorted(slices.Values(pids)))) != 3 {
		t.Fatalf("pids = %v, want 3 distinct", pids)
	}
	if w := p.Workers()[0]; w.Runtime != "go testworker" || !w.Batch {
		t.Errorf("worker info = %+v", w)
	}
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}

	res, err := p.Predict(ctx, predict.Text("hi"), predict.Option{"a": []any{1.0, map[string]any{"b": true}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Label.Text() != "hi@3" || res.Option["version"] != "3" || !slices.Contains(pids, int(res.Option["pid"].(float64))) {
		t.Fatalf("text result = %v %v", res.Label, res.Option)
	}
	cases := []struct {
		in     predict.Value
		want   string
		kind   predict.Kind
		scores []float64
	}{
		{predict.Ints(1, 2, 39), "42", predict.KindInts, nil},
		{predict.Floats(0.25, 0.5), "0.75", predict.KindFloats, []float64{0.25, 0.5}},
		{predict.Strings("a", "b"), "a,b", predict.KindText, nil},
		{predict.Bytes([]byte{1, 2, 3}), "3 bytes", predict.KindBytes, nil},
	}
	for _, c := range cases {
		res, err := p.Predict(ctx, c.in, nil)
		if err != nil {
			t.Fatalf("%v: %v", c.in.Kind(), err)
		}
		if res.Label.Kind() != c.kind || res.Label.String() != c.want || !reflect.DeepEqual(res.Scores, c.scores) {
			t.Errorf("%v: got %v %q scores %v, want %v %q scores %v", c.in.Kind(), res.Label.Kind(), res.Label, res.Scores, c.kind, c.want, c.scores)
		}
		if c.kind == predict.KindBytes && !reflect.DeepEqual(res.Label.Bytes(), []byte{3, 2, 1}) {
			t.Errorf("bytes = %v", res.Label.Bytes())
		}
	}

	// A worker's error keeps its code and message.
	_, err = p.Predict(ctx, predict.Text("x"), predict.Option{"error_code": float64(codes.InvalidArgument), "error_message": "bad pixel"})
	if predict.CodeOf(err) != codes.InvalidArgument || err.Error() != "bad pixel" {
		t.Fatalf("worker error = %v (%v)", err, predict.CodeOf(err))
	}
	// A missing input never reaches a worker.
	if _, err := p.Predict(ctx, predict.Value{}, nil); predict.CodeOf(err) != codes.InvalidArgument {
		t.Fatalf("empty input: %v", err)
	}
	ss, _ = states(p)
	if !reflect.DeepEqual(ss, []WorkerState{WorkerIdle, WorkerIdle, WorkerIdle}) {
		t.Fatalf("states after requests = %v", ss)
	}
	if err := p.Load(ctx, dir); predict.CodeOf(err) != codes.FailedPrecondition {
		t.Errorf("second Load = %v", err)
	}
}

func TestPoolConcurrentLoad(t *testing.T) {
	p := loadPool(t, testConfig(t, 3), modelDir(t, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const goroutines, requests = 8, 200
	var wrong, failed atomic.Int64
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range requests {
				res, err := p.Predict(ctx, predict.Ints(int64(g), int64(i), 1000), nil)
				if err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
				if got := res.Label.Ints(); len(got) != 1 || got[0] != int64(g+i+1000) {
					wrong.Add(1)
				}
				mu.Lock()
				seen[int(res.Option["pid"].(float64))]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || wrong.Load() != 0 {
		t.Fatalf("failed %d, wrong %d of %d", failed.Load(), wrong.Load(), goroutines*requests)
	}
	total := 0
	for _, n := range seen {
		total += n
	}
	if len(seen) != 3 || total != goroutines*requests {
		t.Fatalf("answers per pid = %v, want 3 pids and %d answers", seen, goroutines*requests)
	}
	if !allIn(p, WorkerIdle) {
		t.Fatalf("states after load: %v", p.Workers())
	}
}

func TestPoolKillInFlight(t *testing.T) {
	p := loadPool(t, testConfig(t, 3), modelDir(t, "2"))
	gate := filepath.Join(t.TempDir(), "gate")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Three held requests occupy the three workers.
	type outcome struct {
		res predict.Result
		err error
		at  time.Time
	}
	results := make(chan outcome, 3)
	for range 3 {
		go func() {
			res, err := p.Predict(ctx, predict.Text("held"), predict.Option{"wait_file": gate})
			results <- outcome{res, err, time.Now()}
		}()
	}
	waitFor(t, 10*time.Second, "three busy workers", func() bool { return allIn(p, WorkerBusy) })
	// Two more wait for a worker.
	queued := make(chan outcome, 2)
	for i := range 2 {
		go func() {
			res, err := p.Predict(ctx, predict.Ints(int64(i), 1), nil)
			queued <- outcome{res, err, time.Now()}
		}()
	}

	before := p.Workers()
	victim := before[1]
	inFlight := 0
	for _, w := range before {
		if w.ID == victim.ID && w.State == WorkerBusy {
			inFlight++
		}
	}
	killed := time.Now()
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	// The victim's request fails at once, while the gate is still closed.
	first := <-results
	if predict.CodeOf(first.err) != codes.Unavailable {
		t.Fatalf("first result after the kill: %v, %v", first.res.Label, first.err)
	}
	if !strings.Contains(first.err.Error(), "pid "+strconv.Itoa(victim.PID)) || !strings.Contains(first.err.Error(), "killed") {
		t.Errorf("error does not name the killed worker: %v", first.err)
	}
	if d := first.at.Sub(killed); d > 2*time.Second {
		t.Errorf("the in-flight request failed %v after the kill", d)
	}

	// The slot comes back with a new process.
	waitFor(t, 10*time.Second, "the killed worker to be replaced", func() bool {
		w := p.Workers()[1]
		return w.PID != 0 && w.PID != victim.PID && w.State != WorkerRestarting && w.State != WorkerStarting
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	unavailable := 1
	for range 2 {
		o := <-results
		if o.err != nil || o.res.Label.Text() != "held@2" {
			t.Errorf("held request: %v, %v", o.res.Label, o.err)
		}
	}
	for range 2 {
		o := <-queued
		if o.err != nil || len(o.res.Label.Ints()) != 1 {
			t.Errorf("queued request: %v, %v", o.res.Label, o.err)
		}
		if predict.CodeOf(o.err) == codes.Unavailable {
			unavailable++
		}
	}
	if unavailable != inFlight {
		t.Errorf("%d requests failed with UNAVAILABLE, the killed worker held %d", unavailable, inFlight)
	}
	waitFor(t, 10*time.Second, "three idle workers", func() bool { return allIn(p, WorkerIdle) })
	after := p.Workers()
	if after[1].Restarts != 1 || after[0].Restarts != 0 || after[2].Restarts != 0 {
		t.Errorf("restarts = %d %d %d, want 0 1 0", after[0].Restarts, after[1].Restarts, after[2].Restarts)
	}
	if after[0].PID != before[0].PID || after[2].PID != before[2].PID {
		t.Errorf("other workers changed: %v → %v", before, after)
	}
	if !gone(victim.PID) {
		t.Errorf("killed pid %d still exists", victim.PID)
	}
	if err := p.Check(ctx); err != nil {
		t.Errorf("Check after the restart: %v", err)
	}
}

func TestPoolKillUnderLoad(t *testing.T) {
	p := loadPool(t, testConfig(t, 3), modelDir(t, "5"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const goroutines, requests = 8, 60
	var done atomic.Int64
	halfway := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var errs []error
	ok := 0
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range requests {
				res, err := p.Predict(ctx, predict.Ints(int64(g), int64(i)), predict.Option{"sleep_ms": 2.0})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if res.Label.Ints()[0] == int64(g+i) {
					ok++
				}
				mu.Unlock()
				if done.Add(1) == goroutines*requests/3 {
					once.Do(func() { close(halfway) })
				}
			}
		})
	}
	<-halfway
	var victim int
	for _, w := range p.Workers() {
		if w.State == WorkerBusy {
			victim = w.PID
			break
		}
	}
	if victim == 0 {
		victim = p.Workers()[0].PID
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// Only requests on the killed worker fail: the one it held, and at most
	// one more handed to it before its exit was seen.
	if len(errs) > 2 || ok+len(errs) != goroutines*requests {
		t.Fatalf("%d ok, %d failed of %d: %v", ok, len(errs), goroutines*requests, errs)
	}
	for _, err := range errs {
		if predict.CodeOf(err) != codes.Unavailable || !strings.Contains(err.Error(), "pid "+strconv.Itoa(victim)) {
			t.Errorf("unexpected failure: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "three idle workers", func() bool { return allIn(p, WorkerIdle) })
	_, pids := states(p)
	if slices.Contains(pids, victim) {
		t.Errorf("pids %v still hold the killed %d", pids, victim)
	}
}

func TestPoolCrashInRequest(t *testing.T) {
	p := loadPool(t, testConfig(t, 1), modelDir(t, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := p.Workers()[0].PID
	_, err := p.Predict(ctx, predict.Text("x"), predict.Option{"crash": true})
	if predict.CodeOf(err) != codes.Unavailable || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("crash: %v", err)
	}
	// The next request waits for the restarted worker.
	res, err := p.Predict(ctx, predict.Text("again"), nil)
	if err != nil || res.Label.Text() != "again@1" {
		t.Fatalf("after the crash: %v, %v", res.Label, err)
	}
	w := p.Workers()[0]
	if w.PID == old || w.Restarts != 1 || int(res.Option["pid"].(float64)) != w.PID {
		t.Errorf("worker after restart: %+v, answered by %v", w, res.Option["pid"])
	}
	var werr *WorkerError
	if !errors.As(w.Err, &werr) || werr.PID != old || werr.Exit != "exit status 7" || !strings.Contains(werr.Stderr, "crashing in a request") {
		t.Errorf("last error = %#v", w.Err)
	}
}

func TestPoolLoadFailure(t *testing.T) {
	t.Run("load error", func(t *testing.T) {
		dir := modelDir(t, "4")
		if err := os.WriteFile(filepath.Join(dir, "fail_load"), []byte("weights are corrupt\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(t, 3)
		p := New(cfg)
		defer p.Close()
		err := p.Load(context.Background(), dir)
		if predict.CodeOf(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "weights are corrupt") {
			t.Fatalf("Load = %v (%v)", err, predict.CodeOf(err))
		}
		var werr *WorkerError
		if !errors.As(err, &werr) || !strings.Contains(werr.Stderr, "testworker: load failed: weights are corrupt") {
			t.Fatalf("no stderr tail in %#v", err)
		}
		if left := taggedProcs(t, tagOf(cfg)); len(left) != 0 {
			t.Fatalf("processes left after a failed Load: %v", left)
		}
		if _, err := p.Predict(context.Background(), predict.Text("x"), nil); predict.CodeOf(err) != codes.Unavailable {
			t.Errorf("Predict after a failed Load: %v", err)
		}
		if err := p.Check(context.Background()); err == nil {
			t.Error("Check after a failed Load is nil")
		}
	})
	t.Run("exit at start", func(t *testing.T) {
		cfg := testConfig(t, 2, "TESTWORKER_EXIT_AT_START=5")
		p := New(cfg)
		defer p.Close()
		err := p.Load(context.Background(), modelDir(t, "1"))
		var werr *WorkerError
		if !errors.As(err, &werr) || werr.Exit != "exit status 5" ||
			!strings.Contains(err.Error(), "exited before printing its ready line") ||
			!strings.Contains(werr.Stderr, "exiting at start as asked") {
			t.Fatalf("Load = %v", err)
		}
		if left := taggedProcs(t, tagOf(cfg)); len(left) != 0 {
			t.Fatalf("processes left: %v", left)
		}
	})
	t.Run("no such command", func(t *testing.T) {
		cfg := testConfig(t, 2)
		cfg.Command = []string{filepath.Join(t.TempDir(), "missing")}
		p := New(cfg)
		defer p.Close()
		if err := p.Load(context.Background(), modelDir(t, "1")); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("Load = %v", err)
		}
	})
}

func TestPoolNeverReady(t *testing.T) {
	cfg := testConfig(t, 2, "TESTWORKER_SKIP_READY=1")
	cfg.StartTimeout = 300 * time.Millisecond
	p := New(cfg)
	defer p.Close()
	start := time.Now()
	err := p.Load(context.Background(), modelDir(t, "1"))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no ready line: not ready within the start timeout of 300ms") {
		t.Fatalf("Load = %v", err)
	}
	if !strings.Contains(err.Error(), "testworker starting") {
		t.Errorf("no stderr tail in %v", err)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("Load took %v, want about the 300ms start timeout", took)
	}
	if left := taggedProcs(t, tagOf(cfg)); len(left) != 0 {
		t.Fatalf("processes left: %v", left)
	}
}

func TestPoolCrashLoop(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "broken")
	cfg := testConfig(t, 2, "TESTWORKER_EXIT_IF_EXISTS="+marker)
	cfg.MaxRestarts = 3
	cfg.RestartBackoff = 5 * time.Millisecond
	cfg.GiveUpCooldown = time.Hour // only a forced retry brings the slots back
	p := loadPool(t, cfg, modelDir(t, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Predict(ctx, predict.Text("x"), predict.Option{"crash": true}); predict.CodeOf(err) != codes.Unavailable {
			t.Fatalf("crash request: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "Check to fail", func() bool { return p.Check(ctx) != nil })
	err := p.Check(ctx)
	if predict.CodeOf(err) != codes.Unavailable || !strings.Contains(err.Error(), "crash-looped and wait for a retry") ||
		!strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "exiting at start because") {
		t.Fatalf("Check = %v", err)
	}
	for _, w := range p.Workers() {
		if w.State != WorkerFailed || w.Restarts != 3 || w.PID != 0 ||
			w.RetryAt.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("worker %d: %v, %d restarts, pid %d, retry at %v; want failed after 3, retried in an hour",
				w.ID, w.State, w.Restarts, w.PID, w.RetryAt)
		}
	}
	start := time.Now()
	_, err = p.Predict(context.Background(), predict.Text("x"), nil)
	if predict.CodeOf(err) != codes.Unavailable || time.Since(start) > time.Second {
		t.Fatalf("Predict on a dead pool: %v after %v", err, time.Since(start))
	}
	if left := taggedProcs(t, tagOf(cfg)); len(left) != 0 {
		t.Fatalf("processes left: %v", left)
	}

	// Fixed, and retried by force: both slots serve again.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	if err := p.Retry(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := p.Predict(ctx, predict.Text("x"), nil)
	if err != nil || res.Label.Text() != "x@1" {
		t.Fatalf("Predict after Retry = %v, %v", res.Label, err)
	}
	waitFor(t, 10*time.Second, "both workers idle", func() bool {
		ws := p.Workers()
		return ws[0].State == WorkerIdle && ws[1].State == WorkerIdle && ws[0].RetryAt.IsZero()
	})
}

// A crash-looped slot comes back by itself once its cool-down ends, and a
// second give-up doubles the cool-down.
func TestPoolCoolDown(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "broken")
	cfg := testConfig(t, 1, "TESTWORKER_EXIT_IF_EXISTS="+marker)
	cfg.MaxRestarts = 2
	cfg.RestartBackoff = 5 * time.Millisecond
	cfg.GiveUpCooldown = 200 * time.Millisecond
	p := loadPool(t, cfg, modelDir(t, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Predict(ctx, predict.Text("x"), predict.Option{"crash": true}); predict.CodeOf(err) != codes.Unavailable {
		t.Fatalf("crash request: %v", err)
	}
	var first time.Time
	waitFor(t, 10*time.Second, "the slot given up", func() bool {
		w := p.Workers()[0]
		first = w.RetryAt
		return w.State == WorkerFailed
	})
	// The cool-down ends, the slot fails again (the marker is still there)
	// and is given up for twice as long.
	waitFor(t, 10*time.Second, "a second give-up", func() bool {
		w := p.Workers()[0]
		return w.State == WorkerFailed && w.RetryAt.After(first)
	})
	w := p.Workers()[0]
	if d := w.RetryAt.Sub(w.Since); d < 350*time.Millisecond || d > 450*time.Millisecond {
		t.Fatalf("second cool-down = %v, want 400ms", d)
	}
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the slot back", func() bool { return p.Check(ctx) == nil })
	res, err := p.Predict(ctx, predict.Text("y"), nil)
	if err != nil || res.Label.Text() != "y@1" {
		t.Fatalf("Predict after the cool-down = %v, %v", res.Label, err)
	}
}

func TestPoolCloseLeavesNoProcess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		atLeast time.Duration
	}{
		{"sigterm", nil, 0},
		{"sigkill after timeout", []string{"TESTWORKER_IGNORE_TERM=1"}, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			children := t.TempDir()
			cfg := testConfig(t, 3, append(tc.env, "TESTWORKER_CHILD_PIDDIR="+children)...)
			cfg.StopTimeout = 300 * time.Millisecond
			p := New(cfg)
			if err := p.Load(context.Background(), modelDir(t, "1")); err != nil {
				t.Fatal(err)
			}
			_, pids := states(p)
			for _, pid := range pids {
				b, err := os.ReadFile(filepath.Join(children, strconv.Itoa(pid)+".child"))
				if err != nil {
					t.Fatal(err)
				}
				child, _ := strconv.Atoi(string(b))
				pids = append(pids, child)
			}
			if len(pids) != 6 {
				t.Fatalf("pids = %v", pids)
			}
			for _, pid := range pids {
				if gone(pid) {
					t.Fatalf("pid %d is not running before Close", pid)
				}
			}
			start := time.Now()
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if err := p.Close(); err != nil {
				t.Fatal("second Close:", err)
			}
			// Close reaps the workers; their children are the kernel's to
			// reap after the group's SIGKILL, so give that a moment.
			deadline := time.Now().Add(5 * time.Second)
			for _, pid := range pids {
				for !gone(pid) && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond) // no signal for another process's exit
				}
				if !gone(pid) {
					t.Errorf("pid %d survived Close", pid)
				}
			}
			if took < tc.atLeast || took > 5*time.Second {
				t.Errorf("Close took %v, want at least %v", took, tc.atLeast)
			}
			if ss, _ := states(p); !reflect.DeepEqual(ss, []WorkerState{WorkerStopped, WorkerStopped, WorkerStopped}) {
				t.Errorf("states after Close = %v", ss)
			}
			if _, err := p.Predict(context.Background(), predict.Text("x"), nil); !errors.Is(err, ErrClosed) || predict.CodeOf(err) != codes.Unavailable {
				t.Errorf("Predict after Close = %v", err)
			}
			if err := p.Load(context.Background(), "x"); !errors.Is(err, ErrClosed) {
				t.Errorf("Load after Close = %v", err)
			}
			if ents, _ := os.ReadDir(os.TempDir()); slices.ContainsFunc(ents, func(e os.DirEntry) bool {
				return strings.HasPrefix(e.Name(), "swapwire-") && strings.Contains(p.sockDir, e.Name())
			}) {
				t.Errorf("socket dir %s left behind", p.sockDir)
			}
		})
	}
}

func TestPoolCloseFailsWaitingAndInFlight(t *testing.T) {
	p := New(testConfig(t, 1))
	if err := p.Load(context.Background(), modelDir(t, "1")); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(t.TempDir(), "never")
	errs := make(chan error, 2)
	go func() {
		_, err := p.Predict(context.Background(), predict.Text("held"), predict.Option{"wait_file": gate})
		errs <- err
	}()
	waitFor(t, 10*time.Second, "a busy worker", func() bool { return allIn(p, WorkerBusy) })
	go func() {
		_, err := p.Predict(context.Background(), predict.Text("waiting"), nil)
		errs <- err
	}()
	p.Close()
	for range 2 {
		if err := <-errs; predict.CodeOf(err) != codes.Unavailable {
			t.Errorf("request during Close: %v", err)
		}
	}
}

func TestPoolDeadlineWhileWaiting(t *testing.T) {
	p := loadPool(t, testConfig(t, 1), modelDir(t, "1"))
	gate := filepath.Join(t.TempDir(), "gate")
	held := make(chan error, 1)
	go func() {
		_, err := p.Predict(context.Background(), predict.Text("held"), predict.Option{"wait_file": gate})
		held <- err
	}()
	waitFor(t, 10*time.Second, "a busy worker", func() bool { return allIn(p, WorkerBusy) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Predict(ctx, predict.Text("late"), nil); predict.CodeOf(err) != codes.DeadlineExceeded {
		t.Fatalf("waiting request: %v", err)
	}
	// A deadline inside the worker reaches the caller as DEADLINE_EXCEEDED too,
	// and the worker stays in the pool.
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := p.Predict(ctx2, predict.Text("slow"), predict.Option{"sleep_ms": 5000.0}); predict.CodeOf(err) != codes.DeadlineExceeded {
		t.Fatalf("slow request: %v", err)
	}
	res, err := p.Predict(context.Background(), predict.Text("ok"), nil)
	if err != nil || res.Label.Text() != "ok@1" || p.Workers()[0].Restarts != 0 {
		t.Fatalf("after deadlines: %v %v %+v", res.Label, err, p.Workers()[0])
	}
}

func TestPoolBatch(t *testing.T) {
	reqs := []predict.Request{
		{Input: predict.Ints(1, 2)},
		{Input: predict.Ints(5), Option: predict.Option{"error_code": float64(codes.InvalidArgument), "error_message": "no fives"}},
		{Input: predict.Ints(10, 20, 30)},
		{Input: predict.Ints(7), Option: predict.Option{"bad": make(chan int)}},
	}
	for _, mode := range []string{"yes", "no", "lie"} {
		t.Run(mode, func(t *testing.T) {
			p := loadPool(t, testConfig(t, 2, "TESTWORKER_BATCH="+mode), modelDir(t, "1"))
			for round := range 2 {
				res, err := p.PredictBatch(context.Background(), reqs)
				var ie predict.ItemErrors
				if !errors.As(err, &ie) || len(ie) != 4 || len(res) != 4 {
					t.Fatalf("round %d: err = %v, %d results", round, err, len(res))
				}
				if ie[0] != nil || ie[2] != nil {
					t.Fatalf("round %d: item errors %v", round, ie)
				}
				if predict.CodeOf(ie[1]) != codes.InvalidArgument || ie[1].Error() != "no fives" {
					t.Errorf("round %d: item 1 error = %v", round, ie[1])
				}
				if predict.CodeOf(ie[3]) != codes.InvalidArgument {
					t.Errorf("round %d: item 3 error = %v", round, ie[3])
				}
				if res[0].Label.String() != "3" || res[2].Label.String() != "60" {
					t.Errorf("round %d: results %v %v", round, res[0].Label, res[2].Label)
				}
			}
			if got := p.noBatch.Load(); got != (mode != "yes") {
				t.Errorf("noBatch = %v", got)
			}
			res, err := p.PredictBatch(context.Background(), reqs[:1])
			if err != nil || len(res) != 1 || res[0].Label.String() != "3" {
				t.Errorf("clean batch: %v %v", res, err)
			}
			if res, err := p.PredictBatch(context.Background(), nil); res != nil || err != nil {
				t.Errorf("empty batch: %v %v", res, err)
			}
		})
	}
}

// TestPoolPackedBatch sends alike items packed into one array to a worker
// that says it takes them, and checks the packed answers and the refusal of
// malformed ones.
func TestPoolPackedBatch(t *testing.T) {
	alike := []predict.Request{{Input: predict.Ints(1, 2)}, {Input: predict.Ints(3, 4)}, {Input: predict.Ints(5, 6)}}
	unlike := []predict.Request{{Input: predict.Ints(1, 2)}, {Input: predict.Ints(3)}}

	p := loadPool(t, testConfig(t, 1, "TESTWORKER_PACKED=yes"), modelDir(t, "1"))
	res, err := p.PredictBatch(context.Background(), alike)
	if err != nil || len(res) != 3 {
		t.Fatalf("alike: %v, %d results", err, len(res))
	}
	for i, want := range []string{"3", "7", "11"} {
		// The test worker's packed answers carry no option; its answers
		// item by item carry its pid.
		if res[i].Label.String() != want || res[i].Option != nil {
			t.Errorf("alike item %d: %v option %v, want %s from a packed answer", i, res[i].Label, res[i].Option, want)
		}
	}
	res, err = p.PredictBatch(context.Background(), unlike)
	if err != nil || len(res) != 2 || res[0].Label.String() != "3" || res[1].Label.String() != "3" || res[0].Option["pid"] == nil {
		t.Fatalf("unlike: %v %v; want item by item answers", res, err)
	}

	p = loadPool(t, testConfig(t, 1, "TESTWORKER_PACKED=always"), modelDir(t, "1"))
	if _, err := p.PredictBatch(context.Background(), unlike); predict.CodeOf(err) != codes.Internal ||
		!strings.Contains(err.Error(), "answered a batch of items with packed results") {
		t.Errorf("packed answer to items: %v, want Internal", err)
	}
	p = loadPool(t, testConfig(t, 1, "TESTWORKER_PACKED=short"), modelDir(t, "1"))
	if _, err := p.PredictBatch(context.Background(), alike); predict.CodeOf(err) != codes.Internal ||
		!strings.Contains(err.Error(), "2 labels for 3 items") {
		t.Errorf("a label short: %v, want Internal", err)
	}
}

func TestPoolLogs(t *testing.T) {
	rec := newRecorder()
	cfg := testConfig(t, 2, "TESTWORKER_NOISE=1")
	cfg.Logger = slog.New(rec)
	p := loadPool(t, cfg, modelDir(t, "7"))
	pid := strconv.Itoa(p.Workers()[1].PID)
	for _, want := range []map[string]string{
		{"stream": "stdout", "line": "noise before the ready line", "worker": "2", "pid": pid, "model": "m", "version": "7"},
		{"stream": "stdout", "line": "noise after the ready line", "worker": "2", "pid": pid, "model": "m", "version": "7"},
		{"stream": "stderr", "line": "testworker starting, pid " + pid, "worker": "2", "model": "m", "version": "7"},
		{"msg": "workers ready", "model": "m", "version": "7", "workers": "2"},
	} {
		waitFor(t, 5*time.Second, "log "+want["line"]+want["msg"], func() bool { return len(rec.find(want)) == 1 })
	}
	if got := rec.find(map[string]string{"line": "SWAPWIRE_WORKER|1|unix|" + p.sockDir + "/w1-0.sock"}); len(got) != 0 {
		t.Errorf("the ready line was logged: %v", got)
	}
}

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes+100)
	var got []string
	readLines(strings.NewReader("a\r\nb\n"+long+"\nlast"), func(l string) { got = append(got, l) })
	if len(got) != 4 || got[0] != "a" || got[1] != "b" || len(got[2]) != maxLineBytes || got[3] != "last" {
		t.Fatalf("lines = %q", got)
	}
	tl := newTail(3)
	for i := range 5 {
		tl.add(strconv.Itoa(i))
	}
	if s := tl.String(); s != "2\n3\n4" {
		t.Fatalf("tail = %q", s)
	}
}

func TestParseReady(t *testing.T) {
	for line, want := range map[string]string{
		"SWAPWIRE_WORKER|2|unix|/tmp/a|b.sock": "unix /tmp/a|b.sock",
		"SWAPWIRE_WORKER|2|tcp|127.0.0.1:5000": "tcp 127.0.0.1:5000",
		"SWAPWIRE_WORKER|1|unix|/tmp/a":        "",
		"SWAPWIRE_WORKER|2|udp|/tmp/a":         "",
		"SWAPWIRE_WORKER|2|unix":               "",
	} {
		network, addr, err := parseReady(line)
		got := ""
		if err == nil {
			got = network + " " + addr
		}
		if got != want || (err == nil) != (want != "") {
			t.Errorf("parseReady(%q) = %q, %v; want %q", line, got, err, want)
		}
	}
}

// A busy pool sheds load: beyond MaxQueue waiting requests, or after
// QueueTimeout of waiting, a request fails with RESOURCE_EXHAUSTED instead
// of queueing until its own deadline; and the pool serves again once the
// worker is free.
func TestPoolBoundedWait(t *testing.T) {
	cfg := testConfig(t, 1)
	cfg.MaxQueue = 2
	cfg.QueueTimeout = 300 * time.Millisecond
	p := loadPool(t, cfg, modelDir(t, "1"))
	gate := filepath.Join(t.TempDir(), "gate")
	held := make(chan error, 1)
	go func() {
		_, err := p.Predict(context.Background(), predict.Text("held"), predict.Option{"wait_file": gate})
		held <- err
	}()
	waitFor(t, 10*time.Second, "a busy worker", func() bool { return allIn(p, WorkerBusy) })

	// Two wait (the queue is full) and time out after QueueTimeout; a
	// third is refused at once.
	waiting := make(chan error, 2)
	start := time.Now()
	for range 2 {
		go func() {
			_, err := p.Predict(context.Background(), predict.Text("waiting"), nil)
			waiting <- err
		}()
	}
	waitFor(t, 10*time.Second, "two waiting requests", func() bool { return p.queue.waiting.Load() == 2 })
	_, err := p.Predict(context.Background(), predict.Text("third"), nil)
	if predict.CodeOf(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "2 requests already wait") {
		t.Fatalf("third request with the queue full: %v, want RESOURCE_EXHAUSTED naming MaxQueue", err)
	}
	for range 2 {
		err := <-waiting
		if predict.CodeOf(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "within 300ms") {
			t.Fatalf("waiting request: %v, want RESOURCE_EXHAUSTED after QueueTimeout", err)
		}
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("waiting requests failed after %v, before QueueTimeout", waited)
	}
	if n := p.queue.waiting.Load(); n != 0 {
		t.Fatalf("%d requests still counted as waiting", n)
	}

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	res, err := p.Predict(context.Background(), predict.Text("ok"), nil)
	if err != nil || res.Label.Text() != "ok@1" {
		t.Fatalf("after the worker is free: %v %v", res.Label, err)
	}
}
