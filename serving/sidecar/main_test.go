package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// testWorker is the path of the built internal/testworker binary.
var testWorker string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sidecar-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testWorker = filepath.Join(dir, "testworker")
	build := exec.Command("go", "build", "-o", testWorker, "github.com/swapwire/swapwire/internal/testworker")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test worker: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// modelDir makes <tmp>/<model>/<version> and returns it.
func modelDir(t *testing.T, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testConfig is a pool of n test workers tagged so that orphans can be found.
func testConfig(t *testing.T, n int, env ...string) Config {
	tag := fmt.Sprintf("TESTWORKER_TAG=%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	return Config{
		Command:        []string{testWorker},
		Env:            append([]string{tag}, env...),
		Workers:        n,
		StartTimeout:   20 * time.Second,
		StopTimeout:    2 * time.Second,
		RestartBackoff: 10 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
		Model:          "m",
	}
}

// tagOf returns the TESTWORKER_TAG entry of cfg.
func tagOf(cfg Config) string {
	for _, e := range cfg.Env {
		if strings.HasPrefix(e, "TESTWORKER_TAG=") {
			return e
		}
	}
	return ""
}

// taggedProcs lists live processes whose environment holds tag.
func taggedProcs(t *testing.T, tag string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == tag {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// loadPool creates a pool, loads dir, and closes it at the end of the test.
func loadPool(t *testing.T, cfg Config, dir string) *Pool {
	t.Helper()
	p := New(cfg)
	t.Cleanup(func() { p.Close() })
	if err := p.Load(context.Background(), dir); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// waitFor polls cond every 5ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// states returns the pool's worker states and pids.
func states(p interface{ Workers() []WorkerInfo }) ([]WorkerState, []int) {
	var ss []WorkerState
	var pids []int
	for _, w := range p.Workers() {
		ss = append(ss, w.State)
		pids = append(pids, w.PID)
	}
	return ss, pids
}

func allIn(p interface{ Workers() []WorkerInfo }, want WorkerState) bool {
	ss, _ := states(p)
	for _, s := range ss {
		if s != want {
			return false
		}
	}
	return true
}

// gone reports whether pid no longer runs: it does not exist, or it is a
// zombie that its new parent (init) has not reaped yet.
func gone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return os.IsNotExist(err)
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// recorder is a slog.Handler that keeps records for assertions.
type recorder struct {
	attrs   []slog.Attr
	records *[]map[string]string
	shared  *sync.Mutex
}

func newRecorder() *recorder {
	return &recorder{records: new([]map[string]string), shared: new(sync.Mutex)}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message, "level": rec.Level.String()}
	for _, a := range r.attrs {
		m[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	r.shared.Lock()
	*r.records = append(*r.records, m)
	r.shared.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{attrs: append(append([]slog.Attr(nil), r.attrs...), as...), records: r.records, shared: r.shared}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// find returns the records with the given attribute values.
func (r *recorder) find(want map[string]string) []map[string]string {
	r.shared.Lock()
	defer r.shared.Unlock()
	var out []map[string]string
next:
	for _, m := range *r.records {
		for k, v := range want {
			if m[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}
