package sidecar

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// python is Debian's Python, with the worker runtime's dependencies.
const python = "/usr/bin/python3"

// needPython fails the test when Debian's Python cannot run the worker
// runtime, unless SWAPWIRE_SKIP_PYTHON=1 asks to skip it.
func needPython(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		if os.Getenv("SWAPWIRE_SKIP_PYTHON") == "1" {
			t.Skipf("SWAPWIRE_SKIP_PYTHON=1 and %s cannot run the worker runtime: %v", python, err)
		}
		t.Fatalf("%s cannot import grpc and protobuf (apt-get install python3-grpcio python3-protobuf, "+
			"or set SWAPWIRE_SKIP_PYTHON=1): %v: %s", python, err, out)
	}
}

func pyModel(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("testdata/pymodel.py")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// answerDir writes a version directory whose model answers answer.
func answerDir(t *testing.T, version, answer string) string {
	t.Helper()
	dir := modelDir(t, version)
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte(answer), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func pyConfig(t *testing.T, n int) Config {
	cfg := testConfig(t, n)
	cfg.Command = []string{python, pyModel(t)}
	return cfg
}

// runPython starts the Python model as an attached worker at addr.
func runPython(t *testing.T, addr string) string {
	t.Helper()
	cmd := exec.Command(python, pyModel(t), addr)
	cmd.Env = append(os.Environ(), "SWAPWIRE_WORKER_PROTOCOL=2")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("ready line: %v", err)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) != 4 || parts[1] != "2" {
		t.Fatalf("ready line %q", line)
	}
	return parts[2] + "://" + parts[3]
}

func predictText(ctx context.Context, p predict.Predictor) (string, error) {
	res, err := p.Predict(ctx, predict.Text("x"), nil)
	return res.Label.Text(), err
}

// An attached Python worker holds v1 and v2 side by side and answers each
// with its own model; a failed v2 load leaves v1 answering.
func TestPythonAttachVersions(t *testing.T) {
	needPython(t)
	for _, addr := range []string{"tcp://127.0.0.1:0", "unix://" + filepath.Join(t.TempDir(), "w.sock")} {
		t.Run(strings.SplitN(addr, ":", 2)[0], func(t *testing.T) {
			addr = runPython(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfg := AttachConfig{Addr: addr, StartTimeout: 20 * time.Second}
			v1, bad, v2 := Attach(cfg), Attach(cfg), Attach(cfg)
			defer v1.Close()
			defer bad.Close()
			defer v2.Close()
			if err := v1.Load(ctx, answerDir(t, "1", "one")); err != nil {
				t.Fatal(err)
			}
			err := bad.Load(ctx, answerDir(t, "2", "raise"))
			if predict.CodeOf(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "weights are corrupt") {
				t.Fatalf("failed v2 load = %v", err)
			}
			if got, err := predictText(ctx, v1); err != nil || got != "one" {
				t.Fatalf("v1 after the failed v2 load = %q, %v", got, err)
			}
			if err := v2.Load(ctx, answerDir(t, "3", "three")); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				for _, tc := range []struct {
					p    predict.Predictor
					want string
				}{{v1, "one"}, {v2, "three"}} {
					if got, err := predictText(ctx, tc.p); err != nil || got != tc.want {
						t.Fatalf("Predict = %q, %v; want %q", got, err, tc.want)
					}
				}
			}
			v1.Close() // drained: unloaded from the worker
			if got, err := predictText(ctx, v2); err != nil || got != "three" {
				t.Fatalf("v2 after v1 closed = %q, %v", got, err)
			}
		})
	}
}

// A Python worker sleeping past the deadline is killed after the grace and
// the next request succeeds on a fresh worker.
func TestPythonWatchdog(t *testing.T) {
	needPython(t)
	cfg := pyConfig(t, 1)
	cfg.WatchdogGrace = 500 * time.Millisecond
	p := loadPool(t, cfg, answerDir(t, "1", "one"))
	pid0 := p.Workers()[0].PID
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	start := time.Now()
	_, err := p.Predict(short, predict.Text("x"), predict.Option{"sleep": 60.0})
	cancel()
	if predict.CodeOf(err) != codes.DeadlineExceeded || time.Since(start) > 2*time.Second {
		t.Fatalf("sleeping request = %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := p.Predict(ctx, predict.Text("x"), nil)
	if err != nil || res.Label.Text() != "one" {
		t.Fatalf("request after the hang = %v, %v", res.Label, err)
	}
	if pid := int(res.Option["pid"].(float64)); pid == pid0 {
		t.Fatalf("answered by the hung worker %d", pid0)
	}
	if err := syscall.Kill(pid0, 0); err == nil {
		t.Fatalf("the hung worker %d still runs", pid0)
	}
	if elapsed := time.Since(start); elapsed < 700*time.Millisecond {
		t.Fatalf("replaced after %v, before deadline+grace", elapsed)
	}
}

// A slot whose worker is killed 6 times in 14 s is given up, and comes
// back by itself after the cool-down.
func TestPythonCoolDown(t *testing.T) {
	needPython(t)
	cfg := pyConfig(t, 1)
	cfg.RestartBackoff = 20 * time.Millisecond
	cfg.RestartWindow = 14 * time.Second
	cfg.MaxRestarts = 5
	cfg.GiveUpCooldown = time.Second
	p := loadPool(t, cfg, answerDir(t, "1", "one"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	seen := map[int]bool{}
	for kill := 1; kill <= 6; kill++ {
		var pid int
		waitFor(t, 20*time.Second, "an idle worker", func() bool {
			w := p.Workers()[0]
			pid = w.PID
			return w.State == WorkerIdle && !seen[pid]
		})
		seen[pid] = true
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the slot given up", func() bool { return p.Workers()[0].State == WorkerFailed })
	if took := time.Since(start); took > 14*time.Second {
		t.Fatalf("6 kills took %v, longer than the window", took)
	}
	w := p.Workers()[0]
	if w.RetryAt.IsZero() || p.Check(ctx) == nil {
		t.Fatalf("given-up slot: %+v, Check %v", w, p.Check(ctx))
	}
	// No Retry: the cool-down alone brings it back.
	waitFor(t, 20*time.Second, "the slot back", func() bool { return p.Check(ctx) == nil })
	if got, err := predictText(ctx, p); err != nil || got != "one" {
		t.Fatalf("after the cool-down = %q, %v", got, err)
	}
	if w := p.Workers()[0]; w.State != WorkerIdle || seen[w.PID] || w.Restarts != 6 {
		t.Fatalf("worker after the cool-down: %+v", w)
	}
}

// Deep options answer INVALID_ARGUMENT: 60 levels pass the Go conversion
// (its limit is 100) and reach the Python worker, whose protobuf parser
// refuses the 120 nested messages; 100 levels are refused before the hop.
// The worker serves on.
func TestPythonDeepOption(t *testing.T) {
	needPython(t)
	p := loadPool(t, pyConfig(t, 1), answerDir(t, "1", "one"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		depth int
		msg   string
	}{{60, "does not parse"}, {100, "nested deeper"}} {
		deep := predict.Option{}
		inner := deep
		for range tc.depth {
			next := predict.Option{}
			inner["a"] = map[string]any(next)
			inner = next
		}
		_, err := p.Predict(ctx, predict.Text("x"), deep)
		if predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.msg) {
			t.Fatalf("option %d deep = %v", tc.depth, err)
		}
	}
	pid := p.Workers()[0].PID
	res, err := p.Predict(ctx, predict.Text("x"), nil)
	if err != nil || res.Label.Text() != "one" || int(res.Option["pid"].(float64)) != pid {
		t.Fatalf("after the deep options = %v %v, %v", res.Label, res.Option, err)
	}
}

// BenchmarkPythonHop measures one request through a Pool to a Python
// worker whose model answers at once: the cost of the hop (Go conversion,
// frames over the unix socket, the Python runtime's parse, dispatch and
// serialisation) with no model work.
func BenchmarkPythonHop(b *testing.B) {
	if out, err := exec.Command(python, "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		b.Fatalf("%s: %v: %s", python, err, out)
	}
	dir := filepath.Join(b.TempDir(), "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte("one"), 0o644); err != nil {
		b.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/pymodel.py")
	p := New(Config{Command: []string{python, abs}, Workers: 1, StartTimeout: 30 * time.Second})
	defer p.Close()
	ctx := context.Background()
	if err := p.Load(ctx, dir); err != nil {
		b.Fatal(err)
	}
	in := predict.Ints(make([]int64, 64)...)
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Predict(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoHop is BenchmarkPythonHop with the Go test worker: the Go
// side of the hop and the socket, without Python.
func BenchmarkGoHop(b *testing.B) {
	p := New(Config{Command: []string{testWorker}, Workers: 1, StartTimeout: 30 * time.Second})
	defer p.Close()
	dir := filepath.Join(b.TempDir(), "1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Load(ctx, dir); err != nil {
		b.Fatal(err)
	}
	in := predict.Ints(make([]int64, 64)...)
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Predict(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
