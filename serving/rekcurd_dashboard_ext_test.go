package serving_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// fileModel answers every request with the content of the one model file
// of its version directory (the manifest aside).
type fileModel struct{ answer string }

func (f *fileModel) Load(_ context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == modelstore.ManifestName || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		f.answer = string(b)
		return nil
	}
	return os.ErrNotExist
}

func (f *fileModel) Predict(context.Context, predict.Value, predict.Option) (predict.Result, error) {
	return predict.Result{Label: predict.Text(f.answer), Scores: []float64{0.5}}, nil
}

func uploadRekcurd(t *testing.T, c rekcurdpb.RekcurdDashboardClient, path string, chunks ...string) (*rekcurdpb.ModelResponse, error) {
	t.Helper()
	stream, err := c.UploadModel(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range chunks {
		msg := &rekcurdpb.UploadModelRequest{Data: []byte(ch)}
		if i == 0 {
			msg.Path = path
		}
		if err := stream.Send(msg); err != nil {
			break
		}
	}
	return stream.CloseAndRecv()
}

func answerOf(t *testing.T, w rekcurdpb.RekcurdWorkerClient) string {
	t.Helper()
	out, err := w.Predict_String_String(ctxT(t), &rekcurdpb.StringInput{Input: "q"})
	if err != nil {
		t.Fatal(err)
	}
	return out.GetOutput()
}

func TestRekcurdDashboardUploadSwitchEvaluate(t *testing.T) {
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitVersion(t, st, "m", "cat.model", "cat")
	s := servingtest.StartReady(t, func() predict.Predictor { return &fileModel{} }, st,
		serving.WithName("svc"), serving.WithServiceLevel("staging"))
	d := rekcurdpb.NewRekcurdDashboardClient(s.AdminConn)
	w := rekcurdpb.NewRekcurdWorkerClient(s.Conn)

	info, err := d.ServiceInfo(ctxT(t), &rekcurdpb.ServiceInfoRequest{})
	if err != nil || info.GetApplicationName() != "m" || info.GetServiceName() != "svc" || info.GetServiceLevel() != "staging" {
		t.Fatalf("ServiceInfo = %v, %v", info, err)
	}

	// Upload: a new version holding the one file; the store follows the latest.
	resp, err := uploadRekcurd(t, d, "m/dog.model", "do", "g")
	if err != nil || resp.GetStatus() != 1 || !strings.Contains(resp.GetMessage(), "model m version 2 (3 bytes)") {
		t.Fatalf("UploadModel = %v, %v", resp, err)
	}
	s.WaitServing(ctxT(t), "m", 2)
	if got := answerOf(t, w); got != "dog" {
		t.Fatalf("after upload the model answers %q, want dog", got)
	}
	b, err := os.ReadFile(filepath.Join(st.Root(), "m", "2", "dog.model"))
	if err != nil || string(b) != "dog" {
		t.Fatalf("stored file: %q, %v", b, err)
	}
	for _, bad := range []string{"../escape.model", "/abs.model", "m/../x", "", "m//x", "m/" + modelstore.ManifestName} {
		if _, err := uploadRekcurd(t, d, bad, "x"); status.Code(err) != codes.InvalidArgument {
			t.Errorf("UploadModel(%q) = %v, want InvalidArgument", bad, err)
		}
	}

	// Switch: by version number, by model/version, by file name.
	for _, tt := range []struct{ path, want string }{
		{"1", "cat"}, {"v2", "dog"}, {"m/v1", "cat"}, {"m/2", "dog"}, {"m/cat.model", "cat"}, {"other/dog.model", "dog"},
	} {
		resp, err := d.SwitchModel(ctxT(t), &rekcurdpb.SwitchModelRequest{Path: tt.path})
		if err != nil || resp.GetStatus() != 1 {
			t.Fatalf("SwitchModel(%q) = %v, %v", tt.path, resp, err)
		}
		if got := answerOf(t, w); got != tt.want {
			t.Errorf("after SwitchModel(%q) the model answers %q, want %q", tt.path, got, tt.want)
		}
	}
	for path, code := range map[string]codes.Code{"7": codes.NotFound, "none.model": codes.NotFound, "../1": codes.InvalidArgument} {
		if _, err := d.SwitchModel(ctxT(t), &rekcurdpb.SwitchModelRequest{Path: path}); status.Code(err) != code {
			t.Errorf("SwitchModel(%q) = %v, want %v", path, err, code)
		}
	}

	// Evaluation: the model answers "dog" to everything.
	up, err := d.UploadEvaluationData(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	data := `{"text": "a", "label": "dog"}` + "\n" + `{"strings": ["x", "y"], "label": "dog"}` + "\n\n" + `{"ints": [1], "label": "cat"}` + "\n"
	up.Send(&rekcurdpb.UploadEvaluationDataRequest{DataPath: "eval/data.jsonl", Data: []byte(data[:20])})
	up.Send(&rekcurdpb.UploadEvaluationDataRequest{Data: []byte(data[20:])})
	ur, err := up.CloseAndRecv()
	if err != nil || ur.GetStatus() != 1 || !strings.Contains(ur.GetMessage(), "3 examples") {
		t.Fatalf("UploadEvaluationData = %v, %v", ur, err)
	}
	ev, err := d.EvaluateModel(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	ev.Send(&rekcurdpb.EvaluateModelRequest{DataPath: "eval/data.jsonl", ResultPath: "eval/result"})
	er, err := ev.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	m := er.GetMetrics()
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, l.GetStr().GetVal()...)
	}
	if m.GetNum() != 3 || m.GetAccuracy() != float32(2.0/3) || !reflect.DeepEqual(labels, []string{"cat", "dog"}) ||
		!reflect.DeepEqual(m.GetPrecision(), []float32{0, float32(2.0 / 3)}) || !reflect.DeepEqual(m.GetRecall(), []float32{0, 1}) ||
		!reflect.DeepEqual(m.GetFvalue(), []float32{0, 0.8}) || m.GetOption()["errors"] != 0 || m.GetOption()["version"] != 2 {
		t.Fatalf("metrics %v", m)
	}
	rs, err := d.EvaluationResult(ctxT(t), &rekcurdpb.EvaluationResultRequest{DataPath: "eval/data.jsonl", ResultPath: "eval/result"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	det := res.GetDetail()
	if len(det) != 3 || !det[0].GetIsCorrect() || !det[1].GetIsCorrect() || det[2].GetIsCorrect() ||
		!reflect.DeepEqual(det[1].GetInput().GetStr().GetVal(), []string{"x", "y"}) ||
		!reflect.DeepEqual(det[2].GetInput().GetTensor().GetVal(), []float64{1}) ||
		det[2].GetLabel().GetStr().GetVal()[0] != "cat" || det[2].GetOutput().GetStr().GetVal()[0] != "dog" ||
		!reflect.DeepEqual(det[2].GetScore(), []float32{0.5}) || res.GetMetrics().GetNum() != 3 {
		t.Fatalf("details %v", res)
	}
	if _, err := rs.Recv(); err == nil {
		t.Fatal("EvaluationResult sent a second message for 3 details")
	}

	// Errors: bad data, unknown data, unknown result.
	up, _ = d.UploadEvaluationData(ctxT(t))
	up.Send(&rekcurdpb.UploadEvaluationDataRequest{DataPath: "bad", Data: []byte(`{"text": "a", "label": "x"}` + "\n" + `{"text": 1}`)})
	if _, err := up.CloseAndRecv(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad evaluation data: %v", err)
	}
	ev, _ = d.EvaluateModel(ctxT(t))
	ev.Send(&rekcurdpb.EvaluateModelRequest{DataPath: "missing", ResultPath: "r"})
	if _, err := ev.CloseAndRecv(); status.Code(err) != codes.NotFound {
		t.Errorf("EvaluateModel on missing data: %v", err)
	}
	rs, _ = d.EvaluationResult(ctxT(t), &rekcurdpb.EvaluationResultRequest{ResultPath: "nothing"})
	if _, err := rs.Recv(); status.Code(err) != codes.NotFound {
		t.Errorf("EvaluationResult on missing result: %v", err)
	}
}

func TestRekcurdDashboardAdminAuth(t *testing.T) {
	s := startEcho(t, serving.WithAdminToken("secret"))
	d := rekcurdpb.NewRekcurdDashboardClient(s.Conn)
	if _, err := d.SwitchModel(ctxT(t), &rekcurdpb.SwitchModelRequest{Path: "1"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("SwitchModel without a token: %v, want Unauthenticated", err)
	}
	// ServiceInfo needs no token.
	if info, err := d.ServiceInfo(ctxT(t), &rekcurdpb.ServiceInfoRequest{}); err != nil || info.GetApplicationName() != "echo" {
		t.Errorf("ServiceInfo = %v, %v", info, err)
	}
}

// TestRekcurdUploadIdleTimeout: a Rekcurd upload that stops sending is
// ended with DEADLINE_EXCEEDED after the idle timeout, and publishes
// nothing.
func TestRekcurdUploadIdleTimeout(t *testing.T) {
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitVersion(t, st, "m", "cat.model", "cat")
	s := servingtest.StartReady(t, func() predict.Predictor { return &fileModel{} }, st,
		serving.WithUploadLimits(serving.UploadLimits{IdleTimeout: 200 * time.Millisecond}))
	d := rekcurdpb.NewRekcurdDashboardClient(s.AdminConn)
	stream, err := d.UploadModel(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&rekcurdpb.UploadModelRequest{Path: "m/dog.model", Data: []byte("do")}); err != nil {
		t.Fatal(err)
	}
	// Send nothing more and keep the stream open: the server gives up on
	// its own.
	start := time.Now()
	err = stream.RecvMsg(new(rekcurdpb.ModelResponse))
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "idle") {
		t.Fatalf("an idle upload ended with %v, want DEADLINE_EXCEEDED for being idle", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("the idle upload took %v to end", waited)
	}
	if vs, _ := st.Versions(context.Background(), "m"); len(vs) != 1 {
		t.Fatalf("an abandoned upload left versions %v", vs)
	}
}
