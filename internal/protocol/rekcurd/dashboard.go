package rekcurd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/internal/jsonvalue"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
)

// Rekcurd's ModelResponse and UploadEvaluationDataResponse status values.
// Failures are gRPC errors, never a response with status 0.
const rekcurdSuccess = 1

// rekcurdDetailsPerMessage is how many evaluation details one
// EvaluationResult message carries.
const rekcurdDetailsPerMessage = 100

// rekcurdDashboard serves rekcurd.RekcurdDashboard on top of the model
// store and the native evaluation. Evaluation data and results live in this
// process's memory, keyed by their paths; they are not shared between
// replicas and do not survive a restart. Each keeps the latest
// rekcurdKeep entries; older ones are forgotten.
type rekcurdDashboard struct {
	rekcurdpb.UnimplementedRekcurdDashboardServer
	e   *engine.Engine
	cfg Config

	mu                 sync.Mutex
	data               map[string][]rekcurdExample // by data_path
	results            map[string]*rekcurdResult   // by result_path
	dataAge, resultAge []string                    // keys, oldest first
}

// rekcurdKeep bounds the evaluation data sets and results kept in memory.
const rekcurdKeep = 64

// remember records key as the newest of order and returns the key to
// forget, if order is over rekcurdKeep.
func remember(order *[]string, key string) (forget string, ok bool) {
	*order = slices.DeleteFunc(*order, func(k string) bool { return k == key })
	*order = append(*order, key)
	if len(*order) <= rekcurdKeep {
		return "", false
	}
	forget = (*order)[0]
	*order = (*order)[1:]
	return forget, true
}

// rekcurdExample is one parsed line of evaluation data.
type rekcurdExample struct {
	in, label predict.Value
	opt       predict.Option
}

// rekcurdResult is a stored evaluation.
type rekcurdResult struct {
	dataPath string
	metrics  *rekcurdpb.EvaluationMetrics
	details  []*rekcurdpb.EvaluationResultResponse_Detail
}

func newRekcurdDashboard(e *engine.Engine, cfg Config) *rekcurdDashboard {
	return &rekcurdDashboard{e: e, cfg: cfg, data: map[string][]rekcurdExample{}, results: map[string]*rekcurdResult{}}
}

// checkRekcurdPath accepts what Rekcurd accepts as a model or data path: a
// clean relative slash-separated path, no "..", no leading "/".
func checkRekcurdPath(what, p string) error {
	if p == "" {
		return predict.InvalidArgument("%s is empty", what)
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || !fs.ValidPath(p) || p == "." {
		return predict.InvalidArgument("%s %q: want a clean relative path without \"..\" or a leading \"/\"", what, p)
	}
	return nil
}

// dashboardModel returns the model a dashboard call acts on: the one the
// x-rekcurd-application-name header names when it is served here, else the
// default model.
func (d *rekcurdDashboard) dashboardModel(ctx context.Context) (string, error) {
	if name := rekcurdModel(ctx, d.e); name != "" {
		return name, nil
	}
	if name := d.e.DefaultModel(); name != "" {
		return name, nil
	}
	return "", predict.Errorf(codes.FailedPrecondition, "no model is served yet, so there is no default model to act on")
}

func (d *rekcurdDashboard) ServiceInfo(ctx context.Context, _ *rekcurdpb.ServiceInfoRequest) (*rekcurdpb.ServiceInfoResponse, error) {
	app := rekcurdModel(ctx, d.e)
	if app == "" {
		app = d.e.DefaultModel()
	}
	return &rekcurdpb.ServiceInfoResponse{
		ApplicationName: app,
		ServiceName:     d.cfg.Name,
		ServiceLevel:    d.cfg.ServiceLevel,
	}, nil
}

// UploadModel stores the streamed file as the only file, named by the
// path's base name, of a new version of the model.
func (d *rekcurdDashboard) UploadModel(stream grpc.ClientStreamingServer[rekcurdpb.UploadModelRequest, rekcurdpb.ModelResponse]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.InvalidArgument, "upload stream ended before its first message")
	}
	if err != nil {
		return err
	}
	p := first.GetPath()
	if err := checkRekcurdPath("model path", p); err != nil {
		return predict.Status(err)
	}
	name := path.Base(p)
	if name == modelstore.ManifestName || name == engine.WarmupFile {
		return predict.Status(predict.InvalidArgument("model file name %q is reserved", name))
	}
	model, err := d.dashboardModel(ctx)
	if err != nil {
		return predict.Status(err)
	}
	info, err := d.e.Publish(ctx, model, 0, func(dir string) (engine.Published, error) {
		info := engine.Published{Protocol: "rekcurd", Files: 1}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return info, predict.Errorf(codes.Internal, "model store: %v", err)
		}
		info.Bytes, err = d.copyUpload(f, first, withIdle(ctx, stream.Recv, d.cfg.UploadIdleTimeout))
		if cerr := f.Close(); err == nil && cerr != nil {
			err = predict.Errorf(codes.Internal, "model store: %v", cerr)
		}
		return info, err
	})
	if err != nil {
		return predict.Status(err)
	}
	v, size := info.Version, info.Bytes
	return stream.SendAndClose(&rekcurdpb.ModelResponse{
		Status:  rekcurdSuccess,
		Message: fmt.Sprintf("Success: uploaded %s as model %s version %d (%d bytes)", p, model, v, size),
	})
}

// copyUpload writes the data of first and of every following message to w,
// up to the server's upload limit. Every message must name the same path.
func (d *rekcurdDashboard) copyUpload(w io.Writer, first *rekcurdpb.UploadModelRequest, recv func() (*rekcurdpb.UploadModelRequest, error)) (int64, error) {
	limit := d.cfg.MaxUploadBytes
	var size int64
	for msg := first; ; {
		if msg.GetPath() != "" && msg.GetPath() != first.GetPath() {
			return size, predict.InvalidArgument("upload message names path %q after %q", msg.GetPath(), first.GetPath())
		}
		size += int64(len(msg.GetData()))
		if size > limit {
			return size, predict.Errorf(codes.ResourceExhausted, "upload is over the limit of %d bytes", limit)
		}
		if _, err := w.Write(msg.GetData()); err != nil {
			return size, predict.Errorf(codes.Internal, "model store: %v", err)
		}
		var err error
		msg, err = recv()
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return size, err
		}
	}
}

// withIdle bounds the wait for each message of an upload: a call of the
// returned function that waits longer than idle fails with
// DEADLINE_EXCEEDED, and the handler's return then ends the Recv still
// blocked. A zero idle returns recv itself.
func withIdle[T any](ctx context.Context, recv func() (T, error), idle time.Duration) func() (T, error) {
	if idle <= 0 {
		return recv
	}
	type result struct {
		v   T
		err error
	}
	return func() (T, error) {
		got := make(chan result, 1)
		go func() {
			v, err := recv()
			got <- result{v, err}
		}()
		t := time.NewTimer(idle)
		defer t.Stop()
		var zero T
		select {
		case r := <-got:
			return r.v, r.err
		case <-t.C:
			return zero, predict.Errorf(codes.DeadlineExceeded, "upload idle for %v", idle)
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}

// SwitchModel pins the version a path names. The path is read as:
//
//   - "N" or "vN": version N of the header-named or default model;
//   - "<model>/N" or "<model>/vN" where model is served here: version N of
//     that model;
//   - anything else: the newest version of the header-named or default
//     model holding a file named like the path's base name (the file a
//     Rekcurd UploadModel of that path wrote).
//
// It returns once that version serves, or with an error when it fails to
// load.
func (d *rekcurdDashboard) SwitchModel(ctx context.Context, req *rekcurdpb.SwitchModelRequest) (*rekcurdpb.ModelResponse, error) {
	p := req.GetPath()
	if err := checkRekcurdPath("model path", p); err != nil {
		return nil, predict.Status(err)
	}
	model, err := d.dashboardModel(ctx)
	if err != nil {
		return nil, predict.Status(err)
	}
	num, ok := parseRekcurdVersion(p)
	if dir, base, found := strings.Cut(p, "/"); !ok && found && !strings.Contains(base, "/") {
		if n, isNum := parseRekcurdVersion(base); isNum {
			if d.e.HasModel(dir) {
				model, num, ok = dir, n, true
			}
		}
	}
	if !ok {
		if num, err = d.versionWithFile(ctx, model, path.Base(p)); err != nil {
			return nil, predict.Status(err)
		}
	}
	if _, err := d.e.Pin(ctx, model, num, true); err != nil {
		return nil, predict.Status(err)
	}
	return &rekcurdpb.ModelResponse{
		Status:  rekcurdSuccess,
		Message: fmt.Sprintf("Success: model %s serves version %d", model, num),
	}, nil
}

// parseRekcurdVersion reads "N" or "vN" with N a positive integer.
func parseRekcurdVersion(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "v"), 10, 64)
	if err != nil || n <= 0 || strings.HasPrefix(s, "+") {
		return 0, false
	}
	return n, true
}

// versionWithFile returns the newest version of model whose directory holds
// a file named name.
func (d *rekcurdDashboard) versionWithFile(ctx context.Context, model, name string) (int64, error) {
	versions, err := d.e.StoreVersions(ctx, model)
	if err != nil {
		return 0, err
	}
	for _, v := range slices.Backward(versions) {
		dir, err := d.e.OpenVersion(ctx, model, v)
		if err != nil {
			continue // a corrupt version cannot be switched to anyway
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return v, nil
		}
	}
	return 0, predict.Errorf(codes.NotFound, "model %q has no version holding a file named %q (versions: %v); name a version as \"N\" or \"vN\"", model, name, versions)
}

// UploadEvaluationData stores an evaluation data set under its data path.
// The data are JSON lines in Swapwire's evaluation format (see
// jsonvalue.ParseLabeledExample): {"floats": [...], "label": "3"}. They are
// parsed on upload, so a bad line fails here, naming its number.
func (d *rekcurdDashboard) UploadEvaluationData(stream grpc.ClientStreamingServer[rekcurdpb.UploadEvaluationDataRequest, rekcurdpb.UploadEvaluationDataResponse]) error {
	ctx := stream.Context()
	limit := d.cfg.MaxMessageSize
	var (
		dataPath string
		buf      bytes.Buffer
	)
	for i := 0; ; i++ {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return status.Error(codes.InvalidArgument, "upload stream ended before its first message")
			}
			break
		}
		if err != nil {
			return err
		}
		if i == 0 {
			dataPath = msg.GetDataPath()
			if err := checkRekcurdPath("data path", dataPath); err != nil {
				return predict.Status(err)
			}
		} else if p := msg.GetDataPath(); p != "" && p != dataPath {
			return predict.Status(predict.InvalidArgument("upload message names data path %q after %q", p, dataPath))
		}
		if buf.Len()+len(msg.GetData()) > limit {
			return predict.Status(predict.Errorf(codes.ResourceExhausted, "evaluation data is over the limit of %d bytes", limit))
		}
		buf.Write(msg.GetData())
	}
	examples, err := parseEvaluationData(buf.Bytes())
	if err != nil {
		return predict.Status(err)
	}
	d.mu.Lock()
	d.data[dataPath] = examples
	if old, ok := remember(&d.dataAge, dataPath); ok {
		delete(d.data, old)
	}
	d.mu.Unlock()
	d.cfg.Logger.Info("evaluation data uploaded", "protocol", "rekcurd", "path", dataPath, "examples", len(examples), "actor", engine.Actor(ctx))
	return stream.SendAndClose(&rekcurdpb.UploadEvaluationDataResponse{
		Status:  rekcurdSuccess,
		Message: fmt.Sprintf("Success: stored %d examples as %s", len(examples), dataPath),
	})
}

// parseEvaluationData reads JSON lines of labelled examples; blank lines
// are skipped.
func parseEvaluationData(data []byte) ([]rekcurdExample, error) {
	var out []rekcurdExample
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), len(data)+1)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		in, opt, label, err := jsonvalue.ParseLabeledExample(sc.Bytes())
		if err != nil {
			return nil, predict.InvalidArgument("evaluation data line %d: %v (want JSON lines such as {\"floats\": [0.5, 1], \"label\": \"cat\"})", line, err)
		}
		out = append(out, rekcurdExample{in: in, label: label, opt: opt})
	}
	if err := sc.Err(); err != nil {
		return nil, predict.InvalidArgument("evaluation data: %v", err)
	}
	if len(out) == 0 {
		return nil, predict.InvalidArgument("evaluation data holds no examples")
	}
	return out, nil
}

// EvaluateModel runs the data stored under data_path through the serving
// version of the model and keeps the result under result_path. Only the
// first message is read; its deprecated data field is ignored.
func (d *rekcurdDashboard) EvaluateModel(stream grpc.ClientStreamingServer[rekcurdpb.EvaluateModelRequest, rekcurdpb.EvaluateModelResponse]) error {
	ctx := stream.Context()
	req, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.InvalidArgument, "evaluation stream ended before its first message")
	}
	if err != nil {
		return err
	}
	if err := checkRekcurdPath("data path", req.GetDataPath()); err != nil {
		return predict.Status(err)
	}
	if err := checkRekcurdPath("result path", req.GetResultPath()); err != nil {
		return predict.Status(err)
	}
	d.mu.Lock()
	examples, ok := d.data[req.GetDataPath()]
	d.mu.Unlock()
	if !ok {
		return predict.Status(predict.Errorf(codes.NotFound, "no evaluation data at %q; upload it with UploadEvaluationData first", req.GetDataPath()))
	}
	ev, err := d.e.Evaluate(ctx, rekcurdModel(ctx, d.e), 0, false)
	if err != nil {
		return predict.Status(err)
	}
	defer ev.Close()
	res := &rekcurdResult{dataPath: req.GetDataPath()}
	for _, ex := range examples {
		out, err := ev.Example(ctx, ex.in, ex.opt, ex.label)
		if ctx.Err() != nil {
			return predict.Status(ctx.Err())
		}
		want, got := ex.label.String(), out.Label.String()
		scores := make([]float32, len(out.Scores))
		for i, s := range out.Scores {
			scores[i] = float32(s)
		}
		res.details = append(res.details, &rekcurdpb.EvaluationResultResponse_Detail{
			Input:     rekcurdIO(ex.in),
			Label:     rekcurdIO(ex.label),
			Output:    rekcurdIO(out.Label),
			Score:     scores,
			IsCorrect: err == nil && got == want,
		})
	}
	rep := ev.Report()
	res.metrics = &rekcurdpb.EvaluationMetrics{
		Num:      int32(min(rep.Examples, int64(1<<31-1))),
		Accuracy: float32(rep.Accuracy),
		Option:   map[string]float32{"errors": float32(rep.Errors), "version": float32(rep.Version)},
	}
	for _, lm := range rep.Labels {
		res.metrics.Precision = append(res.metrics.Precision, float32(lm.Precision))
		res.metrics.Recall = append(res.metrics.Recall, float32(lm.Recall))
		res.metrics.Fvalue = append(res.metrics.Fvalue, float32(lm.F1))
		res.metrics.Label = append(res.metrics.Label, &rekcurdpb.IO{IoOneof: &rekcurdpb.IO_Str{Str: &rekcurdpb.ArrString{Val: []string{lm.Label}}}})
	}
	d.mu.Lock()
	d.results[req.GetResultPath()] = res
	if old, ok := remember(&d.resultAge, req.GetResultPath()); ok {
		delete(d.results, old)
	}
	d.mu.Unlock()
	return stream.SendAndClose(&rekcurdpb.EvaluateModelResponse{Metrics: res.metrics})
}

// rekcurdIO renders a value as Rekcurd's IO: numbers as a tensor of shape
// [n], text and strings as strings, bytes as one standard base64 string.
func rekcurdIO(v predict.Value) *rekcurdpb.IO {
	str := func(s ...string) *rekcurdpb.IO {
		return &rekcurdpb.IO{IoOneof: &rekcurdpb.IO_Str{Str: &rekcurdpb.ArrString{Val: s}}}
	}
	tensor := func(val []float64) *rekcurdpb.IO {
		return &rekcurdpb.IO{IoOneof: &rekcurdpb.IO_Tensor{Tensor: &rekcurdpb.Tensor{Shape: []int32{int32(len(val))}, Val: val}}}
	}
	switch v.Kind() {
	case predict.KindText:
		return str(v.Text())
	case predict.KindStrings:
		return str(v.Strings()...)
	case predict.KindBytes:
		return str(base64.StdEncoding.EncodeToString(v.Bytes()))
	case predict.KindInts:
		val := make([]float64, len(v.Ints()))
		for i, x := range v.Ints() {
			val[i] = float64(x)
		}
		return tensor(val)
	case predict.KindFloats:
		return tensor(v.Floats())
	}
	return &rekcurdpb.IO{IoOneof: &rekcurdpb.IO_Tensor{Tensor: &rekcurdpb.Tensor{}}}
}

// EvaluationResult streams a stored evaluation: every message carries the
// metrics and up to 100 per-example details.
func (d *rekcurdDashboard) EvaluationResult(req *rekcurdpb.EvaluationResultRequest, stream grpc.ServerStreamingServer[rekcurdpb.EvaluationResultResponse]) error {
	d.mu.Lock()
	res, ok := d.results[req.GetResultPath()]
	d.mu.Unlock()
	if !ok {
		return predict.Status(predict.Errorf(codes.NotFound, "no evaluation result at %q; run EvaluateModel first", req.GetResultPath()))
	}
	if p := req.GetDataPath(); p != "" && p != res.dataPath {
		return predict.Status(predict.Errorf(codes.NotFound, "the evaluation result at %q was made from data %q, not %q", req.GetResultPath(), res.dataPath, p))
	}
	details := res.details
	for first := true; first || len(details) > 0; first = false {
		n := min(len(details), rekcurdDetailsPerMessage)
		if err := stream.Send(&rekcurdpb.EvaluationResultResponse{Metrics: res.metrics, Detail: details[:n]}); err != nil {
			return err
		}
		details = details[n:]
	}
	return nil
}

// rekcurdHealth serves rekcurd.Health from the server's real health.
type rekcurdHealth struct {
	rekcurdpb.UnimplementedHealthServer
	health HealthChecker
}

func (h *rekcurdHealth) Check(ctx context.Context, req *rekcurdpb.HealthCheckRequest) (*rekcurdpb.HealthCheckResponse, error) {
	resp, err := h.health.Check(ctx, &healthpb.HealthCheckRequest{Service: req.GetService()})
	if err != nil {
		return nil, err
	}
	st := rekcurdpb.HealthCheckResponse_UNKNOWN
	switch resp.GetStatus() {
	case healthpb.HealthCheckResponse_SERVING:
		st = rekcurdpb.HealthCheckResponse_SERVING
	case healthpb.HealthCheckResponse_NOT_SERVING:
		st = rekcurdpb.HealthCheckResponse_NOT_SERVING
	}
	return &rekcurdpb.HealthCheckResponse{Status: st}, nil
}
