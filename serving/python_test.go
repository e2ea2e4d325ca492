package serving

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving/sidecar"
)

const python = "/usr/bin/python3"

// gathered returns the value of the metric with the model and version labels.
func gathered(t *testing.T, reg *prometheus.Registry, name, model, version string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == model && labels["version"] == version {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s{model=%q,version=%q}", name, model, version)
	return 0
}

// needPython skips (or, in CI, fails) when Debian's Python with grpcio is
// missing; with sklearn it also requires scikit-learn.
func needPython(t *testing.T, sklearn bool) {
	t.Helper()
	mods := "import grpc, google.protobuf"
	if sklearn {
		mods += ", sklearn"
	}
	if err := exec.Command(python, "-c", mods).Run(); err != nil {
		if os.Getenv("SWAPWIRE_SKIP_PYTHON") == "" {
			t.Fatalf("%s cannot import %s: install python3-grpcio and python3-sklearn (make tools), or set SWAPWIRE_SKIP_PYTHON=1 to skip", python, mods)
		}
		t.Skipf("%s cannot import %s (SWAPWIRE_SKIP_PYTHON is set)", python, mods)
	}
}

// pools records every worker pool a factory made, to reach their processes.
type pools struct {
	mu    sync.Mutex
	pools []*sidecar.Pool
}

func (ps *pools) factory(cfg sidecar.Config) Factory {
	return func() predict.Predictor {
		p := sidecar.New(cfg)
		ps.mu.Lock()
		ps.pools = append(ps.pools, p)
		ps.mu.Unlock()
		return p
	}
}

func (ps *pools) pids() []int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var pids []int
	for _, p := range ps.pools {
		for _, w := range p.Workers() {
			if w.PID > 0 {
				pids = append(pids, w.PID)
			}
		}
	}
	return pids
}

func (ps *pools) last() *sidecar.Pool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.pools[len(ps.pools)-1]
}

func pyModelCmd(t *testing.T) []string {
	abs, err := filepath.Abs("testdata/pymodel.py")
	if err != nil {
		t.Fatal(err)
	}
	return []string{python, abs}
}

func sleepOpt(sec float64) *structpb.Struct {
	s, _ := structpb.NewStruct(map[string]any{"sleep": sec})
	return s
}

func TestPythonDigitsThroughServer(t *testing.T) {
	needPython(t, true)
	root := t.TempDir()
	st := newLocal(t, root)
	version := t.TempDir()
	out, err := exec.Command(python, "../examples/sklearn-digits/train.py", "--out", version).CombinedOutput()
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if _, err := modelstore.PublishDir(context.Background(), st, "digits", 1, version); err != nil {
		t.Fatal(err)
	}
	worker, _ := filepath.Abs("../examples/sklearn-digits/worker.py")
	ts := startServer(t, Factory(sidecar.Factory(sidecar.Config{Command: []string{python, worker}, Workers: 2, Model: "digits"})), st)
	ts.waitServing(t, "digits", 1)

	var samples struct {
		Samples []struct {
			Label  int64   `json:"label"`
			Pixels []int64 `json:"pixels"`
		} `json:"samples"`
	}
	data, err := os.ReadFile("../examples/sklearn-digits/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &samples); err != nil {
		t.Fatal(err)
	}
	if len(samples.Samples) < 3 {
		t.Fatalf("%d samples", len(samples.Samples))
	}
	single := make([][]float64, len(samples.Samples)) // each sample's scores, predicted alone
	for i, s := range samples.Samples {
		resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "digits", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: s.Pixels}}}})
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		got := resp.GetOutput().GetInts().GetValues()
		if len(got) != 1 || got[0] != s.Label || len(resp.GetScores()) != 10 {
			t.Errorf("sample %d: predicted %v (scores %d), want %d", i, got, len(resp.GetScores()), s.Label)
		}
		single[i] = resp.GetScores()
	}
	_, err = ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "digits", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{1, 2}}}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("two pixels: %v, want InvalidArgument from the worker", err)
	}

	// The worker's declared signature reaches the Open Inference Protocol:
	// metadata names pixels, label and scores, and a [3, 64] batch gets
	// three answers.
	oip := inferencepb.NewGRPCInferenceServiceClient(ts.conn)
	mm, err := oip.ModelMetadata(waitCtx(t), &inferencepb.ModelMetadataRequest{Name: "digits"})
	if err != nil {
		t.Fatal(err)
	}
	if in, out := mm.GetInputs(), mm.GetOutputs(); len(in) != 1 || in[0].GetName() != "pixels" || in[0].GetDatatype() != "FP32" ||
		!slices.Equal(in[0].GetShape(), []int64{-1, 64}) || len(out) != 2 || out[0].GetName() != "label" || out[0].GetDatatype() != "INT64" ||
		out[1].GetName() != "scores" || !slices.Equal(out[1].GetShape(), []int64{-1, 10}) {
		t.Fatalf("ModelMetadata = %v", mm)
	}
	var raw []byte
	for _, s := range samples.Samples[:3] {
		for _, px := range s.Pixels {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(px)))
		}
	}
	resp, err := oip.ModelInfer(waitCtx(t), &inferencepb.ModelInferRequest{
		ModelName:        "digits",
		Inputs:           []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{3, 64}}},
		RawInputContents: [][]byte{raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o := resp.GetOutputs(); len(o) != 2 || !slices.Equal(o[0].GetShape(), []int64{3}) || !slices.Equal(o[1].GetShape(), []int64{3, 10}) {
		t.Fatalf("outputs %v", o)
	}
	// The batch went to the worker packed into one array and came back
	// packed: each item's label and scores are its own, as predicted alone.
	for i, s := range samples.Samples[:3] {
		if got := int64(binary.LittleEndian.Uint64(resp.GetRawOutputContents()[0][8*i:])); got != s.Label {
			t.Errorf("batch item %d: label %d, want %d", i, got, s.Label)
		}
		for j, want := range single[i] {
			got := math.Float64frombits(binary.LittleEndian.Uint64(resp.GetRawOutputContents()[1][8*(10*i+j):]))
			if math.Abs(got-want) > 1e-9 {
				t.Errorf("batch item %d: score %d = %v, want %v as predicted alone", i, j, got, want)
			}
		}
	}
	// A bad image in a packed batch fails the request with the model's own
	// words, as it does alone.
	bad := slices.Clone(raw[:2*4*64])
	binary.LittleEndian.PutUint32(bad[4*(64+5):], math.Float32bits(99))
	_, err = oip.ModelInfer(waitCtx(t), &inferencepb.ModelInferRequest{
		ModelName:        "digits",
		Inputs:           []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{2, 64}}},
		RawInputContents: [][]byte{bad},
	})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "from 0 to 16, got 99") {
		t.Fatalf("a batch with a pixel of 99: %v, want InvalidArgument about the pixel", err)
	}
}

// TestPythonWorkerKilledUnderLoad kills one of two busy workers with
// SIGKILL: exactly the one request it held fails, UNAVAILABLE, and the
// pool is back to two workers.
func TestPythonWorkerKilledUnderLoad(t *testing.T) {
	needPython(t, false)
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	var ps pools
	reg := prometheus.NewRegistry()
	ts := startServer(t, ps.factory(sidecar.Config{Command: pyModelCmd(t), Workers: 2, Model: "m"}), st, WithRegisterer(reg))
	ts.waitServing(t, "m", 1)
	pool := ps.last()

	const clients, perClient = 6, 4
	var okN, unavailable, other atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				_, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn, Option: sleepOpt(0.4)})
				switch status.Code(err) {
				case codes.OK:
					okN.Add(1)
				case codes.Unavailable:
					unavailable.Add(1)
				default:
					other.Add(1)
					t.Errorf("request failed with %v", err)
				}
			}
		}()
	}
	// Wait until both workers hold a request, then kill the first one.
	var victim sidecar.WorkerInfo
	deadline := time.Now().Add(20 * time.Second)
	for victim.PID == 0 && time.Now().Before(deadline) {
		ws := pool.Workers()
		if len(ws) == 2 && ws[0].State == sidecar.WorkerBusy && ws[1].State == sidecar.WorkerBusy {
			victim = ws[0]
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the pool's state: it has no event to wait on
	}
	if victim.PID == 0 {
		t.Fatal("the workers never both became busy")
	}
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if unavailable.Load() != 1 || other.Load() != 0 || okN.Load() != clients*perClient-1 {
		t.Fatalf("ok %d, unavailable %d, other %d; want exactly the killed worker's 1 request to fail", okN.Load(), unavailable.Load(), other.Load())
	}
	// The slot restarts with a new process.
	for time.Now().Before(deadline) {
		ws := pool.Workers()
		if ws[0].PID != 0 && ws[0].PID != victim.PID && ws[0].State == sidecar.WorkerIdle && ws[1].State == sidecar.WorkerIdle {
			if ws[0].Restarts != 1 {
				t.Fatalf("slot restarted %d times", ws[0].Restarts)
			}
			if got := gathered(t, reg, "swapwire_worker_restarts_total", "m", "1"); got != 1 {
				t.Fatalf("swapwire_worker_restarts_total = %v, want 1", got)
			}
			return
		}
		time.Sleep(10 * time.Millisecond) // as above
	}
	t.Fatalf("the pool did not recover: %+v", pool.Workers())
}

func TestPythonLoadRaisesKeepsPreviousVersion(t *testing.T) {
	needPython(t, false)
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	var ps pools
	ts := startServer(t, ps.factory(sidecar.Config{Command: pyModelCmd(t), Workers: 2, Model: "m"}), st)
	ts.waitServing(t, "m", 1)
	publish(t, st, "m", 2, "raise")
	lerr := ts.waitFailed(waitCtx(t), "m", 2)
	if lerr == nil || !strings.Contains(lerr.Error(), "weights are corrupt") {
		t.Fatalf("version 2 failed with %v; want the Python exception", lerr)
	}
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
	if err != nil || resp.GetVersion() != 1 || resp.GetOutput().GetText() != "v1" {
		t.Fatalf("%v %v; want version 1 still serving", resp, err)
	}
	// The failed pool's processes are gone.
	ps.mu.Lock()
	failed := append([]*sidecar.Pool(nil), ps.pools[1:]...)
	ps.mu.Unlock()
	for _, p := range failed {
		for _, w := range p.Workers() {
			if w.PID != 0 && syscall.Kill(w.PID, 0) == nil {
				t.Errorf("worker %d of the failed version still runs", w.PID)
			}
		}
	}
}

// TestPythonCrashLoopTurnsNotServing lets a worker crash and fail every
// restart: after the limit it is given up and the model is NOT_SERVING.
func TestPythonCrashLoopTurnsNotServing(t *testing.T) {
	needPython(t, false)
	crash := filepath.Join(t.TempDir(), "crash")
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	var ps pools
	cfg := sidecar.Config{
		Command: pyModelCmd(t), Workers: 1, Model: "m", Env: []string{"PYMODEL_CRASH_FILE=" + crash},
		MaxRestarts: 2, RestartBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}
	ts := startServer(t, ps.factory(cfg), st, WithHealthInterval(50*time.Millisecond))
	ts.waitServing(t, "m", 1)
	ctx := waitCtx(t)
	watch, err := healthpb.NewHealthClient(ts.conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("before the crash: %v %v", r, err)
	}
	if err := os.WriteFile(crash, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(ps.pids()[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("after the crash loop: %v %v", r, err)
	}
	ws := ps.last().Workers()
	if ws[0].State != sidecar.WorkerFailed || ws[0].Restarts != 2 {
		t.Fatalf("worker %+v, want failed after 2 restarts", ws[0])
	}
	list, err := ts.admin.ListModels(ctx, &swapwirev1.ListModelsRequest{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if e := list.GetModels()[0].GetVersions()[0].GetError(); !strings.Contains(e, "crash file present") {
		t.Fatalf("ListModels error %q lacks the worker's stderr", e)
	}
	_, err = ts.predict.Predict(ctx, &swapwirev1.PredictRequest{Model: "m", Input: textIn})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("predict on a dead pool: %v, want Unavailable", err)
	}
}

// TestPythonHotSwapUnderLoad swaps between two Python versions while
// clients call, then shuts down and checks that no worker process remains.
func TestPythonHotSwapUnderLoad(t *testing.T) {
	needPython(t, false)
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	publish(t, st, "m", 2, "v2")
	var ps pools
	srv, err := New(ps.factory(sidecar.Config{Command: pyModelCmd(t), Workers: 2, Model: "m"}), st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	if err := srv.WaitServing(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var okN, fail atomic.Int64
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000 && !stop.Load(); i++ {
				a, err := srv.eng.Predict(context.Background(), engine.Request{Model: "m", Input: predict.Text("x")})
				if err != nil || a.Result.Label.Text() != fmt.Sprintf("v%d", a.Version) {
					fail.Add(1)
					t.Errorf("request: %v %v", a, err)
					continue
				}
				okN.Add(1)
			}
		}()
	}
	seen := map[int]bool{}
	for i := range 6 {
		for _, pid := range ps.pids() {
			seen[pid] = true
		}
		want := int64(1 + i%2)
		if err := st.SetPolicy(ctx, "m", modelstore.Policy{Pinned: want}); err != nil {
			t.Fatal(err)
		}
		srv.eng.Refresh()
		if err := srv.WaitServing(ctx, "m", want); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if fail.Load() != 0 || okN.Load() == 0 {
		t.Fatalf("%d ok, %d failed across 6 swaps of Python pools", okN.Load(), fail.Load())
	}
	for _, pid := range ps.pids() {
		seen[pid] = true
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if len(ps.pools) != 7 {
		t.Errorf("%d pools started, want 7 (one per load)", len(ps.pools))
	}
	if len(seen) < 4 {
		t.Errorf("saw %d worker processes, want at least 4 over the swaps", len(seen))
	}
	for pid := range seen {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("worker %d survived shutdown (kill 0: %v)", pid, err)
		}
	}
	t.Logf("%d requests over 6 swaps of Python worker pools, none failed", okN.Load())
}
