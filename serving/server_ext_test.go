package serving_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// echo answers with its input, scores [len, 1], and the request's option
// under "echo". Options steer it: {"panic": true} panics, {"block": true}
// waits for the request's context to end, {"fail": "msg"} returns an
// invalid-argument error.
func echo() predict.Predictor {
	return predict.PredictorFunc(func(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
		if opt["panic"] == true {
			panic("echo was asked to panic")
		}
		if msg, ok := opt["fail"].(string); ok {
			return predict.Result{}, predict.InvalidArgument("%s", msg)
		}
		if opt["block"] == true {
			dl, ok := ctx.Deadline()
			<-ctx.Done()
			return predict.Result{Option: predict.Option{"had_deadline": ok, "deadline": dl.String()}}, ctx.Err()
		}
		return predict.Result{Label: in, Scores: []float64{float64(in.Len()), 1}, Option: predict.Option{"echo": map[string]any(opt)}}, nil
	})
}

func startEcho(t *testing.T, opts ...serving.ServerOption) *servingtest.Server {
	t.Helper()
	return servingtest.StartReady(t, echo, modelstore.NewStatic("echo", t.TempDir()), opts...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEveryValueKindRoundTrips(t *testing.T) {
	s := startEcho(t)
	inputs := map[string]*swapwirev1.Value{
		"text":    {Kind: &swapwirev1.Value_Text{Text: "héllo, wörld"}},
		"empty":   {Kind: &swapwirev1.Value_Text{Text: ""}},
		"bytes":   {Kind: &swapwirev1.Value_Data{Data: []byte{0, 1, 2, 255, 254}}},
		"ints":    {Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{-9223372036854775808, -1, 0, 42, 9223372036854775807}}}},
		"floats":  {Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: []float64{-1.5, 0, 3.141592653589793, 1e300}}}},
		"strings": {Kind: &swapwirev1.Value_Strings{Strings: &swapwirev1.StringArray{Values: []string{"a", "", "ß", "long string"}}}},
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			resp, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Model: "echo", Input: in})
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(resp.GetOutput(), in) {
				t.Errorf("output %v, want %v", resp.GetOutput(), in)
			}
			if resp.GetModel() != "echo" || resp.GetVersion() != 1 {
				t.Errorf("answered by %s/%d, want echo/1", resp.GetModel(), resp.GetVersion())
			}
			if len(resp.GetScores()) != 2 || resp.GetScores()[1] != 1 {
				t.Errorf("scores %v", resp.GetScores())
			}
		})
	}
}

func TestNestedOptionArrivesIntact(t *testing.T) {
	s := startEcho(t)
	// Depth 10: {"l1": {"l2": ... {"l10": {"leaf": [1, "x", true, null]}}}}
	var nested any = map[string]any{"leaf": []any{1.0, "x", true, nil}}
	for d := 10; d >= 1; d-- {
		nested = map[string]any{fmt.Sprintf("l%d", d): nested, "depth": float64(d)}
	}
	opt, err := structpb.NewStruct(nested.(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{
		Input:  &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}},
		Option: opt,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetOption().GetFields()["echo"].GetStructValue()
	if !proto.Equal(got, opt) {
		t.Fatalf("option came back as %v, want %v", got, opt)
	}
	// Walk down to the leaf to be sure the depth is real.
	cur := got
	for d := 1; d <= 10; d++ {
		cur = cur.GetFields()[fmt.Sprintf("l%d", d)].GetStructValue()
		if cur == nil {
			t.Fatalf("level %d missing", d)
		}
	}
	if leaf := cur.GetFields()["leaf"].GetListValue().GetValues(); len(leaf) != 4 || leaf[1].GetStringValue() != "x" {
		t.Fatalf("leaf %v", leaf)
	}
}

func TestPanicGivesInternalAndServerLives(t *testing.T) {
	var logBuf lockedBuffer
	s := startEcho(t, serving.WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	opt, _ := structpb.NewStruct(map[string]any{"panic": true})
	in := &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "boom"}}
	_, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in, Option: opt})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panic gave %v, want Internal", err)
	}
	// The panic's text stays in the log; the client gets an id to find it.
	if strings.Contains(err.Error(), "echo was asked to panic") {
		t.Errorf("error %q shows the panic's text to the client", err)
	}
	_, id, ok := strings.Cut(status.Convert(err).Message(), "request id ")
	id = strings.TrimSuffix(id, ")")
	if !ok || len(id) != 16 {
		t.Fatalf("error %q carries no request id", err)
	}
	if log := logBuf.String(); !strings.Contains(log, "request_id="+id) || !strings.Contains(log, "echo was asked to panic") {
		t.Errorf("the log does not tie request id %s to the panic:\n%s", id, log)
	}
	resp, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in})
	if err != nil || resp.GetOutput().GetText() != "boom" {
		t.Fatalf("next request: %v, %v", resp, err)
	}
}

func TestRequestValidation(t *testing.T) {
	s := startEcho(t)
	text := &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}}
	failOpt, _ := structpb.NewStruct(map[string]any{"fail": "bad pixel count"})
	tests := []struct {
		name string
		req  *swapwirev1.PredictRequest
		code codes.Code
		msg  string
	}{
		{"no input", &swapwirev1.PredictRequest{}, codes.InvalidArgument, "input is missing"},
		{"empty oneof", &swapwirev1.PredictRequest{Input: &swapwirev1.Value{}}, codes.InvalidArgument, "input"},
		{"unknown model", &swapwirev1.PredictRequest{Model: "nope", Input: text}, codes.NotFound, `model "nope"`},
		{"version not loaded", &swapwirev1.PredictRequest{Version: 7, Input: text}, codes.NotFound, "version 7 is not loaded"},
		{"unknown label", &swapwirev1.PredictRequest{Label: "canary", Input: text}, codes.NotFound, `no label "canary"`},
		{"negative version", &swapwirev1.PredictRequest{Version: -1, Input: text}, codes.InvalidArgument, "positive"},
		{"predictor says invalid", &swapwirev1.PredictRequest{Input: text, Option: failOpt}, codes.InvalidArgument, "bad pixel count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Predict.Predict(ctxT(t), tt.req)
			if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestDeadlineReachesPredictor(t *testing.T) {
	s := startEcho(t)
	opt, _ := structpb.NewStruct(map[string]any{"block": true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.Predict.Predict(ctx, &swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "slow"}}, Option: opt})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
}

func TestPredictStreamAnswersInOrderWithIDs(t *testing.T) {
	s := startEcho(t)
	stream, err := s.Predict.PredictStream(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	go func() {
		for i := range n {
			req := &swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{int64(i)}}}}}
			if i == 7 {
				req = &swapwirev1.PredictRequest{Model: "missing", Input: req.Input}
			}
			if err := stream.Send(&swapwirev1.PredictStreamRequest{Id: fmt.Sprint("req-", i), Request: req}); err != nil {
				return
			}
		}
		stream.CloseSend()
	}()
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if resp.GetId() != fmt.Sprint("req-", i) {
			t.Fatalf("response %d has id %q", i, resp.GetId())
		}
		if i == 7 {
			if codes.Code(resp.GetError().GetCode()) != codes.NotFound {
				t.Fatalf("item 7: %v, want a NotFound error", resp)
			}
			continue
		}
		if got := resp.GetResponse().GetOutput().GetInts().GetValues(); len(got) != 1 || got[0] != int64(i) {
			t.Fatalf("item %d answered %v", i, got)
		}
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d responses: %v, want EOF", n, err)
	}
}

func TestServiceInfo(t *testing.T) {
	s := startEcho(t, serving.WithName("echo-svc"), serving.WithServiceLevel("staging"))
	info, err := s.Predict.ServiceInfo(ctxT(t), &swapwirev1.ServiceInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetName() != "echo-svc" || info.GetServiceLevel() != "staging" || info.GetDefaultModel() != "echo" || info.GetSwapwireVersion() != serving.Version {
		t.Errorf("info %v", info)
	}
	if len(info.GetModels()) != 1 || info.GetModels()[0].GetServingVersion() != 1 {
		t.Errorf("models %v", info.GetModels())
	}
}

// gate is a predictor whose Load waits until release is closed.
type gate struct {
	release chan struct{}
	predict.PredictorFunc
}

func (g gate) Load(ctx context.Context, _ string) error {
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestHealthFollowsLifecycle(t *testing.T) {
	release := make(chan struct{})
	factory := func() predict.Predictor { return gate{release: release, PredictorFunc: echo().(predict.PredictorFunc)} }
	s := servingtest.Start(t, factory, modelstore.NewStatic("echo", t.TempDir()))
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	watch, err := s.Health.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	next := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		return resp.GetStatus()
	}
	if st := next(); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("while loading: %v, want NOT_SERVING", st)
	}
	close(release)
	if st := next(); st != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("after load: %v, want SERVING", st)
	}
	if resp, err := s.Health.Check(ctx, &healthpb.HealthCheckRequest{Service: "echo"}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("model health: %v %v", resp, err)
	}
	done := make(chan error, 1)
	go func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		done <- s.Shutdown(sctx)
	}()
	if st := next(); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("during shutdown: %v, want NOT_SERVING", st)
	}
	cancel() // end the watch so the graceful stop can finish
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := startEcho(t, serving.WithRegisterer(reg))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeMetrics(lis)
	in := &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "m"}}
	for range 3 {
		if _, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in}); err != nil {
			t.Fatal(err)
		}
	}
	failOpt, _ := structpb.NewStruct(map[string]any{"fail": "no"})
	s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in, Option: failOpt})

	resp, err := http.Get("http://" + lis.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{
		`swapwire_requests_total{code="OK",model="echo",version="1"} 3`,
		`swapwire_requests_total{code="InvalidArgument",model="echo",version="1"} 1`,
		`swapwire_request_duration_seconds_count{model="echo",version="1"} 3`,
		`swapwire_model_serving_version{model="echo"} 1`,
		`swapwire_model_loads_total{model="echo",result="ok"} 1`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Predict",grpc_service="swapwire.v1.PredictionService",grpc_type="unary"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestGrpcurlReflectionAndPredict(t *testing.T) {
	bin := grpcurlBin(t)
	s := startEcho(t)
	out, err := exec.Command(bin, "-plaintext", s.Addr, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl list: %v\n%s", err, out)
	}
	for _, svc := range []string{"swapwire.v1.PredictionService", "swapwire.v1.ModelService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(string(out), svc) {
			t.Errorf("grpcurl list lacks %s:\n%s", svc, out)
		}
	}
	out, err = exec.Command(bin, "-plaintext", "-d", `{"input": {"ints": {"values": [1, 2, 3]}}}`, s.Addr, "swapwire.v1.PredictionService/Predict").CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl predict: %v\n%s", err, out)
	}
	compact := strings.Join(strings.Fields(string(out)), "")
	if !strings.Contains(compact, `"model":"echo"`) || !strings.Contains(compact, `"values":["1","2","3"]`) {
		t.Fatalf("grpcurl predict answered:\n%s", out)
	}
}

func TestRegisterOnOwnServer(t *testing.T) {
	// The services mount on a grpc.Server of the caller's, next to its own.
	srv, err := serving.New(echo, modelstore.NewStatic("echo", t.TempDir()), serving.WithAdminToken("own-server-token"), serving.WithPlaintextTokens(true))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	gs := grpc.NewServer()
	serving.Register(gs, srv)
	healthpb.RegisterHealthServer(gs, srv.HealthServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis)
	defer gs.Stop()
	if err := srv.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(ctxT(t), &swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "mounted"}}})
	if err != nil || resp.GetOutput().GetText() != "mounted" || resp.GetModel() != "echo" {
		t.Fatalf("predict on the caller's server: %v %v", resp, err)
	}
	hr, err := healthpb.NewHealthClient(conn).Check(ctxT(t), &healthpb.HealthCheckRequest{Service: "echo"})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health on the caller's server: %v %v", hr, err)
	}
	if _, err := swapwirev1.NewModelServiceClient(conn).ListModels(ctxT(t), &swapwirev1.ListModelsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("admin on the caller's server without a token: %v, want Unauthenticated", err)
	}
	tok := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer own-server-token")
	list, err := swapwirev1.NewModelServiceClient(conn).ListModels(tok, &swapwirev1.ListModelsRequest{})
	if err != nil || len(list.GetModels()) != 1 {
		t.Fatalf("admin on the caller's server with the token: %v %v", list, err)
	}
	// Serve on the Server itself after its services were mounted elsewhere
	// still works, and a failing listener's error comes back.
	if err := srv.Serve(closedListener{}); err == nil {
		t.Fatal("Serve on a failing listener returned nil")
	}
}

type closedListener struct{}

func (closedListener) Accept() (net.Conn, error) { return nil, errors.New("closed") }
func (closedListener) Close() error              { return nil }
func (closedListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func TestMaxMessageSize(t *testing.T) {
	s := startEcho(t, serving.WithMaxMessageSize(4096))
	small := &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: strings.Repeat("a", 1000)}}
	if _, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: small}); err != nil {
		t.Fatalf("1 KB request: %v", err)
	}
	big := &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: strings.Repeat("a", 8000)}}
	_, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: big})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("8 KB request over a 4 KB cap: %v, want ResourceExhausted", err)
	}
}

func TestAdminToken(t *testing.T) {
	s := startEcho(t, serving.WithAdminToken("s3cret"))
	models := swapwirev1.NewModelServiceClient(s.Conn)
	if _, err := models.ListModels(ctxT(t), &swapwirev1.ListModelsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v, want Unauthenticated", err)
	}
	bad := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer wrong")
	if _, err := models.ListModels(bad, &swapwirev1.ListModelsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v, want Unauthenticated", err)
	}
	good := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer s3cret")
	resp, err := models.ListModels(good, &swapwirev1.ListModelsRequest{})
	if err != nil || len(resp.GetModels()) != 1 || resp.GetModels()[0].GetServingVersion() != 1 {
		t.Fatalf("right token: %v %v", resp, err)
	}
	// Predictions need no token.
	if _, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestPredictStreamRunsRequestsConcurrently sends four requests on one
// stream to a model that answers only once four requests wait in it at once:
// a stream that ran one request at a time would never be answered.
func TestPredictStreamRunsRequestsConcurrently(t *testing.T) {
	const n = 4
	arrived := make(chan struct{}, n)
	all := make(chan struct{})
	var once sync.Once
	barrier := func() predict.Predictor {
		return predict.PredictorFunc(func(ctx context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
			arrived <- struct{}{}
			if len(arrived) == n {
				once.Do(func() { close(all) })
			}
			select {
			case <-all:
				return predict.Result{Label: in}, nil
			case <-ctx.Done():
				return predict.Result{}, ctx.Err()
			}
		})
	}
	s := servingtest.StartReady(t, barrier, modelstore.NewStatic("b", t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := s.Predict.PredictStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		in := &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{int64(i)}}}}
		if err := stream.Send(&swapwirev1.PredictStreamRequest{Id: fmt.Sprint(i), Request: &swapwirev1.PredictRequest{Input: in}}); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if resp.GetId() != fmt.Sprint(i) || resp.GetResponse().GetOutput().GetInts().GetValues()[0] != int64(i) {
			t.Fatalf("response %d out of order: %v", i, resp)
		}
	}
}

func TestRequestLogSampling(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	s := startEcho(t, serving.WithLogger(log), serving.WithRequestLog(1))
	in := &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{1, 2, 3}}}}
	if _, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in}); err != nil {
		t.Fatal(err)
	}
	s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Model: "nope", Input: in})
	var lines []map[string]any
	for _, l := range strings.Split(buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d request lines, want 2:\n%s", len(lines), buf.String())
	}
	if l := lines[0]; l["model"] != "echo" || l["version"] != 1.0 || l["code"] != "OK" || l["input"] != "ints" || l["size"] != 3.0 {
		t.Errorf("first line %v", l)
	}
	if l := lines[1]; l["model"] != "nope" || l["code"] != "NotFound" {
		t.Errorf("second line %v", l)
	}

	// Off by default: a server without the option logs no request.
	var quiet syncBuffer
	s2 := startEcho(t, serving.WithLogger(slog.New(slog.NewJSONHandler(&quiet, nil))))
	if _, err := s2.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.String(), `"msg":"request"`) {
		t.Fatal("a request was logged with request logging off")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDeepOptionIsInvalidArgument sends a 3,000-deep option (before the
// fix: INTERNAL from the worker conversion). Deeper than 5,000 the Go
// client itself cannot encode it; the server maps a decoder's recursion
// error to INVALID_ARGUMENT too (invalidDecode).
func TestDeepOptionIsInvalidArgument(t *testing.T) {
	s := startEcho(t)
	opt := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	cur := opt
	for range 3000 {
		next := &structpb.Struct{Fields: map[string]*structpb.Value{}}
		cur.Fields["a"] = structpb.NewStructValue(next)
		cur = next
	}
	in := &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}}
	_, err := s.Predict.Predict(ctxT(t), &swapwirev1.PredictRequest{Input: in, Option: opt})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "deeper than") {
		t.Fatalf("3,000-deep option: %v, want InvalidArgument", err)
	}
}

// rawCodec sends and receives already-encoded protobuf messages, so a test
// can send what the Go protobuf library refuses to encode.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error { *v.(*[]byte) = data; return nil }
func (rawCodec) Name() string                       { return "proto" }

// deepOptionRequest encodes a PredictRequest whose option is a Struct
// nested depth levels deep ({"a": {"a": ...}}), by hand.
func deepOptionRequest(depth int) []byte {
	// Each level is Struct{fields: {"a": Value{struct_value: <inner>}}},
	// whose bytes are a prefix followed by the inner level: build the
	// prefixes from the inside out, then write them outermost first.
	prefixes := make([][]byte, depth)
	size := 0 // of the level inside the current one; the innermost is empty
	for i := range depth {
		val := protowire.SizeTag(5) + protowire.SizeBytes(size)
		entry := protowire.SizeTag(1) + protowire.SizeBytes(1) + protowire.SizeTag(2) + protowire.SizeBytes(val)
		var p []byte
		p = protowire.AppendTag(p, 1, protowire.BytesType)
		p = protowire.AppendVarint(p, uint64(entry))
		p = protowire.AppendTag(p, 1, protowire.BytesType)
		p = protowire.AppendString(p, "a")
		p = protowire.AppendTag(p, 2, protowire.BytesType)
		p = protowire.AppendVarint(p, uint64(val))
		p = protowire.AppendTag(p, 5, protowire.BytesType)
		p = protowire.AppendVarint(p, uint64(size))
		prefixes[i] = p
		size += len(p)
	}
	inner := make([]byte, 0, size)
	for i := depth - 1; i >= 0; i-- {
		inner = append(inner, prefixes[i]...)
	}
	var in []byte // Value{text: "x"}
	in = protowire.AppendTag(in, 1, protowire.BytesType)
	in = protowire.AppendString(in, "x")
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	req = protowire.AppendString(req, "echo")
	req = protowire.AppendTag(req, 4, protowire.BytesType)
	req = protowire.AppendBytes(req, in)
	req = protowire.AppendTag(req, 5, protowire.BytesType)
	req = protowire.AppendBytes(req, inner)
	return req
}

// The fault as found: a 9,000-deep option, deeper than the Go client will
// encode, sent as raw bytes. It was INTERNAL; it must be INVALID_ARGUMENT
// and the server must keep serving.
func TestNineThousandDeepOptionIsInvalidArgument(t *testing.T) {
	s := startEcho(t)
	req := deepOptionRequest(9000)
	var resp []byte
	err := s.Conn.Invoke(ctxT(t), "/swapwire.v1.PredictionService/Predict", &req, &resp, grpc.ForceCodec(rawCodec{}))
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("9,000-deep option (%d bytes): %v, want InvalidArgument", len(req), err)
	}
	// A shallow request on the same connection still works.
	req = deepOptionRequest(3)
	if err := s.Conn.Invoke(ctxT(t), "/swapwire.v1.PredictionService/Predict", &req, &resp, grpc.ForceCodec(rawCodec{})); err != nil {
		t.Fatalf("3-deep option after the deep one: %v", err)
	}
	var got swapwirev1.PredictResponse
	if err := proto.Unmarshal(resp, &got); err != nil {
		t.Fatal(err)
	}
	if got.GetOutput().GetText() != "x" || got.GetOption().GetFields()["echo"].GetStructValue().GetFields()["a"] == nil {
		t.Fatalf("3-deep request answered %v, want the echo of \"x\" and its option", &got)
	}
}
