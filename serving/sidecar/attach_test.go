package sidecar

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// runWorker starts a test worker at addr (unix:// or tcp://) on its own, as
// a container would, and returns it with the address it listens at.
func runWorker(t *testing.T, addr string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(testWorker)
	cmd.Env = append(append(os.Environ(), env...), "SWAPWIRE_WORKER_PROTOCOL=2", "SWAPWIRE_WORKER_ADDR="+addr)
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
	if len(parts) != 4 {
		t.Fatalf("ready line %q", line)
	}
	if parts[2] == "tcp" {
		return cmd, parts[3]
	}
	return cmd, "unix://" + parts[3]
}

func stopWorker(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func TestAttachRestart(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "tcp://127.0.0.1:0"
			if network == "unix" {
				addr = "unix://" + filepath.Join(t.TempDir(), "w.sock")
			}
			cmd, got := runWorker(t, addr)
			if network == "tcp" {
				addr = "tcp://" + got // the same port after the restart
			}
			a := Attach(AttachConfig{Addr: got, Concurrency: 2, StartTimeout: 10 * time.Second, Model: "m"})
			defer a.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := a.Predict(ctx, predict.Text("x"), nil); predict.CodeOf(err) != codes.Unavailable {
				t.Fatalf("Predict before Load: %v", err)
			}
			if err := a.Load(ctx, modelDir(t, "8")); err != nil {
				t.Fatal(err)
			}
			res, err := a.Predict(ctx, predict.Text("hi"), nil)
			if err != nil || res.Label.Text() != "hi@8" || int(res.Option["pid"].(float64)) != cmd.Process.Pid {
				t.Fatalf("Predict = %v %v, %v", res.Label, res.Option, err)
			}
			if w := a.Workers()[0]; w.PID != cmd.Process.Pid || w.State != WorkerIdle || w.Restarts != 0 || w.Runtime != "go testworker" {
				t.Fatalf("Workers = %+v", w)
			}
			if err := a.Check(ctx); err != nil {
				t.Fatal(err)
			}

			// The worker dies: requests fail with UNAVAILABLE and Check says so.
			oldPID := cmd.Process.Pid
			stopWorker(t, cmd)
			waitFor(t, 10*time.Second, "Check to fail", func() bool { return a.Check(ctx) != nil })
			if err := a.Check(ctx); predict.CodeOf(err) != codes.Unavailable {
				t.Errorf("Check with the worker down: %v", err)
			}
			if _, err := a.Predict(ctx, predict.Text("x"), nil); predict.CodeOf(err) != codes.Unavailable {
				t.Errorf("Predict with the worker down: %v", err)
			}

			// It comes back at the same address: the model is loaded again.
			cmd2, _ := runWorker(t, addr)
			waitFor(t, 15*time.Second, "the restarted worker to answer", func() bool {
				c, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				res, err = a.Predict(c, predict.Text("back"), nil)
				return err == nil
			})
			if res.Label.Text() != "back@8" || int(res.Option["pid"].(float64)) != cmd2.Process.Pid {
				t.Fatalf("after the restart: %v %v", res.Label, res.Option)
			}
			w := a.Workers()[0]
			if w.PID != cmd2.Process.Pid || w.PID == oldPID || w.Restarts != 1 || w.State != WorkerIdle {
				t.Fatalf("Workers after the restart = %+v", w)
			}
			if err := a.Check(ctx); err != nil {
				t.Fatal(err)
			}

			// A batch goes through, with its item error.
			rs, err := a.PredictBatch(ctx, []predict.Request{{Input: predict.Ints(2, 3)}, {Input: predict.Ints(1), Option: predict.Option{"error_code": 5.0, "error_message": "gone"}}})
			ie, _ := err.(predict.ItemErrors)
			if len(rs) != 2 || rs[0].Label.String() != "5" || len(ie) != 2 || ie[0] != nil || predict.CodeOf(ie[1]) != codes.NotFound {
				t.Fatalf("PredictBatch = %v, %v", rs, err)
			}

			// Close leaves the worker running.
			a.Close()
			a.Close()
			if gone(cmd2.Process.Pid) {
				t.Fatal("Close stopped the attached worker")
			}
			if _, err := a.Predict(ctx, predict.Text("x"), nil); predict.CodeOf(err) != codes.Unavailable {
				t.Errorf("Predict after Close: %v", err)
			}
			if w := a.Workers()[0]; w.State != WorkerStopped {
				t.Errorf("state after Close = %v", w.State)
			}
		})
	}
}

// A worker that restarts between two requests is loaded again before it
// answers, whether the connection watcher or the worker's
// FAILED_PRECONDITION answer notices the restart first.
func TestAttachReloadOnFailedPrecondition(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "w.sock")
	cmd, _ := runWorker(t, addr)
	a := Attach(AttachConfig{Addr: addr, StartTimeout: 10 * time.Second})
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Load(ctx, modelDir(t, "2")); err != nil {
		t.Fatal(err)
	}
	stopWorker(t, cmd)
	cmd2, _ := runWorker(t, addr)
	// Make the Attached blind to the reconnect: only the answer tells.
	a.stale.Store(false)
	var res predict.Result
	waitFor(t, 15*time.Second, "an answer from the new worker", func() bool {
		var err error
		res, err = a.Predict(ctx, predict.Text("x"), nil)
		if err != nil && predict.CodeOf(err) != codes.Unavailable {
			t.Fatalf("Predict: %v", err)
		}
		return err == nil
	})
	if res.Label.Text() != "x@2" || int(res.Option["pid"].(float64)) != cmd2.Process.Pid {
		t.Fatalf("answer = %v %v", res.Label, res.Option)
	}
}

func TestAttachLoadFailure(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "w.sock")
	runWorker(t, addr)
	dir := modelDir(t, "1")
	if err := os.WriteFile(filepath.Join(dir, "fail_load"), []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := Attach(AttachConfig{Addr: addr, StartTimeout: 5 * time.Second})
	defer a.Close()
	err := a.Load(context.Background(), dir)
	if predict.CodeOf(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Load = %v", err)
	}
	// Nothing listens here: Load gives up after StartTimeout.
	b := Attach(AttachConfig{Addr: "unix://" + filepath.Join(t.TempDir(), "none.sock"), StartTimeout: 200 * time.Millisecond})
	defer b.Close()
	start := time.Now()
	if err := b.Load(context.Background(), dir); predict.CodeOf(err) != codes.DeadlineExceeded || time.Since(start) > 5*time.Second {
		t.Fatalf("Load without a worker = %v after %v", err, time.Since(start))
	}
}

// Two versions attached to one worker are each answered by their own
// model, a failed load of a third leaves them serving, and closing one
// unloads it from the worker.
func TestAttachVersions(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "w.sock")
	runWorker(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := AttachConfig{Addr: addr, StartTimeout: 10 * time.Second}
	v1, v2, v3 := Attach(cfg), Attach(cfg), Attach(cfg)
	defer v1.Close()
	defer v2.Close()
	defer v3.Close()
	if err := v1.Load(ctx, modelDir(t, "1")); err != nil {
		t.Fatal(err)
	}
	if err := v2.Load(ctx, modelDir(t, "2")); err != nil {
		t.Fatal(err)
	}
	bad := modelDir(t, "3")
	if err := os.WriteFile(filepath.Join(bad, "fail_load"), []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := v3.Load(ctx, bad); predict.CodeOf(err) != codes.FailedPrecondition {
		t.Fatalf("Load v3 = %v", err)
	}
	for _, tc := range []struct {
		a    *Attached
		want string
	}{{v1, "x@1"}, {v2, "x@2"}, {v1, "x@1"}} {
		res, err := tc.a.Predict(ctx, predict.Text("x"), nil)
		if err != nil || res.Label.Text() != tc.want {
			t.Fatalf("Predict = %v, %v; want %s", res.Label, err, tc.want)
		}
		out, err := tc.a.PredictBatch(ctx, []predict.Request{{Input: predict.Text("b")}})
		if err != nil || out[0].Label.Text() != "b"+tc.want[1:] {
			t.Fatalf("PredictBatch = %v, %v; want b%s", out, err, tc.want[1:])
		}
	}
	v1.Close()
	fc, err := dialFrame(ctx, "unix", strings.TrimPrefix(addr, "unix://"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.close()
	info, err := callInfo(ctx, fc)
	if err != nil || len(info.GetVersions()) != 1 || filepath.Base(info.GetVersions()[0]) != "2" {
		t.Fatalf("versions after closing v1 = %v, %v", info.GetVersions(), err)
	}
}

// A worker that holds one version at a time is refused a second one.
func TestAttachSingleVersion(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "w.sock")
	runWorker(t, addr, "TESTWORKER_SINGLE=1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := AttachConfig{Addr: addr, StartTimeout: 10 * time.Second}
	v1, v2 := Attach(cfg), Attach(cfg)
	defer v2.Close()
	if err := v1.Load(ctx, modelDir(t, "1")); err != nil {
		t.Fatal(err)
	}
	err := v2.Load(ctx, modelDir(t, "2"))
	if predict.CodeOf(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "only one version") {
		t.Fatalf("Load of a second version = %v", err)
	}
	if res, err := v1.Predict(ctx, predict.Text("x"), nil); err != nil || res.Label.Text() != "x@1" {
		t.Fatalf("v1 after the refusal = %v, %v", res.Label, err)
	}
	v1.Close() // unloads v1: now v2 fits
	if err := v2.Load(ctx, modelDir(t, "2")); err != nil {
		t.Fatal(err)
	}
	if res, err := v2.Predict(ctx, predict.Text("x"), nil); err != nil || res.Label.Text() != "x@2" {
		t.Fatalf("v2 = %v, %v", res.Label, err)
	}
}
