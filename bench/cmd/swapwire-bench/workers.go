package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/bench/loadgen"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// loadGCPercent is the load generator's GOGC in the workers benchmark.
const loadGCPercent = 400

type workersOpts struct {
	python     string
	pyThreads  int
	example    string
	workers    int
	streams    string
	conns      int
	requests   int64
	batchMax   int
	batchDelay time.Duration
	maxTime    time.Duration
	only       string
}

func workersFlags(fs *flag.FlagSet) *workersOpts {
	o := &workersOpts{}
	fs.StringVar(&o.python, "python", "", "workers: the Python with scikit-learn and grpcio (default: the first of python3, /usr/bin/python3 that imports both)")
	fs.StringVar(&o.example, "example", "examples/sklearn-digits", "workers: the sklearn-digits example directory")
	fs.IntVar(&o.workers, "workers", numCPUTotal(), "workers: N, the worker processes compared with 1")
	fs.IntVar(&o.pyThreads, "workers-py-threads", 10, "workers: thread pool of the one-process Python gRPC server (bench/pyserver)")
	fs.StringVar(&o.streams, "workers-streams", "1,16,64", "workers: concurrent streams for batching off vs on")
	fs.IntVar(&o.conns, "workers-conns", 2, "workers: gRPC connections")
	fs.Int64Var(&o.requests, "workers-requests", 0, "workers: requests per point (a quarter of it at 1 stream); 0 for no count, so that -workers-max-time ends each point")
	fs.IntVar(&o.batchMax, "workers-batch-max", 32, "workers: BatchConfig.MaxBatchSize when on")
	fs.DurationVar(&o.batchDelay, "workers-batch-delay", -1, "workers: BatchConfig.MaxDelay when on; negative: a partial batch goes as soon as a worker is free")
	fs.DurationVar(&o.maxTime, "workers-max-time", 3*time.Second, "workers: time cap per point (each point lasts this long unless -workers-requests ends it sooner)")
	fs.StringVar(&o.only, "workers-only", "", "workers: run only these servers, for profiling: a comma-separated subset of one-process, 1, N, N-batching (default all)")
	return o
}

// WorkersPoint is one measured configuration: the one-process Python gRPC
// server (Baseline) or Swapwire with a pool of Python workers.
type WorkersPoint struct {
	Baseline  bool // the one-process Python gRPC server of bench/pyserver
	Workers   int
	Batching  bool
	MeanBatch float64 // requests per batch, with batching on
	// CPU time per request of the server (with its worker processes) and
	// of the load generator, from /proc.
	ServerCPU, LoadCPU time.Duration
	Stat
}

type WorkersResult struct {
	Skipped    string // why the benchmark did not run, if it did not
	Python     string
	Workers    int
	PyThreads  int
	Conns      int
	BatchMax   int
	BatchDelay time.Duration
	Points     []WorkersPoint
	Load       [2]string
}

// Find returns the Swapwire point for a configuration.
func (w *WorkersResult) Find(workers int, batching bool, streams int) (WorkersPoint, bool) {
	for _, p := range w.Points {
		if !p.Baseline && p.Workers == workers && p.Batching == batching && p.Streams == streams {
			return p, true
		}
	}
	return WorkersPoint{}, false
}

// FindBaseline returns the one-process Python server's point.
func (w *WorkersResult) FindBaseline(streams int) (WorkersPoint, bool) {
	for _, p := range w.Points {
		if p.Baseline && p.Streams == streams {
			return p, true
		}
	}
	return WorkersPoint{}, false
}

func findPython(flagValue string) (string, error) {
	cands := []string{"python3", "/usr/bin/python3"}
	if flagValue != "" {
		cands = []string{flagValue}
	}
	var errs []error
	for _, p := range cands {
		out, err := exec.Command(p, "-c", "import sklearn, grpc, google.protobuf").CombinedOutput()
		if err == nil {
			if abs, err := exec.LookPath(p); err == nil {
				return abs, nil
			}
			return p, nil
		}
		errs = append(errs, fmt.Errorf("%s: %v: %s", p, err, lastLine(string(out))))
	}
	return "", errors.Join(errs...)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func runWorkers(c common, o *workersOpts, rep *Report) error {
	res := &WorkersResult{Workers: o.workers, PyThreads: o.pyThreads, Conns: o.conns, BatchMax: o.batchMax, BatchDelay: o.batchDelay}
	rep.Workers = res
	res.Load[0] = loadAvg()
	levels, err := parseInts(o.streams)
	if err != nil {
		return err
	}
	py, err := findPython(o.python)
	if err != nil {
		res.Skipped = "no Python with scikit-learn, grpcio and protobuf (apt-get install python3-sklearn python3-grpcio python3-protobuf)"
		logf("workers: skipped: %v", err)
		fmt.Println(res.markdown())
		return nil
	}
	res.Python = py
	example, err := filepath.Abs(o.example)
	if err != nil {
		return err
	}
	script := filepath.Join(example, "worker.py")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("workers: %w (run from the repository root or set -example)", err)
	}
	samples, err := readSamples(filepath.Join(example, "samples.json"))
	if err != nil {
		return fmt.Errorf("workers: %w", err)
	}
	tmp, err := os.MkdirTemp("", "swapwire-bench-digits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	modelDir := filepath.Join(tmp, "1")
	logf("workers: training the digits model with %s", py)
	if out, err := exec.Command(py, filepath.Join(example, "train.py"), "--out", modelDir).CombinedOutput(); err != nil {
		return fmt.Errorf("workers: train.py: %v: %s", err, out)
	}
	reqs := o.requests
	if c.quick {
		reqs = 400
	}
	cpus := ""
	if c.pin {
		cpus = allCPUs() // the workers need every CPU; the load generator stays on its own
	}
	call := digitsCall(samples)
	// The load generator shares the CPUs with the workers here (it has one
	// to itself in the other benchmarks): its GC goal is raised as the
	// server's is, so that it takes less of them, for every server alike.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))
	}
	// One run, one model, one request set, one load generator: the
	// one-process Python gRPC server first, then Swapwire with 1 worker, N
	// workers, and N workers with batching.
	pyserver := filepath.Join(filepath.Dir(filepath.Dir(example)), "bench", "pyserver", "server.py")
	if _, err := os.Stat(pyserver); err != nil {
		return fmt.Errorf("workers: %w", err)
	}
	type setup struct {
		baseline bool
		workers  int
		batching bool
	}
	setups := []setup{{baseline: true}, {workers: 1}, {workers: o.workers}, {workers: o.workers, batching: true}}
	names := []string{"one-process", "1", "N", "N-batching"}
	for i, s := range setups {
		if o.only != "" && !slices.Contains(strings.Split(o.only, ","), names[i]) {
			continue
		}
		var name string
		var srv *child
		if s.baseline {
			name = fmt.Sprintf("one-process Python gRPC server (%d threads)", o.pyThreads)
			logf("workers: starting the %s", name)
			srv, err = startProcess(name, cpus, nil, o.conns, py, pyserver, "--model-dir", modelDir, "--threads", fmt.Sprint(o.pyThreads))
		} else {
			args := []string{"-kind", "workers", "-workers", fmt.Sprint(s.workers), "-python", py, "-script", script, "-model-dir", modelDir}
			if s.batching {
				args = append(args, "-batching", "-batch-max", fmt.Sprint(o.batchMax), "-batch-delay", o.batchDelay.String())
			}
			name = fmt.Sprintf("%d workers, batching %v", s.workers, s.batching)
			logf("workers: starting a Swapwire server with %s", name)
			srv, err = startChild(name, cpus, nil, o.conns, args...)
		}
		if err != nil {
			return err
		}
		if _, err := loadgen.Run(loadgen.Config{Streams: 16, Requests: 300, MaxTime: o.maxTime}, srv.conns, call); err != nil {
			srv.stop()
			return err
		}
		for _, streams := range levels {
			n := reqs
			if streams == 1 && reqs > 0 {
				n = max(reqs/4, 1)
			}
			var n0 uint64
			var items0 float64
			if !s.baseline {
				n0, items0, _ = srv.batches()
			}
			srv0, self0 := procCPU(srv.pid()), procCPU(os.Getpid())
			r, err := loadgen.Run(loadgen.Config{Streams: streams, Requests: n, MaxTime: o.maxTime}, srv.conns, call)
			if err != nil {
				srv.stop()
				return err
			}
			// The server is this process's child: its tree is inside ours.
			srvCPU := procCPU(srv.pid()) - srv0
			selfCPU := procCPU(os.Getpid()) - self0 - srvCPU
			logf("workers: %s, %d streams: %v; CPU per request: server %v, load generator %v", name, streams, r,
				srvCPU/time.Duration(max(r.Requests, 1)), selfCPU/time.Duration(max(r.Requests, 1)))
			if r.Failures > 0 {
				logf("workers: first failure: %v", r.FirstErr)
			}
			p := WorkersPoint{Baseline: s.baseline, Workers: s.workers, Batching: s.batching, Stat: medianStat(streams, []loadgen.Result{r}),
				ServerCPU: srvCPU / time.Duration(max(r.Requests, 1)), LoadCPU: selfCPU / time.Duration(max(r.Requests, 1))}
			if !s.baseline {
				if n1, items1, err := srv.batches(); err == nil && n1 > n0 {
					p.MeanBatch = (items1 - items0) / float64(n1-n0)
				}
			}
			res.Points = append(res.Points, p)
		}
		srv.stop()
	}
	res.Load[1] = loadAvg()
	fmt.Println(res.markdown())
	return nil
}

type sample struct {
	Label  int64   `json:"label"`
	Pixels []int64 `json:"pixels"`
}

func readSamples(path string) ([]sample, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Samples []sample `json:"samples"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Samples) == 0 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	return f.Samples, nil
}

// digitsCall sends the samples in turn and checks that each answer is one
// digit label with ten scores.
func digitsCall(samples []sample) loadgen.Call {
	reqs := make([]*swapwirev1.PredictRequest, len(samples))
	for i, s := range samples {
		reqs[i] = &swapwirev1.PredictRequest{Model: "digits", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: s.Pixels}}}}
	}
	return func(ctx context.Context, conn grpc.ClientConnInterface, _ int, seq int64) error {
		resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(ctx, reqs[seq%int64(len(reqs))])
		if err != nil {
			return err
		}
		if len(resp.GetOutput().GetInts().GetValues()) != 1 || len(resp.GetScores()) != 10 {
			return fmt.Errorf("unexpected answer %v", resp)
		}
		return nil
	}
}
