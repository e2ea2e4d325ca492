package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/sidecar"
)

const pythonBin = "/usr/bin/python3"

// needPython fails when Debian's Python with grpcio is missing, unless
// SWAPWIRE_SKIP_PYTHON=1 says to skip, as serving's Python tests do.
func needPython(t *testing.T) {
	t.Helper()
	const mods = "import grpc, google.protobuf"
	if err := exec.Command(pythonBin, "-c", mods).Run(); err != nil {
		if os.Getenv("SWAPWIRE_SKIP_PYTHON") == "" {
			t.Fatalf("%s cannot import grpc and protobuf: install python3-grpcio (make tools), or set SWAPWIRE_SKIP_PYTHON=1 to skip", pythonBin)
		}
		t.Skipf("%s cannot import grpc and protobuf (SWAPWIRE_SKIP_PYTHON is set)", pythonBin)
	}
}

// serveLog is the stderr of a serve run: it keeps everything written and
// sends the address of the first "serving" line of the JSON log on addr.
type serveLog struct {
	addr chan string // buffered: one address

	mu   sync.Mutex
	all  bytes.Buffer
	line []byte // an unfinished line
	sent bool
}

func newServeLog() *serveLog { return &serveLog{addr: make(chan string, 1)} }

func (l *serveLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.line = append(l.line, p...)
	for {
		i := bytes.IndexByte(l.line, '\n')
		if i < 0 {
			break
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if !l.sent && json.Unmarshal(l.line[:i], &rec) == nil && rec.Msg == "serving" && rec.Addr != "" {
			l.addr <- rec.Addr
			l.sent = true
		}
		l.line = l.line[i+1:]
	}
	return len(p), nil
}

func (l *serveLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// serveRun is `swapwire serve` running in the test's process.
type serveRun struct {
	addr   string // the gRPC listener's address
	log    *serveLog
	cancel context.CancelFunc
	done   chan struct{} // closed when serve has returned err
	err    error
}

// startServe runs serve with args on 127.0.0.1:0 and a JSON log, and
// returns once it listens. Cleanup stops it and waits for it to return.
func startServe(t *testing.T, args ...string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &serveRun{log: newServeLog(), cancel: cancel, done: make(chan struct{})}
	args = append([]string{"--listen", "127.0.0.1:0", "--log-format", "json", "--drain-delay", "0s"}, args...)
	go func() {
		defer close(r.done)
		r.err = serve(ctx, args, io.Discard, r.log)
	}()
	t.Cleanup(func() {
		r.cancel()
		<-r.done
		if t.Failed() {
			t.Logf("serve log:\n%s", r.log)
		}
	})
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case r.addr = <-r.log.addr:
	case <-r.done:
		t.Fatalf("serve returned %v before serving", r.err)
	case <-timer.C:
		t.Fatal("serve did not log its address within 30s")
	}
	return r
}

// stop cancels serve's context and returns what serve returned.
func (r *serveRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case <-r.done:
		return r.err
	case <-timer.C:
		t.Fatal("serve did not return within 60s of its context ending")
		return nil
	}
}

// predictJSON runs the predict command and decodes what it prints. It may
// be called from any goroutine.
func predictJSON(args ...string) (predictOutput, error) {
	var out, errb bytes.Buffer
	var po predictOutput
	if code := dispatch(append([]string{"predict"}, args...), &out, &errb); code != 0 {
		return po, fmt.Errorf("predict: exit %d: %s", code, errb.String())
	}
	err := json.Unmarshal(out.Bytes(), &po)
	return po, err
}

// predictPIDs sends n predictions at once, each sleeping in its worker so
// that each holds a different worker, checks that each answered want from
// version, and returns the workers' pids.
func predictPIDs(t *testing.T, addr string, n int, version int64, want string) []int {
	t.Helper()
	outs := make([]predictOutput, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			outs[i], errs[i] = predictJSON(addr, "--model", "m", "--text", "x", "--option", `{"sleep": 0.3}`)
		})
	}
	wg.Wait()
	var pids []int
	for i, po := range outs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if po.Model != "m" || po.Version != version || po.Output.Text == nil || *po.Output.Text != want {
			t.Fatalf("prediction %d: %+v, want model m version %d answering %q", i, po, version, want)
		}
		pid, ok := po.Option["pid"].(float64)
		if !ok || pid <= 0 {
			t.Fatalf("prediction %d: option %v has no pid", i, po.Option)
		}
		pids = append(pids, int(pid))
	}
	return pids
}

// answerDir returns a version directory for pymodel.py answering answer.
func answerDir(t *testing.T, answer string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte(answer+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func distinct(pids []int) map[int]bool {
	m := map[int]bool{}
	for _, p := range pids {
		m[p] = true
	}
	return m
}

// TestServePythonWorkers runs `swapwire serve` with two Python workers per
// version, publishes two versions through the CLI and checks that the
// answer follows the upload and that no worker outlives serve.
func TestServePythonWorkers(t *testing.T) {
	needPython(t)
	script, err := filepath.Abs("../../serving/testdata/pymodel.py")
	if err != nil {
		t.Fatal(err)
	}
	ids := writeSecret(t, "tester deploy token:python-workers-token\n")
	r := startServe(t, "--model-dir", t.TempDir(), "--workers", "2", "--admin-tokens-file", ids, "--allow-plaintext-tokens",
		"--worker", fmt.Sprintf("%s '%s'", pythonBin, script))
	addr := "--addr=" + r.addr
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", "python-workers-token") // for the CLI, after serve has read its environment

	if out := run(t, "upload", addr, "--model", "m", "--quiet", answerDir(t, "one")); !strings.Contains(out, "uploaded m version 1: 1 files") {
		t.Fatalf("upload printed %q", out)
	}
	if out := run(t, "health", addr, "--service", "m", "--wait", "30s"); strings.TrimSpace(out) != "SERVING" {
		t.Fatalf("health printed %q", out)
	}
	v1 := distinct(predictPIDs(t, addr, 2, 1, "one"))
	if len(v1) != 2 {
		t.Fatalf("two predictions at once reached workers %v, want two workers", v1)
	}

	if out := run(t, "upload", addr, "--model", "m", "--quiet", answerDir(t, "two")); !strings.Contains(out, "uploaded m version 2: 1 files") {
		t.Fatalf("upload printed %q", out)
	}
	// Predict until version 2 answers: no call may fail during the swap.
	for i := 0; ; i++ {
		po, err := predictJSON(addr, "--model", "m", "--text", "x")
		if err != nil {
			t.Fatalf("during the swap: %v", err)
		}
		if po.Version == 2 {
			break
		}
		if po.Version != 1 || po.Output.Text == nil || *po.Output.Text != "one" {
			t.Fatalf("during the swap: %+v", po)
		}
		if i == 300 {
			t.Fatal("version 2 did not serve within 30s of its upload")
		}
		time.Sleep(100 * time.Millisecond) // polling another server's state: no signal to wait on
	}
	v2 := distinct(predictPIDs(t, addr, 2, 2, "two"))
	if len(v2) != 2 {
		t.Fatalf("two predictions at once reached workers %v, want two workers", v2)
	}
	for pid := range v2 {
		if v1[pid] {
			t.Fatalf("worker %d served both versions; each version has its own pool", pid)
		}
	}
	if out := run(t, "models", addr); !regexpLine(out, "m", "(default)", "2", "serving") {
		t.Fatalf("models printed:\n%s", out)
	}

	if err := r.stop(t); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	for pid := range v1 {
		v2[pid] = true
	}
	for pid := range v2 {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("worker %d survived serve (kill 0: %v)", pid, err)
		}
	}
	if log := r.log.String(); !strings.Contains(log, `"msg":"shutting down"`) {
		t.Errorf("serve did not log its shutdown:\n%s", log)
	}
	if os.Getenv("GOGC") == "" && !strings.Contains(r.log.String(), `"msg":"GOGC","percent":400`) {
		t.Errorf("serve did not log its GC goal of 400:\n%s", r.log)
	}
	// The server left the CPUs to its two workers, and said so.
	if cpus := runtime.GOMAXPROCS(0); os.Getenv("GOMAXPROCS") == "" && cpus > 1 {
		want := fmt.Sprintf(`"msg":"GOMAXPROCS","procs":%d,"cpus":%d`, max(1, cpus-2), cpus)
		if log := r.log.String(); !strings.Contains(log, want) {
			t.Errorf("serve's log has no %s:\n%s", want, log)
		}
	}
}

func TestServerProcsChoice(t *testing.T) {
	cpus := runtime.GOMAXPROCS(0)
	auto := sidecar.ServerProcs(cpus, 2)
	if auto == cpus {
		auto = 0 // nothing to change
	}
	for _, tc := range []struct {
		name          string
		flag          int
		env, startsWk bool
		want          int
	}{
		{name: "the flag wins", flag: 3, env: true, startsWk: true, want: 3},
		{name: "a GOMAXPROCS variable is kept", env: true, startsWk: true, want: 0},
		{name: "attach mode starts no workers", startsWk: false, want: 0},
		{name: "workers take CPUs", startsWk: true, want: auto},
	} {
		if got, why := serverProcs(tc.flag, tc.env, tc.startsWk, 2); got != tc.want || (got > 0) != (why != "") {
			t.Errorf("%s: serverProcs = %d, %q; want %d", tc.name, got, why, tc.want)
		}
	}
}

// TestRunServeStopsOnSIGTERM checks the signal wiring of the serve command.
func TestRunServeStopsOnSIGTERM(t *testing.T) {
	l := newServeLog()
	done := make(chan error, 1)
	args := []string{"--model-dir", t.TempDir(), "--worker-addr", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--log-format", "json"}
	go func() { done <- runServe(args, io.Discard, l) }()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case <-l.addr:
	case err := <-done:
		t.Fatalf("runServe returned %v before serving\n%s", err, l)
	case <-timer.C:
		t.Fatalf("runServe did not serve within 30s\n%s", l)
	}
	// runServe catches SIGTERM from before it logs "serving", so this
	// reaches it rather than killing the test.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe returned %v after SIGTERM, want nil", err)
		}
	case <-timer.C:
		t.Fatal("runServe did not return within 30s of SIGTERM")
	}
	if !strings.Contains(l.String(), `"msg":"shutting down"`) {
		t.Errorf("no shutdown logged:\n%s", l)
	}
}

func TestServeUsageErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--worker", "python3 w.py"}, "--model-store URL or --model-dir is required"},
		{[]string{"--model-dir", dir, "--model-store", dir, "--worker", "python3 w.py"}, "give --model-store or --model-dir, not both"},
		{[]string{"--model-store", "gs://b/p", "--worker", "python3 w.py"}, "--model-store: model store"},
		{[]string{"--model-store", "s3://bucket/p", "--worker", "python3 w.py", "--no-fsnotify"}, "--no-fsnotify applies to directory stores only"},
		{[]string{"--model-store", "s3://bucket/p", "--worker", "python3 w.py", "--s3-endpoint", "http://k:s@127.0.0.1:1"}, "s3store: endpoint must not hold credentials"},
		{[]string{"--model-store", dir, "--worker", "python3 w.py", "--s3-path-style"}, "--s3-endpoint, --s3-region and --s3-path-style apply to s3:// stores only"},
		{[]string{"--model-dir", dir}, "give one of --worker COMMAND or --worker-addr HOST:PORT"},
		{[]string{"--model-dir", dir, "--worker", "python3 w.py", "--worker-addr", "127.0.0.1:1"}, "give one of --worker COMMAND or --worker-addr HOST:PORT"},
		{[]string{"--model-dir", dir, "--worker", "python3 w.py", "--no-fsnotify", "--poll", "0"}, "--no-fsnotify needs a --poll interval"},
		{[]string{"--model-dir", dir, "--worker", `python3 "w.py`}, "--worker: unterminated quote"},
		{[]string{"--model-dir", dir, "--worker", "python3 w.py", "--model", "a,B/c"}, `--model "B/c"`},
		{[]string{"--model-dir", dir, "--worker", "python3 w.py", "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"--model-dir", dir, "--worker", "python3 w.py", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"--model-dir", dir, "--worker", "python3 w.py", "--admin-token", "s3cret"}, "--admin-token: a token on the command line is readable by every user in /proc/PID/cmdline"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"serve"}, tt.args...), &out, &errb)
		if want := "swapwire serve: " + tt.msg; code != 2 || !strings.Contains(errb.String(), want) {
			t.Errorf("swapwire serve %q: exit %d, stderr %q; want exit 2 with %q", tt.args, code, errb.String(), want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command line created the store (stat: %v)", err)
	}
}

func TestAdminIdentitiesFromFileAndEnvironment(t *testing.T) {
	ids := writeSecret(t, "# comment\nci deploy token:from-file\ngw read subject:CN=gw,O=Example\n")
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", "from-env")
	got, err := adminIdentities(ids)
	if err != nil {
		t.Fatal(err)
	}
	want := []serving.Identity{
		{Name: "ci", Role: serving.RoleDeploy, Token: "from-file"},
		{Name: "gw", Role: serving.RoleRead, Subject: "CN=gw,O=Example"},
		{Name: "env", Role: serving.RoleAdmin, Token: "from-env"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("identities %+v, want %+v", got, want)
	}
	if v, ok := os.LookupEnv("SWAPWIRE_ADMIN_TOKEN"); ok {
		t.Errorf("SWAPWIRE_ADMIN_TOKEN is still set (%d bytes): workers would inherit it", len(v))
	}
	open := filepath.Join(t.TempDir(), "ids")
	os.WriteFile(open, []byte("ci deploy token:x\n"), 0o644)
	if _, err := adminIdentities(open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable identities file: %v, want a refusal", err)
	}
	bad := writeSecret(t, "ci superuser token:x\n")
	if _, err := adminIdentities(bad); err == nil || !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), "token:x") {
		t.Errorf("a bad role: %v, want an error naming the line and not the token", err)
	}
}
