package serving_test

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

func TestOIPReadinessFollowsLoad(t *testing.T) {
	release := make(chan struct{})
	factory := func() predict.Predictor { return gate{release: release, PredictorFunc: echo().(predict.PredictorFunc)} }
	s := servingtest.Start(t, factory, modelstore.NewStatic("echo", t.TempDir()))
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
	ctx := ctxT(t)

	if r, err := c.ServerLive(ctx, &inferencepb.ServerLiveRequest{}); err != nil || !r.GetLive() {
		t.Fatalf("ServerLive while loading = %v, %v; want live", r, err)
	}
	if r, err := c.ServerReady(ctx, &inferencepb.ServerReadyRequest{}); err != nil || r.GetReady() {
		t.Fatalf("ServerReady while loading = %v, %v; want not ready", r, err)
	}
	if r, err := c.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: "echo"}); err != nil || r.GetReady() {
		t.Fatalf("ModelReady while loading = %v, %v; want not ready", r, err)
	}
	close(release)
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ServerReady(ctx, &inferencepb.ServerReadyRequest{}); err != nil || !r.GetReady() {
		t.Fatalf("ServerReady after load = %v, %v", r, err)
	}
	for _, tt := range []struct {
		name, version string
		ready         bool
	}{{"echo", "", true}, {"echo", "1", true}, {"", "", true}, {"echo", "2", false}, {"nope", "", false}} {
		r, err := c.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: tt.name, Version: tt.version})
		if err != nil || r.GetReady() != tt.ready {
			t.Errorf("ModelReady(%q, %q) = %v, %v; want %v", tt.name, tt.version, r, err, tt.ready)
		}
	}
	if _, err := c.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: "echo", Version: "one"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ModelReady with version \"one\": %v", err)
	}
}

func TestOIPMetadata(t *testing.T) {
	s := startEcho(t)
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
	sm, err := c.ServerMetadata(ctxT(t), &inferencepb.ServerMetadataRequest{})
	if err != nil || sm.GetName() != "swapwire" || sm.GetVersion() != serving.Version || !reflect.DeepEqual(sm.GetExtensions(), []string{"model_repository", "parameters"}) {
		t.Fatalf("ServerMetadata = %v, %v", sm, err)
	}
	mm, err := c.ModelMetadata(ctxT(t), &inferencepb.ModelMetadataRequest{Name: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	// echo declares no signature: the honest fallback, any datatype ("")
	// for the input and the label.
	want := &inferencepb.ModelMetadataResponse{
		Name: "echo", Versions: []string{"1"}, Platform: "swapwire",
		Inputs: []*inferencepb.ModelMetadataResponse_TensorMetadata{{Name: "input", Datatype: "", Shape: []int64{-1}}},
		Outputs: []*inferencepb.ModelMetadataResponse_TensorMetadata{
			{Name: "label", Datatype: "", Shape: []int64{-1}},
			{Name: "scores", Datatype: "FP64", Shape: []int64{-1}},
		},
	}
	if !proto.Equal(mm, want) {
		t.Fatalf("ModelMetadata = %v, want %v", mm, want)
	}
	if _, err := c.ModelMetadata(ctxT(t), &inferencepb.ModelMetadataRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("ModelMetadata(nope): %v", err)
	}
	if _, err := c.ModelMetadata(ctxT(t), &inferencepb.ModelMetadataRequest{Name: "echo", Version: "9"}); status.Code(err) != codes.NotFound {
		t.Errorf("ModelMetadata(echo, 9): %v", err)
	}
}

func le32(vals ...uint32) []byte {
	b := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func le64(vals ...uint64) []byte {
	b := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func lenPrefixed(elems ...string) []byte {
	var b []byte
	for _, e := range elems {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func inferReq(dt string, shape []int64, c *inferencepb.InferTensorContents, raw []byte) *inferencepb.ModelInferRequest {
	req := &inferencepb.ModelInferRequest{
		ModelName: "echo", Id: "req-" + dt,
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: dt, Shape: shape, Contents: c}},
	}
	if raw != nil {
		req.RawInputContents = [][]byte{raw}
	}
	return req
}

func TestOIPModelInfer(t *testing.T) {
	s := startEcho(t)
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
	label := func(dt string, shape []int64, cont *inferencepb.InferTensorContents) *inferencepb.ModelInferResponse_InferOutputTensor {
		return &inferencepb.ModelInferResponse_InferOutputTensor{Name: "label", Datatype: dt, Shape: shape, Contents: cont}
	}
	tests := []struct {
		name string
		req  *inferencepb.ModelInferRequest
		want *inferencepb.ModelInferResponse_InferOutputTensor
	}{
		{"BYTES typed", inferReq("BYTES", []int64{1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("héllo")}}, nil),
			label("BYTES", []int64{1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("héllo")}})},
		{"BYTES raw", inferReq("BYTES", []int64{2}, nil, lenPrefixed("ab", "c")),
			label("BYTES", []int64{2}, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("ab"), []byte("c")}})},
		{"INT32 typed", inferReq("INT32", []int64{3}, &inferencepb.InferTensorContents{IntContents: []int32{1, -2, math.MaxInt32}}, nil),
			label("INT64", []int64{3}, &inferencepb.InferTensorContents{Int64Contents: []int64{1, -2, math.MaxInt32}})},
		{"INT32 raw", inferReq("INT32", []int64{2}, nil, le32(7, uint32(0xFFFFFFFF))),
			label("INT64", []int64{2}, &inferencepb.InferTensorContents{Int64Contents: []int64{7, -1}})},
		{"INT64 typed", inferReq("INT64", []int64{1, 2}, &inferencepb.InferTensorContents{Int64Contents: []int64{math.MinInt64, 5}}, nil),
			label("INT64", []int64{2}, &inferencepb.InferTensorContents{Int64Contents: []int64{math.MinInt64, 5}})},
		{"INT64 raw", inferReq("INT64", []int64{2}, nil, le64(5, uint64(0xFFFFFFFFFFFFFFFA))),
			label("INT64", []int64{2}, &inferencepb.InferTensorContents{Int64Contents: []int64{5, -6}})},
		{"FP32 typed", inferReq("FP32", []int64{2}, &inferencepb.InferTensorContents{Fp32Contents: []float32{0.5, -1.5}}, nil),
			label("FP64", []int64{2}, &inferencepb.InferTensorContents{Fp64Contents: []float64{0.5, -1.5}})},
		{"FP32 raw", inferReq("FP32", []int64{1}, nil, le32(math.Float32bits(2.25))),
			label("FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{2.25}})},
		{"FP64 typed", inferReq("FP64", []int64{2}, &inferencepb.InferTensorContents{Fp64Contents: []float64{math.Pi, 1e300}}, nil),
			label("FP64", []int64{2}, &inferencepb.InferTensorContents{Fp64Contents: []float64{math.Pi, 1e300}})},
		{"FP64 raw", inferReq("FP64", []int64{1}, nil, le64(math.Float64bits(-0.125))),
			label("FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{-0.125}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.ModelInfer(ctxT(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetModelName() != "echo" || resp.GetModelVersion() != "1" || resp.GetId() != tt.req.GetId() {
				t.Errorf("answered by %q version %q id %q", resp.GetModelName(), resp.GetModelVersion(), resp.GetId())
			}
			outs := withContents(t, resp)
			if len(outs) != 2 || !proto.Equal(outs[0], tt.want) {
				t.Fatalf("outputs %v, want label %v", outs, tt.want)
			}
			// echo scores [input length, 1]: the elements, or the bytes of one text.
			n := float64(tt.want.GetShape()[0])
			if b := tt.want.GetContents().GetBytesContents(); len(b) == 1 {
				n = float64(len(b[0]))
			}
			if sc := outs[1]; sc.GetName() != "scores" || sc.GetDatatype() != "FP64" || !reflect.DeepEqual(sc.GetContents().GetFp64Contents(), []float64{n, 1}) {
				t.Errorf("scores %v, want [%v 1]", sc, n)
			}
		})
	}

	// Parameters travel as the option and come back as response parameters.
	req := inferReq("INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}}, nil)
	req.ModelVersion = "1"
	req.Parameters = map[string]*inferencepb.InferParameter{"k": {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: "v"}}}
	req.Outputs = []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "label"}}
	resp, err := c.ModelInfer(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetParameters()["echo"].GetStringParam(); got != `{"k":"v"}` || len(resp.GetOutputs()) != 1 || resp.GetModelVersion() != "1" {
		t.Errorf("parameters %v outputs %v", resp.GetParameters(), resp.GetOutputs())
	}

	for _, tt := range []struct {
		name string
		req  *inferencepb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"shape mismatch", inferReq("INT64", []int64{2}, &inferencepb.InferTensorContents{Int64Contents: []int64{1, 2, 3}}, nil), codes.InvalidArgument, "shape"},
		{"raw length mismatch", inferReq("FP64", []int64{2}, nil, le64(1)), codes.InvalidArgument, "input \"x\""},
		{"no inputs", &inferencepb.ModelInferRequest{ModelName: "echo"}, codes.InvalidArgument, "no inputs"},
		{"unknown model", func() *inferencepb.ModelInferRequest {
			r := inferReq("INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}}, nil)
			r.ModelName = "nope"
			return r
		}(), codes.NotFound, `"nope"`},
		{"version not loaded", func() *inferencepb.ModelInferRequest {
			r := inferReq("INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}}, nil)
			r.ModelVersion = "2"
			return r
		}(), codes.NotFound, "version 2"},
		{"bad version", func() *inferencepb.ModelInferRequest {
			r := inferReq("INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}}, nil)
			r.ModelVersion = "latest"
			return r
		}(), codes.InvalidArgument, `"latest"`},
	} {
		_, err := c.ModelInfer(ctxT(t), tt.req)
		if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.code, tt.msg)
		}
	}
}

func TestOIPModelStreamInfer(t *testing.T) {
	s := startEcho(t)
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
	stream, err := c.ModelStreamInfer(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*inferencepb.ModelInferRequest{
		inferReq("INT64", []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{10}}, nil),
		inferReq("INT64", []int64{3}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}}, nil), // shape mismatch
		inferReq("FP64", []int64{1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{0.5}}, nil),
	}
	for _, r := range reqs {
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	stream.CloseSend()
	var got []*inferencepb.ModelStreamInferResponse
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("%d responses, want 3", len(got))
	}
	if got[0].GetErrorMessage() != "" || !reflect.DeepEqual(withContents(t, got[0].GetInferResponse())[0].GetContents().GetInt64Contents(), []int64{10}) {
		t.Errorf("first: %v", got[0])
	}
	if !strings.Contains(got[1].GetErrorMessage(), "shape") || got[1].GetInferResponse().GetId() != "req-INT64" {
		t.Errorf("second: %v, want a shape error with the request id", got[1])
	}
	if got[2].GetErrorMessage() != "" || !reflect.DeepEqual(withContents(t, got[2].GetInferResponse())[0].GetContents().GetFp64Contents(), []float64{0.5}) || got[2].GetInferResponse().GetModelVersion() != "1" {
		t.Errorf("third: %v", got[2])
	}
}

// startRepo serves model "m" with versions 1 ("one") and 2 ("two").
func startRepo(t *testing.T, opts ...serving.ServerOption) *servingtest.Server {
	t.Helper()
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitVersion(t, st, "m", "model.txt", "one")
	commitVersion(t, st, "m", "model.txt", "two")
	s := servingtest.StartReady(t, func() predict.Predictor { return &fileModel{} }, st, opts...)
	if err := s.WaitServing(ctxT(t), "m", 2); err != nil {
		t.Fatal(err)
	}
	return s
}

func textInfer(model string) *inferencepb.ModelInferRequest {
	return &inferencepb.ModelInferRequest{ModelName: model, Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		{Name: "x", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("q")}}},
	}}
}

func index(t *testing.T, c inferencepb.GRPCInferenceServiceClient, ready bool) []string {
	t.Helper()
	r, err := c.RepositoryIndex(ctxT(t), &inferencepb.RepositoryIndexRequest{Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range r.GetModels() {
		out = append(out, m.GetName()+"/"+m.GetVersion()+" "+m.GetState()+" "+m.GetReason())
	}
	return out
}

func TestOIPRepository(t *testing.T) {
	s := startRepo(t)
	c := inferencepb.NewGRPCInferenceServiceClient(s.AdminConn)
	infer := func() (string, string) {
		t.Helper()
		r, err := c.ModelInfer(ctxT(t), textInfer("m"))
		if err != nil {
			t.Fatal(err)
		}
		return string(withContents(t, r)[0].GetContents().GetBytesContents()[0]), r.GetModelVersion()
	}
	if got := index(t, c, false); !reflect.DeepEqual(got, []string{"m/1 UNAVAILABLE in the store, not loaded", "m/2 READY "}) {
		t.Fatalf("index %q", got)
	}
	if got := index(t, c, true); !reflect.DeepEqual(got, []string{"m/2 READY "}) {
		t.Fatalf("ready index %q", got)
	}

	// Load with a version pins it; the call returns once it serves.
	load := func(params map[string]*inferencepb.ModelRepositoryParameter) error {
		_, err := c.RepositoryModelLoad(ctxT(t), &inferencepb.RepositoryModelLoadRequest{ModelName: "m", Parameters: params})
		return err
	}
	if err := load(map[string]*inferencepb.ModelRepositoryParameter{"version": {ParameterChoice: &inferencepb.ModelRepositoryParameter_Int64Param{Int64Param: 1}}}); err != nil {
		t.Fatal(err)
	}
	if ans, v := infer(); ans != "one" || v != "1" {
		t.Fatalf("after load of version 1: %q from version %s", ans, v)
	}
	if got := index(t, c, true); !reflect.DeepEqual(got, []string{"m/1 READY "}) {
		t.Fatalf("ready index after pin %q", got)
	}
	// Without a version it follows the latest again.
	if err := load(nil); err != nil {
		t.Fatal(err)
	}
	if ans, v := infer(); ans != "two" || v != "2" {
		t.Fatalf("after load without version: %q from version %s", ans, v)
	}
	if err := load(map[string]*inferencepb.ModelRepositoryParameter{"version": {ParameterChoice: &inferencepb.ModelRepositoryParameter_StringParam{StringParam: "1"}}}); err != nil {
		t.Fatal(err)
	}
	if ans, _ := infer(); ans != "one" {
		t.Fatalf("after load of version \"1\": %q", ans)
	}
	for _, tt := range []struct {
		params map[string]*inferencepb.ModelRepositoryParameter
		code   codes.Code
	}{
		{map[string]*inferencepb.ModelRepositoryParameter{"version": {ParameterChoice: &inferencepb.ModelRepositoryParameter_Int64Param{Int64Param: 9}}}, codes.NotFound},
		{map[string]*inferencepb.ModelRepositoryParameter{"version": {ParameterChoice: &inferencepb.ModelRepositoryParameter_StringParam{StringParam: "x"}}}, codes.InvalidArgument},
		{map[string]*inferencepb.ModelRepositoryParameter{"version": {ParameterChoice: &inferencepb.ModelRepositoryParameter_Int64Param{Int64Param: -1}}}, codes.InvalidArgument},
	} {
		if err := load(tt.params); status.Code(err) != tt.code {
			t.Errorf("load %v: %v, want %v", tt.params, err, tt.code)
		}
	}
	_, err := c.RepositoryModelUnload(ctxT(t), &inferencepb.RepositoryModelUnloadRequest{ModelName: "m"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "the model store decides what serves") {
		t.Errorf("unload: %v", err)
	}
	if _, err := c.RepositoryModelUnload(ctxT(t), &inferencepb.RepositoryModelUnloadRequest{ModelName: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unload of an unknown model: %v", err)
	}
}

func TestOIPRepositoryNeedsAdmin(t *testing.T) {
	s := startRepo(t, serving.WithAdminToken("secret"))
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
	if _, err := c.RepositoryModelLoad(ctxT(t), &inferencepb.RepositoryModelLoadRequest{ModelName: "m"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("load without token: %v", err)
	}
	if _, err := c.RepositoryModelUnload(ctxT(t), &inferencepb.RepositoryModelUnloadRequest{ModelName: "m"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("unload without token: %v", err)
	}
}

// grpcurlBin returns grpcurl's path, skipping the test when it is missing
// outside CI.
func grpcurlBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("grpcurl")
	if err != nil {
		if os.Getenv("SWAPWIRE_SKIP_GRPCURL") == "" {
			t.Fatal("grpcurl is not installed: make tools installs it, or set SWAPWIRE_SKIP_GRPCURL=1 to skip")
		}
		t.Skip("grpcurl not installed (SWAPWIRE_SKIP_GRPCURL is set)")
	}
	return bin
}

// runGrpcurl calls method through reflection and returns the output with
// all white space removed.
func runGrpcurl(t *testing.T, bin, addr, method, data string) (string, error) {
	t.Helper()
	return runGrpcurlToken(t, bin, addr, method, data, "")
}

// runGrpcurlToken is runGrpcurl sending token as a bearer token. The token
// goes through grpcurl's environment (-expand-headers), never its command
// line.
func runGrpcurlToken(t *testing.T, bin, addr, method, data, token string) (string, error) {
	t.Helper()
	args := []string{"-plaintext"}
	if data != "" {
		args = append(args, "-d", data)
	}
	cmd := exec.Command(bin, append(args, addr, method)...)
	if token != "" {
		cmd = exec.Command(bin, append(append(args, "-expand-headers", "-H", "authorization: Bearer ${SWAPWIRE_TEST_TOKEN}"), addr, method)...)
		cmd.Env = append(os.Environ(), "SWAPWIRE_TEST_TOKEN="+token)
	}
	out, err := cmd.CombinedOutput()
	return strings.Join(strings.Fields(string(out)), ""), err
}

func TestGrpcurlOIP(t *testing.T) {
	bin := grpcurlBin(t)
	s := startRepo(t)
	const svc = "inference.GRPCInferenceService/"
	for _, tt := range []struct {
		method, data string
		want         []string
	}{
		{"ServerLive", "", []string{`"live":true`}},
		{"ServerReady", "", []string{`"ready":true`}},
		{"ModelReady", `{"name": "m", "version": "2"}`, []string{`"ready":true`}},
		{"ServerMetadata", "", []string{`"name":"swapwire"`, `"version":"` + serving.Version + `"`, `"extensions":["model_repository","parameters"]`}},
		{"ModelMetadata", `{"name": "m"}`, []string{`"name":"m"`, `"versions":["2"]`, `"platform":"swapwire"`, `{"name":"scores","datatype":"FP64","shape":["-1"]}`}},
		{"ModelInfer", `{"model_name": "m", "id": "g1", "inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "contents": {"bytes_contents": ["cQ=="]}}]}`,
			// raw: "two" after its 4-byte length, and 0.5 as FP64.
			[]string{`"modelName":"m"`, `"modelVersion":"2"`, `"id":"g1"`, `"rawOutputContents":["AwAAAHR3bw==","AAAAAAAA4D8="]`}},
		{"ModelStreamInfer", `{"model_name": "m", "id": "s1", "inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "contents": {"int64_contents": [1]}}]}
{"model_name": "m", "id": "s2", "inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "contents": {"int64_contents": [1]}}]}`,
			[]string{`"id":"s1"`, `"rawOutputContents":["AwAAAHR3bw==",`, `"errorMessage":"input\"x\":shape[2]holds2elements`, `"id":"s2"`}},
		{"RepositoryIndex", "", []string{`{"name":"m","version":"1","state":"UNAVAILABLE","reason":"inthestore,notloaded"}`, `{"name":"m","version":"2","state":"READY"}`}},
		{"RepositoryModelLoad", `{"model_name": "m", "parameters": {"version": {"int64_param": 1}}}`, []string{"{}"}},
		{"ModelReady", `{"name": "m", "version": "1"}`, []string{`"ready":true`}},
	} {
		out, err := runGrpcurlToken(t, bin, s.Addr, svc+tt.method, tt.data, s.Token)
		if err != nil {
			t.Errorf("grpcurl %s: %v\n%s", tt.method, err, out)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("grpcurl %s answered %s\nwant it to contain %s", tt.method, out, w)
			}
		}
	}
	out, err := runGrpcurl(t, bin, s.Addr, svc+"RepositoryModelLoad", `{"model_name": "m"}`)
	if err == nil || !strings.Contains(out, "Code:Unauthenticated") {
		t.Errorf("grpcurl RepositoryModelLoad without a token: %v\n%s", err, out)
	}
	out, err = runGrpcurlToken(t, bin, s.Addr, svc+"RepositoryModelUnload", `{"model_name": "m"}`, s.Token)
	if err == nil || !strings.Contains(out, "Code:FailedPrecondition") || !strings.Contains(out, "themodelstoredecideswhatserves") {
		t.Errorf("grpcurl RepositoryModelUnload: %v\n%s", err, out)
	}
}

// TestOIPRepositoryLoadUnknownModel loads a model the store does not hold:
// NOT_FOUND, and no directory appears in the store (before the fix: OK, and
// a directory was created).
func TestOIPRepositoryLoadUnknownModel(t *testing.T) {
	root := t.TempDir()
	st, err := modelstore.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	s := servingtest.Start(t, func() predict.Predictor { return &fileModel{} }, st)
	c := inferencepb.NewGRPCInferenceServiceClient(s.AdminConn)
	_, err = c.RepositoryModelLoad(ctxT(t), &inferencepb.RepositoryModelLoadRequest{ModelName: "ghost"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("RepositoryModelLoad of an unknown model: %v, want NotFound", err)
	}
	if _, err := os.Stat(filepath.Join(root, "ghost")); !os.IsNotExist(err) {
		t.Errorf("the store gained a directory for the unknown model (stat: %v)", err)
	}
}
