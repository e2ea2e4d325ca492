package rest

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

func TestDecodeRequestTypes(t *testing.T) {
	for _, tt := range []struct {
		body string
		want *inferencepb.InferTensorContents
	}{
		{`{"inputs":[{"name":"x","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,-4]]}]}`, &inferencepb.InferTensorContents{Int64Contents: []int64{1, 2, 3, -4}}},
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"INT8","data":[-1,2]}]}`, &inferencepb.InferTensorContents{IntContents: []int32{-1, 2}}},
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"UINT32","data":[4294967295,0]}]}`, &inferencepb.InferTensorContents{UintContents: []uint32{4294967295, 0}}},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"UINT64","data":[18446744073709551615]}]}`, &inferencepb.InferTensorContents{Uint64Contents: []uint64{math.MaxUint64}}},
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[0.5,2]}]}`, &inferencepb.InferTensorContents{Fp32Contents: []float32{0.5, 2}}},
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[1e300,-0.25]}]}`, &inferencepb.InferTensorContents{Fp64Contents: []float64{1e300, -0.25}}},
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"BOOL","data":[true,false]}]}`, &inferencepb.InferTensorContents{BoolContents: []bool{true, false}}},
		{`{"inputs":[{"name":"x","shape":[2],"datatype":"BYTES","data":["a","ü"]}]}`, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), []byte("ü")}}},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1]}]}`, nil},
	} {
		req, err := DecodeRequest([]byte(tt.body), "m", "2")
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if req.GetModelName() != "m" || req.GetModelVersion() != "2" || len(req.GetInputs()) != 1 {
			t.Fatalf("%s: got %v", tt.body, req)
		}
		if got := req.GetInputs()[0].GetContents(); !proto.Equal(got, tt.want) {
			t.Errorf("%s: contents %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestDecodeRequestParameters(t *testing.T) {
	req, err := DecodeRequest([]byte(`{"id":"r1","parameters":{"b":true,"i":3,"f":0.5,"s":"x"},"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1],"parameters":{"content_type":"str"}}],"outputs":[{"name":"label"}]}`), "m", "")
	if err != nil {
		t.Fatal(err)
	}
	p := req.GetParameters()
	if req.GetId() != "r1" || !p["b"].GetBoolParam() || p["i"].GetInt64Param() != 3 || p["f"].GetDoubleParam() != 0.5 || p["s"].GetStringParam() != "x" {
		t.Errorf("parameters %v", p)
	}
	if req.GetInputs()[0].GetParameters()["content_type"].GetStringParam() != "str" || req.GetOutputs()[0].GetName() != "label" {
		t.Errorf("request %v", req)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`not json`, "not a KServe v2 inference request"},
		{`{"inputs":[]} {}`, "data after the JSON object"},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[2147483648]}]}`, `input 0 ("x"): element 0 (2147483648) is not a INT32 element`},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1.5]}]}`, "is not a INT64 element"},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[-1]}]}`, "is not a UINT8 element"},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":[1]}]}`, "is not a BYTES element"},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"BOOL","data":["yes"]}]}`, "is not a BOOL element"},
		{`{"parameters":{"p":[1]},"inputs":[]}`, `parameter "p" must be a bool, a number or a string`},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":` + strings.Repeat("[", 70) + "1" + strings.Repeat("]", 70) + `}]}`, "nested deeper than 64 levels"},
	} {
		_, err := DecodeRequest([]byte(tt.body), "m", "")
		if err == nil || !strings.Contains(err.Error(), tt.want) || predict.CodeOf(err) != codes.InvalidArgument {
			t.Errorf("%.60s: error %v (%v), want InvalidArgument containing %q", tt.body, err, predict.CodeOf(err), tt.want)
		}
	}
}

func TestEncodeResponseRaw(t *testing.T) {
	le := binary.LittleEndian
	var fp64, bs []byte
	fp64 = le.AppendUint64(fp64, math.Float64bits(0.25))
	fp64 = le.AppendUint64(fp64, math.Float64bits(-2))
	bs = le.AppendUint32(bs, 2)
	bs = append(bs, "hi"...)
	bs = le.AppendUint32(bs, 0)
	resp := &inferencepb.ModelInferResponse{
		ModelName: "m", ModelVersion: "3", Id: "x",
		Outputs: []*inferencepb.ModelInferResponse_InferOutputTensor{
			{Name: "scores", Datatype: "FP64", Shape: []int64{2}},
			{Name: "label", Datatype: "BYTES", Shape: []int64{2}},
		},
		RawOutputContents: [][]byte{fp64, bs},
	}
	out, err := EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	want := `{"model_name":"m","model_version":"3","id":"x","outputs":[{"name":"scores","shape":[2],"datatype":"FP64","data":[0.25,-2]},{"name":"label","shape":[2],"datatype":"BYTES","data":["hi",""]}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	resp.RawOutputContents = [][]byte{fp64[:5], bs}
	if _, err := EncodeResponse(resp); err == nil {
		t.Error("truncated raw output: no error")
	}
}

func TestHTTPStatus(t *testing.T) {
	for c, want := range map[codes.Code]int{
		codes.OK: 200, codes.InvalidArgument: 400, codes.FailedPrecondition: 400, codes.NotFound: 404,
		codes.Unauthenticated: 401, codes.PermissionDenied: 403, codes.ResourceExhausted: 429,
		codes.Unavailable: 503, codes.DeadlineExceeded: 504, codes.Unimplemented: 501, codes.Internal: 500, codes.Unknown: 500,
	} {
		if got := HTTPStatus(c); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", c, got, want)
		}
	}
}

// FuzzDecodeRequest feeds arbitrary bodies to the JSON decoder: it must
// never panic, every refusal is InvalidArgument, and every request it
// accepts marshals.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"x","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]}]}`))
	f.Add([]byte(`{"id":"a","parameters":{"p":1.5},"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["hi"]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[[[[0.5]]]]}]}`))
	f.Add([]byte(`{"inputs":[{"datatype":"BOOL","data":[true,null,false]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body, "m", "")
		if err != nil {
			if predict.CodeOf(err) != codes.InvalidArgument {
				t.Fatalf("error %v has code %v", err, predict.CodeOf(err))
			}
			return
		}
		if _, err := proto.Marshal(req); err != nil {
			t.Fatalf("decoded request does not marshal: %v", err)
		}
	})
}
