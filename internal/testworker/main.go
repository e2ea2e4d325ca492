// Command testworker is a model worker speaking the Swapwire worker
// protocol (swapwire.worker.v1), used by the tests of serving/sidecar. Its
// behaviour is steered by environment variables, by files in the model
// directory and by request options.
//
// Environment:
//
//	SWAPWIRE_WORKER_PROTOCOL  must be 1
//	SWAPWIRE_WORKER_ADDR      unix:///path/to.sock or tcp://host:port (port 0 picks one)
//	TESTWORKER_EXIT_AT_START=N        print a line on stderr and exit with status N at once
//	TESTWORKER_EXIT_IF_EXISTS=path    the same, with status 3, when path exists
//	TESTWORKER_SKIP_READY=1           serve, but never print the ready line
//	TESTWORKER_NOISE=1                print a line on stdout before and after the ready line
//	TESTWORKER_BATCH=no|lie           no: Info.batch false and PredictBatch UNIMPLEMENTED;
//	                                  lie: Info.batch true and PredictBatch UNIMPLEMENTED
//	TESTWORKER_IGNORE_TERM=1          ignore SIGTERM
//	TESTWORKER_CHILD_PIDDIR=dir       start a child "sleep 600" in the same process group
//	                                  and write its pid to dir/<own pid>.child
//
// Files in the model directory given to Load:
//
//	fail_load    Load fails with FAILED_PRECONDITION and the file's content
//	crash_load   the process exits with status 4 during Load
//
// Predict answers, where v is the base name of the model directory: text t →
// text "t@v"; ints → ints [sum]; floats → floats [sum], scores the inputs;
// bytes → the bytes reversed; strings → text of them joined by ",". The
// result option holds "pid" and "version". Request options:
//
//	crash: true          exit with status 7 in the middle of the request
//	sleep_ms: N          sleep N milliseconds, honouring the request context
//	wait_file: path      wait until path exists, honouring the request context
//	error_code: N        fail with gRPC code N and error_message
//
// Predict before Load fails with FAILED_PRECONDITION.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testworker:", err)
		os.Exit(1)
	}
}

func run() error {
	fmt.Fprintln(os.Stderr, "testworker starting, pid", os.Getpid())
	if s := os.Getenv("TESTWORKER_EXIT_AT_START"); s != "" {
		code, _ := strconv.Atoi(s)
		fmt.Fprintln(os.Stderr, "testworker: exiting at start as asked")
		os.Exit(code)
	}
	if p := os.Getenv("TESTWORKER_EXIT_IF_EXISTS"); p != "" {
		if _, err := os.Stat(p); err == nil {
			fmt.Fprintln(os.Stderr, "testworker: exiting at start because", p, "exists")
			os.Exit(3)
		}
	}
	if v := os.Getenv("SWAPWIRE_WORKER_PROTOCOL"); v != "1" {
		return fmt.Errorf("SWAPWIRE_WORKER_PROTOCOL is %q, want 1", v)
	}
	if os.Getenv("TESTWORKER_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if d := os.Getenv("TESTWORKER_CHILD_PIDDIR"); d != "" {
		p := filepath.Join(d, strconv.Itoa(os.Getpid())+".child")
		child := exec.Command("sleep", "600")
		if err := child.Start(); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			return err
		}
	}

	addr := os.Getenv("SWAPWIRE_WORKER_ADDR")
	var network, where string
	switch {
	case strings.HasPrefix(addr, "unix://"):
		network, where = "unix", strings.TrimPrefix(addr, "unix://")
	case strings.HasPrefix(addr, "tcp://"):
		network, where = "tcp", strings.TrimPrefix(addr, "tcp://")
	default:
		return fmt.Errorf("SWAPWIRE_WORKER_ADDR %q is neither unix:// nor tcp://", addr)
	}
	if network == "unix" {
		_ = os.Remove(where) // left by a previous run that was killed
	}
	lis, err := net.Listen(network, where)
	if err != nil {
		return err
	}
	if network == "tcp" {
		where = lis.Addr().String()
	}

	srv := grpc.NewServer()
	w := &worker{batch: os.Getenv("TESTWORKER_BATCH")}
	workerv1.RegisterWorkerServiceServer(srv, w)
	healthpb.RegisterHealthServer(srv, health.NewServer())

	term := make(chan os.Signal, 1)
	if os.Getenv("TESTWORKER_IGNORE_TERM") == "1" {
		signal.Notify(term, syscall.SIGINT)
	} else {
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	}
	go func() {
		<-term
		fmt.Fprintln(os.Stderr, "testworker: stopping on signal")
		srv.Stop()
	}()

	noise := os.Getenv("TESTWORKER_NOISE") == "1"
	out := bufio.NewWriter(os.Stdout)
	if noise {
		fmt.Fprintln(out, "noise before the ready line")
	}
	if os.Getenv("TESTWORKER_SKIP_READY") != "1" {
		fmt.Fprintf(out, "SWAPWIRE_WORKER|1|%s|%s\n", network, where)
	}
	if noise {
		fmt.Fprintln(out, "noise after the ready line")
	}
	if err := out.Flush(); err != nil {
		return err
	}
	err = srv.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

type worker struct {
	workerv1.UnimplementedWorkerServiceServer
	batch string

	mu  sync.Mutex
	dir string
}

func (w *worker) Info(context.Context, *workerv1.InfoRequest) (*workerv1.InfoResponse, error) {
	return &workerv1.InfoResponse{
		Pid:             int64(os.Getpid()),
		ProtocolVersion: 1,
		Batch:           w.batch != "no",
		Runtime:         "go testworker",
	}, nil
}

func (w *worker) Load(_ context.Context, req *workerv1.LoadRequest) (*workerv1.LoadResponse, error) {
	if _, err := os.Stat(filepath.Join(req.GetDir(), "crash_load")); err == nil {
		fmt.Fprintln(os.Stderr, "testworker: crashing during load")
		os.Exit(4)
	}
	if b, err := os.ReadFile(filepath.Join(req.GetDir(), "fail_load")); err == nil {
		fmt.Fprintln(os.Stderr, "testworker: load failed:", strings.TrimSpace(string(b)))
		return nil, status.Errorf(codes.FailedPrecondition, "load failed: %s", strings.TrimSpace(string(b)))
	}
	if _, err := os.Stat(req.GetDir()); err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	w.mu.Lock()
	w.dir = req.GetDir()
	w.mu.Unlock()
	fmt.Fprintln(os.Stderr, "testworker: loaded", req.GetDir())
	return &workerv1.LoadResponse{}, nil
}

func (w *worker) Predict(ctx context.Context, req *workerv1.PredictRequest) (*workerv1.PredictResponse, error) {
	return w.predict(ctx, req)
}

func (w *worker) PredictBatch(ctx context.Context, req *workerv1.PredictBatchRequest) (*workerv1.PredictBatchResponse, error) {
	if w.batch == "no" || w.batch == "lie" {
		return nil, status.Error(codes.Unimplemented, "testworker: no batching")
	}
	out := &workerv1.PredictBatchResponse{}
	for _, item := range req.GetItems() {
		resp, err := w.predict(ctx, item)
		if err != nil {
			if ctx.Err() != nil {
				return nil, status.FromContextError(ctx.Err()).Err()
			}
			out.Results = append(out.Results, &workerv1.BatchResult{Error: valueconv.ErrorToProto(err)})
			continue
		}
		out.Results = append(out.Results, &workerv1.BatchResult{Response: resp})
	}
	return out, nil
}

func (w *worker) predict(ctx context.Context, req *workerv1.PredictRequest) (*workerv1.PredictResponse, error) {
	w.mu.Lock()
	dir := w.dir
	w.mu.Unlock()
	if dir == "" {
		return nil, status.Error(codes.FailedPrecondition, "testworker: model not loaded")
	}
	r, err := valueconv.RequestFromProto(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	opt := r.Option
	if crash, _ := opt["crash"].(bool); crash {
		fmt.Fprintln(os.Stderr, "testworker: crashing in a request as asked")
		os.Exit(7)
	}
	if ms, ok := opt["sleep_ms"].(float64); ok {
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if p, ok := opt["wait_file"].(string); ok {
		if err := waitFile(ctx, p); err != nil {
			return nil, err
		}
	}
	if c, ok := opt["error_code"].(float64); ok {
		msg, _ := opt["error_message"].(string)
		return nil, status.Error(codes.Code(c), msg)
	}

	version := filepath.Base(dir)
	var res predict.Result
	in := r.Input
	switch in.Kind() {
	case predict.KindText:
		res.Label = predict.Text(in.Text() + "@" + version)
	case predict.KindInts:
		var sum int64
		for _, x := range in.Ints() {
			sum += x
		}
		res.Label = predict.Ints(sum)
	case predict.KindFloats:
		var sum float64
		for _, x := range in.Floats() {
			sum += x
		}
		res.Label = predict.Floats(sum)
		res.Scores = in.Floats()
	case predict.KindBytes:
		b := slices.Clone(in.Bytes())
		slices.Reverse(b)
		res.Label = predict.Bytes(b)
	case predict.KindStrings:
		res.Label = predict.Text(strings.Join(in.Strings(), ","))
	}
	res.Option = predict.Option{"pid": float64(os.Getpid()), "version": version}
	resp, err := valueconv.ResultToProto(res)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return resp, nil
}

// waitFile polls for path every 2ms until it exists or ctx ends. Polling is
// good enough for a test helper in another process.
func waitFile(ctx context.Context, path string) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}
