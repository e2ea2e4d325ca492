// Command testworker is a model worker speaking the Swapwire worker
// protocol (swapwire.worker.v1, framed, version 2), used by the tests of
// serving/sidecar. Like the Python runtime it answers one call at a time
// over all its connections. Its
// behaviour is steered by environment variables, by files in the model
// directory and by request options.
//
// Environment:
//
//	SWAPWIRE_WORKER_PROTOCOL  must be 2
//	SWAPWIRE_WORKER_ADDR      unix:///path/to.sock or tcp://host:port (port 0 picks one)
//	TESTWORKER_EXIT_AT_START=N        print a line on stderr and exit with status N at once
//	TESTWORKER_EXIT_IF_EXISTS=path    the same, with status 3, when path exists
//	TESTWORKER_SKIP_READY=1           serve, but never print the ready line
//	TESTWORKER_NOISE=1                print a line on stdout before and after the ready line
//	TESTWORKER_SINGLE=1               hold one version at a time (Info.multi_version false)
//	TESTWORKER_BATCH=no|lie           no: Info.batch false and PredictBatch UNIMPLEMENTED;
//	                                  lie: Info.batch true and PredictBatch UNIMPLEMENTED
//	TESTWORKER_PACKED=yes|always|short  yes: Info.packed_batch true, and a packed batch is
//	                                  answered packed (labels and scores, no option);
//	                                  always: batches of items are answered packed too;
//	                                  short: packed answers lack their last label
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
//	sleep_ms: N          sleep N milliseconds
//	wait_file: path      wait until path exists (at most a minute)
//	error_code: N        fail with gRPC code N and error_message
//
// Predict before Load, or for a version not held, fails with FAILED_PRECONDITION.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
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
	if v := os.Getenv("SWAPWIRE_WORKER_PROTOCOL"); v != "2" {
		return fmt.Errorf("SWAPWIRE_WORKER_PROTOCOL is %q, want 2", v)
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

	w := &worker{batch: os.Getenv("TESTWORKER_BATCH"), packed: os.Getenv("TESTWORKER_PACKED"), single: os.Getenv("TESTWORKER_SINGLE") == "1", versions: map[string]string{}}

	term := make(chan os.Signal, 1)
	if os.Getenv("TESTWORKER_IGNORE_TERM") == "1" {
		signal.Notify(term, syscall.SIGINT)
	} else {
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	}
	stopped := make(chan struct{})
	go func() {
		<-term
		fmt.Fprintln(os.Stderr, "testworker: stopping on signal")
		close(stopped)
		lis.Close()
	}()

	noise := os.Getenv("TESTWORKER_NOISE") == "1"
	out := bufio.NewWriter(os.Stdout)
	if noise {
		fmt.Fprintln(out, "noise before the ready line")
	}
	if os.Getenv("TESTWORKER_SKIP_READY") != "1" {
		fmt.Fprintf(out, "SWAPWIRE_WORKER|2|%s|%s\n", network, where)
	}
	if noise {
		fmt.Fprintln(out, "noise after the ready line")
	}
	if err := out.Flush(); err != nil {
		return err
	}
	for {
		c, err := lis.Accept()
		if err != nil {
			select {
			case <-stopped:
				w.mu.Lock() // the call in progress finishes first
				return nil
			default:
				return err
			}
		}
		go w.serve(c)
	}
}

type worker struct {
	batch  string
	packed string
	single bool

	mu       sync.Mutex // one call at a time, over every connection
	versions map[string]string
	last     string
}

// serve answers the frames of one connection.
func (w *worker) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		var h [4]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		b := make([]byte, binary.BigEndian.Uint32(h[:]))
		if _, err := io.ReadFull(br, b); err != nil {
			return
		}
		call := &workerv1.Call{}
		reply := &workerv1.Reply{}
		if err := proto.Unmarshal(b, call); err != nil {
			reply.Error = valueconv.ErrorToProto(status.Error(codes.InvalidArgument, err.Error()))
		} else {
			reply.Id = call.GetId()
			w.mu.Lock()
			err := w.handle(call, reply)
			w.mu.Unlock()
			if err != nil {
				reply.Kind = nil
				reply.Error = valueconv.ErrorToProto(err)
			}
		}
		ob, err := proto.Marshal(reply)
		if err != nil {
			return
		}
		ob = append(binary.BigEndian.AppendUint32(nil, uint32(len(ob))), ob...)
		if _, err := c.Write(ob); err != nil {
			return
		}
	}
}

func (w *worker) handle(call *workerv1.Call, reply *workerv1.Reply) error {
	switch k := call.GetKind().(type) {
	case *workerv1.Call_Info:
		reply.Kind = &workerv1.Reply_Info{Info: w.info()}
	case *workerv1.Call_Load:
		if err := w.load(k.Load); err != nil {
			return err
		}
		reply.Kind = &workerv1.Reply_Load{Load: &workerv1.LoadResponse{}}
	case *workerv1.Call_Unload:
		delete(w.versions, k.Unload.GetVersion())
		reply.Kind = &workerv1.Reply_Unload{Unload: &workerv1.UnloadResponse{}}
	case *workerv1.Call_Predict:
		resp, err := w.predict(k.Predict, k.Predict.GetVersion())
		if err != nil {
			return err
		}
		reply.Kind = &workerv1.Reply_Predict{Predict: resp}
	case *workerv1.Call_PredictBatch:
		resp, err := w.predictBatch(k.PredictBatch)
		if err != nil {
			return err
		}
		reply.Kind = &workerv1.Reply_PredictBatch{PredictBatch: resp}
	default:
		return status.Error(codes.Unimplemented, "testworker: unknown call")
	}
	return nil
}

func (w *worker) info() *workerv1.InfoResponse {
	held := make([]string, 0, len(w.versions))
	for v := range w.versions {
		held = append(held, v)
	}
	slices.Sort(held)
	return &workerv1.InfoResponse{
		Pid:             int64(os.Getpid()),
		ProtocolVersion: 2,
		Batch:           w.batch != "no",
		PackedBatch:     w.packed != "",
		Runtime:         "go testworker",
		MultiVersion:    !w.single,
		Versions:        held,
	}
}

func (w *worker) load(req *workerv1.LoadRequest) error {
	if _, err := os.Stat(filepath.Join(req.GetDir(), "crash_load")); err == nil {
		fmt.Fprintln(os.Stderr, "testworker: crashing during load")
		os.Exit(4)
	}
	if b, err := os.ReadFile(filepath.Join(req.GetDir(), "fail_load")); err == nil {
		fmt.Fprintln(os.Stderr, "testworker: load failed:", strings.TrimSpace(string(b)))
		return status.Errorf(codes.FailedPrecondition, "load failed: %s", strings.TrimSpace(string(b)))
	}
	if _, err := os.Stat(req.GetDir()); err != nil {
		return status.Error(codes.NotFound, err.Error())
	}
	if _, held := w.versions[req.GetVersion()]; w.single && len(w.versions) > 0 && !held {
		return status.Error(codes.FailedPrecondition, "testworker: holds one version at a time")
	}
	w.versions[req.GetVersion()] = req.GetDir()
	w.last = req.GetVersion()
	fmt.Fprintln(os.Stderr, "testworker: loaded", req.GetDir())
	return nil
}

func (w *worker) predictBatch(req *workerv1.PredictBatchRequest) (*workerv1.PredictBatchResponse, error) {
	if w.batch == "no" || w.batch == "lie" {
		return nil, status.Error(codes.Unimplemented, "testworker: no batching")
	}
	items := req.GetItems()
	if p := req.GetPacked(); p != nil {
		var err error
		if items, err = unpack(p); err != nil {
			return nil, err
		}
	}
	if w.packed == "always" || (w.packed != "" && req.GetPacked() != nil) {
		return w.predictPacked(items, req.GetVersion())
	}
	out := &workerv1.PredictBatchResponse{}
	for _, item := range items {
		resp, err := w.predict(item, req.GetVersion())
		if err != nil {
			out.Results = append(out.Results, &workerv1.BatchResult{Error: valueconv.ErrorToProto(err)})
			continue
		}
		out.Results = append(out.Results, &workerv1.BatchResult{Response: resp})
	}
	return out, nil
}

// unpack cuts packed inputs into items.
func unpack(p *workerv1.PackedInputs) ([]*workerv1.PredictRequest, error) {
	n := int(p.GetCount())
	ints, floats := p.GetValues().GetInts().GetValues(), p.GetValues().GetFloats().GetValues()
	total := max(len(ints), len(floats))
	if n <= 0 || total%n != 0 {
		return nil, status.Errorf(codes.InvalidArgument, "testworker: %d packed elements for %d items", total, n)
	}
	w := total / n
	items := make([]*workerv1.PredictRequest, n)
	for i := range items {
		v := &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{}}}
		if p.GetValues().GetInts() != nil {
			v.Kind = &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: ints[i*w : (i+1)*w]}}
		} else if floats != nil {
			v.Kind = &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: floats[i*w : (i+1)*w]}}
		}
		items[i] = &workerv1.PredictRequest{Input: v}
	}
	return items, nil
}

// predictPacked answers items with packed results: each item's label must
// be one int (ints inputs); scores are left out.
func (w *worker) predictPacked(items []*workerv1.PredictRequest, version string) (*workerv1.PredictBatchResponse, error) {
	labels := []int64{}
	for _, item := range items {
		resp, err := w.predict(item, version)
		if err != nil {
			return nil, err
		}
		labels = append(labels, resp.GetOutput().GetInts().GetValues()...)
	}
	if w.packed == "short" {
		labels = labels[:len(labels)-1]
	}
	return &workerv1.PredictBatchResponse{Packed: &workerv1.PackedResults{
		Labels: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: labels}}},
	}}, nil
}

func (w *worker) predict(req *workerv1.PredictRequest, version string) (*workerv1.PredictResponse, error) {
	if version == "" {
		version = w.last
	}
	dir, ok := w.versions[version]
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "testworker: version %q not loaded", version)
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
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if p, ok := opt["wait_file"].(string); ok {
		if err := waitFile(p); err != nil {
			return nil, err
		}
	}
	if c, ok := opt["error_code"].(float64); ok {
		msg, _ := opt["error_message"].(string)
		return nil, status.Error(codes.Code(c), msg)
	}

	base := filepath.Base(dir)
	var res predict.Result
	in := r.Input
	switch in.Kind() {
	case predict.KindText:
		res.Label = predict.Text(in.Text() + "@" + base)
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
	res.Option = predict.Option{"pid": float64(os.Getpid()), "version": base}
	resp, err := valueconv.ResultToProto(res)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return resp, nil
}

// waitFile polls for path every 2ms until it exists, for at most a
// minute. Polling is good enough for a test helper in another process.
func waitFile(path string) error {
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	return status.Errorf(codes.DeadlineExceeded, "testworker: %s did not appear within a minute", path)
}
