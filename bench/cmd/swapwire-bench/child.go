package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/sidecar"
)

// The child process serves one server on 127.0.0.1:0, prints
//
//	SWAPWIRE_BENCH_READY <addr>
//
// once it answers, and then obeys lines on stdin: "mem" runs a GC, returns
// freed memory to the OS and answers "MEM <VmRSS kB> <heap-in-use bytes>";
// "quit" (or EOF) stops the server and exits.

type childOpts struct {
	kind       string
	batching   bool
	batchMax   int
	batchDelay time.Duration
	batchSlots int
	callCost   time.Duration
	itemCost   time.Duration
	workers    int
	python     string
	script     string
	modelDir   string
	blob       int
}

func serveChild(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	var o childOpts
	fs.StringVar(&o.kind, "kind", "", "bare, swapwire, swap, batch or workers")
	fs.BoolVar(&o.batching, "batching", false, "turn on serving.WithBatching")
	fs.IntVar(&o.batchMax, "batch-max", 32, "BatchConfig.MaxBatchSize")
	fs.IntVar(&o.batchSlots, "batch-slots", 0, "BatchConfig.Slots")
	fs.DurationVar(&o.batchDelay, "batch-delay", time.Millisecond, "BatchConfig.MaxDelay")
	fs.DurationVar(&o.callCost, "call-cost", 200*time.Microsecond, "batch: busy work per call")
	fs.DurationVar(&o.itemCost, "item-cost", 5*time.Microsecond, "batch: busy work per item")
	fs.IntVar(&o.workers, "workers", 1, "workers: worker processes")
	fs.StringVar(&o.python, "python", "python3", "workers: the Python interpreter")
	fs.StringVar(&o.script, "script", "", "workers: worker.py")
	fs.StringVar(&o.modelDir, "model-dir", "", "workers: the trained version directory")
	fs.IntVar(&o.blob, "blob", 1<<20, "swap: bytes of weights each version loads")
	fs.Parse(args)
	// SWAPWIRE_BENCH_CPUPROFILE=FILE profiles the server for its whole life,
	// into FILE.KIND (such as FILE.swapwire).
	if path := os.Getenv("SWAPWIRE_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path + "." + o.kind)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// SWAPWIRE_BENCH_TRACE=FILE writes a runtime execution trace of the
	// server's whole life into FILE.KIND, to see what holds the processor.
	if path := os.Getenv("SWAPWIRE_BENCH_TRACE"); path != "" {
		f, err := os.Create(path + "." + o.kind)
		if err != nil {
			return err
		}
		if err := trace.Start(f); err != nil {
			return err
		}
		defer func() { trace.Stop(); f.Close() }()
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var stop func()
	reg := prometheus.NewRegistry()
	switch o.kind {
	case "bare":
		stop = serveBare(lis)
	default:
		stop, err = serveSwapwire(o, lis, reg)
		if err != nil {
			lis.Close()
			return err
		}
	}
	fmt.Printf("SWAPWIRE_BENCH_READY %s\n", lis.Addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, _, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		switch cmd {
		case "mem":
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("MEM %d %d\n", vmRSSkB(os.Getpid()), ms.HeapInuse)
		case "batches":
			n, sum := histogram(reg, "swapwire_batch_size")
			fmt.Printf("BATCHES %d %g\n", n, sum)
		case "loads":
			// "loads N EVERY": the reference of the swap benchmark.
			var n int
			var every time.Duration
			if f := strings.Fields(in.Text()); len(f) == 3 && loadOnly != nil {
				n, _ = strconv.Atoi(f[1])
				every, _ = time.ParseDuration(f[2])
			}
			fmt.Printf("LOADS %d\n", loadOnly(n, every))
		case "quit":
			stop()
			return nil
		}
	}
	stop()
	return nil
}

// loadOnly, set by a server of kind swap, runs the benchmark model's Load
// alone (see modelLoadsOnly).
var loadOnly func(n int, every time.Duration) int

// modelLoadsOnly does what each swap's model Load does, n times, at most
// once per every and alternating between the version directories: it reads
// weights.bin into a fresh buffer and keeps it until the next one, as a
// loaded version would. No version is published, opened, verified or
// swapped. It returns the loads done.
func modelLoadsOnly(dirs []string, n int, every time.Duration) int {
	var held *weightsModel
	done := 0
	for i := range n {
		t0 := time.Now()
		m := &weightsModel{}
		if err := m.Load(context.Background(), dirs[i%len(dirs)]); err == nil {
			held = m
			done++
		}
		time.Sleep(time.Until(t0.Add(every)))
	}
	runtime.KeepAlive(held)
	return done
}

// bareServer is the baseline: grpc-go with no interceptor, whose Predict
// echoes the input floats, tagged like Swapwire's answer.
type bareServer struct {
	swapwirev1.UnimplementedPredictionServiceServer
}

func (bareServer) Predict(_ context.Context, req *swapwirev1.PredictRequest) (*swapwirev1.PredictResponse, error) {
	return &swapwirev1.PredictResponse{
		Model:   "echo",
		Version: 1,
		Output:  &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: req.GetInput().GetFloats().GetValues()}}},
	}, nil
}

func serveBare(lis net.Listener) func() {
	s := grpc.NewServer()
	swapwirev1.RegisterPredictionServiceServer(s, bareServer{})
	go s.Serve(lis)
	return s.Stop
}

// echoPredictor is the Swapwire side of the overhead benchmark.
func echoPredictor() predict.Predictor {
	return predict.PredictorFunc(func(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
		return predict.Result{Label: predict.Floats(in.Floats()...)}, nil
	})
}

func serveSwapwire(o childOpts, lis net.Listener, reg *prometheus.Registry) (func(), error) {
	tmp, err := os.MkdirTemp("", "swapwire-bench-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The benchmark drives admin calls (SwitchModel) from 127.0.0.1 only.
	opts := []serving.ServerOption{serving.WithLogger(logger), serving.WithRegisterer(reg), serving.WithDevLoopbackAdmin(true)}
	// SWAPWIRE_BENCH_STREAM_WORKERS=N overrides serving.WithStreamWorkers,
	// to compare (0 starts a goroutine per call, as grpc-go does by default).
	if v := os.Getenv("SWAPWIRE_BENCH_STREAM_WORKERS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("SWAPWIRE_BENCH_STREAM_WORKERS: %w", err)
		}
		opts = append(opts, serving.WithStreamWorkers(uint32(n)))
	}
	var factory serving.Factory
	var store modelstore.Store
	switch o.kind {
	case "swapwire":
		factory, store = echoPredictor, modelstore.NewStatic("echo", tmp)
	case "swap":
		local, err := modelstore.NewLocal(tmp, modelstore.WithLogger(logger))
		if err != nil {
			cleanup()
			return nil, err
		}
		src := filepath.Join(tmp, ".src")
		for v := int64(1); v <= 2; v++ {
			if err := writeWeights(src, v, o.blob); err != nil {
				cleanup()
				return nil, err
			}
			if _, err := modelstore.PublishDir(context.Background(), local, "m", v, src); err != nil {
				cleanup()
				return nil, err
			}
		}
		os.RemoveAll(src)
		factory = func() predict.Predictor { return &weightsModel{} }
		var dirs []string
		for v := int64(1); v <= 2; v++ {
			dir, err := local.Open(context.Background(), "m", v)
			if err != nil {
				cleanup()
				return nil, err
			}
			dirs = append(dirs, dir)
		}
		loadOnly = func(n int, every time.Duration) int {
			return modelLoadsOnly(dirs, n, every)
		}
		store = local
	case "batch":
		factory = func() predict.Predictor { return &busyModel{call: o.callCost, item: o.itemCost} }
		store = modelstore.NewStatic("busy", tmp)
	case "workers":
		// As swapwire serve does: the workers take CPUs, the server keeps
		// the rest (at least one), and its GC goal is raised, unless
		// GOMAXPROCS or GOGC is set.
		if os.Getenv("GOMAXPROCS") == "" {
			runtime.GOMAXPROCS(sidecar.ServerProcs(runtime.GOMAXPROCS(0), o.workers))
		}
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(sidecar.ServerGCPercent)
		}
		factory = serving.Factory(sidecar.Factory(sidecar.Config{
			Command: []string{o.python, o.script},
			Workers: o.workers,
			Model:   "digits",
			Logger:  logger,
		}))
		store = modelstore.NewStatic("digits", o.modelDir)
	default:
		cleanup()
		return nil, fmt.Errorf("unknown kind %q", o.kind)
	}
	if o.batching {
		opts = append(opts, serving.WithBatching(serving.BatchConfig{MaxBatchSize: o.batchMax, MaxDelay: o.batchDelay, Slots: o.batchSlots}))
	}
	srv, err := serving.New(factory, store, opts...)
	if err != nil {
		cleanup()
		return nil, err
	}
	go srv.Serve(lis)
	mlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		go srv.ServeMetrics(mlis) // registered and served, as in production; nobody scrapes it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.Ready(ctx); err != nil {
		srv.Close()
		cleanup()
		return nil, fmt.Errorf("server not ready: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		cleanup()
	}, nil
}

// writeWeights writes a version directory: weights.bin, n bytes whose
// first 8 are the float64 scale v.
func writeWeights(dir string, v int64, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b := make([]byte, max(n, 8))
	binary.LittleEndian.PutUint64(b, math.Float64bits(float64(v)))
	for i := 8; i < len(b); i++ {
		b[i] = byte(i * int(v))
	}
	return os.WriteFile(filepath.Join(dir, "weights.bin"), b, 0o644)
}

// weightsModel loads its whole weights file, so an instance that is never
// freed after a swap shows in the resident memory.
type weightsModel struct {
	weights []byte
	scale   float64
}

func (m *weightsModel) Load(_ context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "weights.bin"))
	if err != nil {
		return err
	}
	if len(b) < 8 {
		return errors.New("weights.bin too short")
	}
	m.weights, m.scale = b, math.Float64frombits(binary.LittleEndian.Uint64(b))
	return nil
}

func (m *weightsModel) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	x := in.Floats()
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * m.scale
	}
	return predict.Result{Label: predict.Floats(out...)}, nil
}

func (m *weightsModel) Close() error {
	m.weights = nil
	return nil
}

// busyModel stands for a model with a fixed cost per call (a kernel
// launch, an interpreter crossing) and a small cost per item.
type busyModel struct{ call, item time.Duration }

func (m *busyModel) Load(context.Context, string) error { return nil }

func (m *busyModel) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	spin(m.call + m.item)
	return predict.Result{Label: predict.Floats(in.Floats()...)}, nil
}

func (m *busyModel) PredictBatch(_ context.Context, reqs []predict.Request) ([]predict.Result, error) {
	spin(m.call + time.Duration(len(reqs))*m.item)
	out := make([]predict.Result, len(reqs))
	for i, r := range reqs {
		out[i] = predict.Result{Label: predict.Floats(r.Input.Floats()...)}
	}
	return out, nil
}

var sink atomic.Uint64

// spin burns CPU for d.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(d)
	for time.Now().Before(end) {
		for i := 0; i < 64; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink.Store(x)
}

// vmRSSkB reads VmRSS from /proc/<pid>/status, in kB; -1 if unknown.
func vmRSSkB(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb); err == nil {
				return kb
			}
		}
	}
	return -1
}

// histogram returns the sample count and sum of a histogram, over all its
// label values.
func histogram(g prometheus.Gatherer, name string) (n uint64, sum float64) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				n += h.GetSampleCount()
				sum += h.GetSampleSum()
			}
		}
	}
	return n, sum
}
