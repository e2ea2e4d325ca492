package oipconv

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

type tensor = inferencepb.ModelInferRequest_InferInputTensor

func typedReq(dt string, shape []int64, c *inferencepb.InferTensorContents) *inferencepb.ModelInferRequest {
	return &inferencepb.ModelInferRequest{
		ModelName: "m",
		Inputs:    []*tensor{{Name: "in", Datatype: dt, Shape: shape, Contents: c}},
	}
}

func rawReq(dt string, shape []int64, raw []byte) *inferencepb.ModelInferRequest {
	return &inferencepb.ModelInferRequest{
		ModelName:        "m",
		Inputs:           []*tensor{{Name: "in", Datatype: dt, Shape: shape}},
		RawInputContents: [][]byte{raw},
	}
}

// le encodes values little-endian, each in size bytes.
func le(size int, vals ...uint64) []byte {
	var b []byte
	for _, v := range vals {
		switch size {
		case 1:
			b = append(b, byte(v))
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case 8:
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	return b
}

// lp encodes BYTES elements with their 4-byte little-endian lengths.
func lp(elems ...string) []byte {
	var b []byte
	for _, e := range elems {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func neg(v int64) uint64 { return uint64(v) }

func f32(vals ...float32) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func f64(vals ...float64) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// TestDecodeEveryDatatype decodes each supported datatype from typed
// contents and from raw contents and checks both give the expected value.
func TestDecodeEveryDatatype(t *testing.T) {
	tests := []struct {
		dt    string
		shape []int64
		typed *inferencepb.InferTensorContents
		raw   []byte
		want  predict.Value
	}{
		{TypeInt8, []int64{3}, &inferencepb.InferTensorContents{IntContents: []int32{-128, 0, 127}},
			le(1, neg(-128), 0, 127), predict.Ints(-128, 0, 127)},
		{TypeInt16, []int64{1, 3}, &inferencepb.InferTensorContents{IntContents: []int32{-32768, 5, 32767}},
			le(2, neg(-32768), 5, 32767), predict.Ints(-32768, 5, 32767)},
		{TypeInt32, []int64{2, 2}, &inferencepb.InferTensorContents{IntContents: []int32{math.MinInt32, -1, 0, math.MaxInt32}},
			le(4, neg(math.MinInt32), neg(-1), 0, math.MaxInt32), predict.Ints(math.MinInt32, -1, 0, math.MaxInt32)},
		{TypeInt64, []int64{3}, &inferencepb.InferTensorContents{Int64Contents: []int64{math.MinInt64, 42, math.MaxInt64}},
			le(8, neg(math.MinInt64), 42, math.MaxInt64), predict.Ints(math.MinInt64, 42, math.MaxInt64)},
		{TypeUint8, []int64{2}, &inferencepb.InferTensorContents{UintContents: []uint32{0, 255}},
			le(1, 0, 255), predict.Ints(0, 255)},
		{TypeUint16, []int64{2}, &inferencepb.InferTensorContents{UintContents: []uint32{1, 65535}},
			le(2, 1, 65535), predict.Ints(1, 65535)},
		{TypeUint32, []int64{2}, &inferencepb.InferTensorContents{UintContents: []uint32{7, math.MaxUint32}},
			le(4, 7, math.MaxUint32), predict.Ints(7, math.MaxUint32)},
		{TypeUint64, []int64{2}, &inferencepb.InferTensorContents{Uint64Contents: []uint64{0, math.MaxInt64}},
			le(8, 0, math.MaxInt64), predict.Ints(0, math.MaxInt64)},
		{TypeFP32, []int64{3}, &inferencepb.InferTensorContents{Fp32Contents: []float32{0.5, -1.25, math.MaxFloat32}},
			f32(0.5, -1.25, math.MaxFloat32), predict.Floats(0.5, -1.25, math.MaxFloat32)},
		{TypeFP64, []int64{2, 1}, &inferencepb.InferTensorContents{Fp64Contents: []float64{0.1, -1e300}},
			f64(0.1, -1e300), predict.Floats(0.1, -1e300)},
		{TypeBytes, []int64{1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("héllo")}},
			lp("héllo"), predict.Text("héllo")},
		{TypeBytes, []int64{1, 1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{{}}},
			lp(""), predict.Text("")},
		{TypeBytes, []int64{3}, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), {}, []byte("ccc")}},
			lp("a", "", "ccc"), predict.Strings("a", "", "ccc")},
		{TypeBytes, []int64{0}, &inferencepb.InferTensorContents{},
			nil, predict.Strings([]string{}...)},
		{TypeInt64, []int64{2, 0, 5}, nil, []byte{}, predict.Ints([]int64{}...)},
		{TypeFP32, []int64{}, &inferencepb.InferTensorContents{Fp32Contents: []float32{3}}, f32(3), predict.Floats(3)},
	}
	for _, tt := range tests {
		for _, mode := range []string{"typed", "raw"} {
			req := typedReq(tt.dt, tt.shape, tt.typed)
			if mode == "raw" {
				req = rawReq(tt.dt, tt.shape, tt.raw)
			}
			got, err := DecodeInputs(req)
			if err != nil {
				t.Errorf("%s %s %v: %v", mode, tt.dt, tt.shape, err)
				continue
			}
			if got.Name != "in" || got.Datatype != tt.dt || !reflect.DeepEqual(got.Shape, tt.shape) {
				t.Errorf("%s %s: input %q %q %v", mode, tt.dt, got.Name, got.Datatype, got.Shape)
			}
			if !sameValue(got.Value, tt.want) {
				t.Errorf("%s %s %v: value %v %v, want %v %v", mode, tt.dt, tt.shape,
					got.Value.Kind(), got.Value, tt.want.Kind(), tt.want)
			}
		}
	}
}

// sameValue compares values treating nil and empty slices alike and
// comparing floats bit for bit.
func sameValue(a, b predict.Value) bool {
	if a.Kind() != b.Kind() || a.Len() != b.Len() {
		return false
	}
	switch a.Kind() {
	case predict.KindText:
		return a.Text() == b.Text()
	case predict.KindBytes:
		return string(a.Bytes()) == string(b.Bytes())
	case predict.KindInts:
		for i := range a.Ints() {
			if a.Ints()[i] != b.Ints()[i] {
				return false
			}
		}
	case predict.KindFloats:
		for i := range a.Floats() {
			if math.Float64bits(a.Floats()[i]) != math.Float64bits(b.Floats()[i]) {
				return false
			}
		}
	case predict.KindStrings:
		for i := range a.Strings() {
			if a.Strings()[i] != b.Strings()[i] {
				return false
			}
		}
	}
	return true
}

func bytesParam(s string) map[string]*inferencepb.InferParameter {
	return map[string]*inferencepb.InferParameter{
		ParamContentType: {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: s}},
	}
}

func TestDecodeRawBytesContentType(t *testing.T) {
	blob := []byte{0xff, 0x00, 0xfe}
	// On the tensor, typed.
	req := typedReq(TypeBytes, []int64{1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{blob}})
	req.Inputs[0].Parameters = bytesParam(ContentTypeBytes)
	got, err := DecodeInputs(req)
	if err != nil || got.Value.Kind() != predict.KindBytes || string(got.Value.Bytes()) != string(blob) {
		t.Fatalf("tensor content_type: %v %v, %v", got.Value.Kind(), got.Value.Bytes(), err)
	}
	// On the request, raw.
	req = rawReq(TypeBytes, []int64{1}, lp(string(blob)))
	req.Parameters = bytesParam(ContentTypeBytes)
	got, err = DecodeInputs(req)
	if err != nil || got.Value.Kind() != predict.KindBytes || string(got.Value.Bytes()) != string(blob) {
		t.Fatalf("request content_type: %v %v, %v", got.Value.Kind(), got.Value.Bytes(), err)
	}
	if got.Option[ParamContentType] != ContentTypeBytes {
		t.Errorf("request parameters not in option: %v", got.Option)
	}
	// The tensor's own content_type wins over the request's.
	req.Inputs[0].Parameters = bytesParam("str")
	req.RawInputContents = [][]byte{lp("plain")}
	got, err = DecodeInputs(req)
	if err != nil || got.Value.Kind() != predict.KindText || got.Value.Text() != "plain" {
		t.Fatalf("tensor str over request bytes: %v %v, %v", got.Value.Kind(), got.Value, err)
	}
	// Bytes need exactly one element.
	req = typedReq(TypeBytes, []int64{2}, &inferencepb.InferTensorContents{BytesContents: [][]byte{{1}, {2}}})
	req.Inputs[0].Parameters = bytesParam(ContentTypeBytes)
	expectInvalid(t, req, `content_type "bytes" needs exactly one element, got 2`)
	// Without it, invalid UTF-8 is refused with a hint.
	expectInvalid(t, typedReq(TypeBytes, []int64{1}, &inferencepb.InferTensorContents{BytesContents: [][]byte{blob}}),
		`BYTES element 0 is not valid UTF-8; set parameter content_type="bytes"`)
}

func expectInvalid(t *testing.T, req *inferencepb.ModelInferRequest, msg string) {
	t.Helper()
	got, err := DecodeInputs(req)
	if err == nil {
		t.Errorf("DecodeInputs = %v, want error containing %q", got.Value, msg)
		return
	}
	if c := predict.CodeOf(err); c != codes.InvalidArgument {
		t.Errorf("code %v, want InvalidArgument (%v)", c, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}

func TestDecodeErrors(t *testing.T) {
	ints := func(v ...int32) *inferencepb.InferTensorContents {
		return &inferencepb.InferTensorContents{IntContents: v}
	}
	twoInputs := typedReq(TypeInt32, []int64{1}, ints(1))
	twoInputs.Inputs = append(twoInputs.Inputs, twoInputs.Inputs[0])
	both := rawReq(TypeInt32, []int64{1}, le(4, 1))
	both.Inputs[0].Contents = ints(1)
	twoRaw := rawReq(TypeInt32, []int64{1}, le(4, 1))
	twoRaw.RawInputContents = append(twoRaw.RawInputContents, le(4, 2))

	tests := []struct {
		name string
		req  *inferencepb.ModelInferRequest
		msg  string
	}{
		{"nil", nil, "no inference request"},
		{"no input", &inferencepb.ModelInferRequest{}, "request has 0 inputs, this model takes exactly one"},
		{"two inputs", twoInputs, "request has 2 inputs"},
		{"unknown datatype", typedReq("INT128", []int64{1}, ints(1)), `unknown datatype "INT128"`},
		{"bool", typedReq(TypeBool, []int64{1}, &inferencepb.InferTensorContents{BoolContents: []bool{true}}), "datatype BOOL, which Swapwire does not support"},
		{"fp16", rawReq(TypeFP16, []int64{1}, []byte{0, 0}), "datatype FP16"},
		{"bf16", rawReq(TypeBF16, []int64{1}, []byte{0, 0}), "datatype BF16"},
		{"negative dim", typedReq(TypeInt32, []int64{2, -1}, ints(1, 2)), "negative dimension -1 at index 1"},
		{"huge shape", typedReq(TypeInt32, []int64{1 << 40, 1 << 40}, ints(1)), "more elements than can be counted"},
		{"shape too big", typedReq(TypeInt32, []int64{2, 3}, ints(1, 2, 3, 4, 5)), "shape [2 3] holds 6 elements, int_contents holds 5"},
		{"shape too small", typedReq(TypeInt32, []int64{1}, ints(1, 2)), "shape [1] holds 1 elements, int_contents holds 2"},
		{"scalar with two", typedReq(TypeInt32, nil, ints(1, 2)), "shape [] holds 1 elements"},
		{"nil contents", typedReq(TypeFP64, []int64{2}, nil), "fp64_contents holds 0"},
		{"wrong field", typedReq(TypeInt64, []int64{1}, ints(1)), "datatype INT64 is carried in int64_contents, but int_contents is set"},
		{"extra field", typedReq(TypeFP32, []int64{1}, &inferencepb.InferTensorContents{Fp32Contents: []float32{1}, Fp64Contents: []float64{1}}), "but fp64_contents is set"},
		{"int8 overflow", typedReq(TypeInt8, []int64{2}, ints(1, 128)), "element 1 (128) is out of range for INT8"},
		{"int8 underflow", typedReq(TypeInt8, []int64{1}, ints(-129)), "element 0 (-129) is out of range for INT8"},
		{"int16 overflow", typedReq(TypeInt16, []int64{1}, ints(40000)), "out of range for INT16"},
		{"uint8 overflow", typedReq(TypeUint8, []int64{1}, &inferencepb.InferTensorContents{UintContents: []uint32{256}}), "element 0 (256) is out of range for UINT8"},
		{"uint16 overflow", typedReq(TypeUint16, []int64{1}, &inferencepb.InferTensorContents{UintContents: []uint32{65536}}), "out of range for UINT16"},
		{"uint64 typed overflow", typedReq(TypeUint64, []int64{1}, &inferencepb.InferTensorContents{Uint64Contents: []uint64{math.MaxUint64}}), "element 0 (18446744073709551615) does not fit in int64"},
		{"uint64 raw overflow", rawReq(TypeUint64, []int64{2}, le(8, 1, 1<<63)), "element 1 (9223372036854775808) does not fit in int64"},
		{"raw and typed", both, `input "in" has both int_contents and raw_input_contents`},
		{"two raw", twoRaw, "2 raw_input_contents for 1 input"},
		{"raw short", rawReq(TypeInt32, []int64{2}, le(4, 1)), "raw contents are 4 bytes, but shape [2] of INT32 needs 2 elements of 4 bytes"},
		{"raw long", rawReq(TypeFP64, []int64{1}, f64(1, 2)), "raw contents are 16 bytes"},
		{"raw ragged", rawReq(TypeInt16, []int64{2}, []byte{1, 2, 3}), "raw contents are 3 bytes"},
		{"raw huge shape", rawReq(TypeInt64, []int64{1 << 61}, le(8, 1)), "needs 2305843009213693952 elements"},
		{"raw bytes truncated length", rawReq(TypeBytes, []int64{2}, append(lp("a"), 1, 0)), "end inside the length of element 1"},
		{"raw bytes truncated element", rawReq(TypeBytes, []int64{1}, lp("abc")[:6]), "element 0 claims 3 bytes, only 2 remain"},
		{"raw bytes too many", rawReq(TypeBytes, []int64{1}, lp("a", "b")), "more than the 1 elements"},
		{"raw bytes too few", rawReq(TypeBytes, []int64{3}, lp("a", "b")), "shape [3] holds 3 elements, raw contents holds 2"},
		{"typed bytes count", typedReq(TypeBytes, []int64{2}, &inferencepb.InferTensorContents{BytesContents: [][]byte{{'a'}}}), "bytes_contents holds 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectInvalid(t, tt.req, tt.msg) })
	}
}

func TestDecodeParameters(t *testing.T) {
	req := typedReq(TypeInt64, []int64{1}, &inferencepb.InferTensorContents{Int64Contents: []int64{1}})
	req.Parameters = map[string]*inferencepb.InferParameter{
		"b": {ParameterChoice: &inferencepb.InferParameter_BoolParam{BoolParam: true}},
		"i": {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: -3}},
		"s": {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: "x"}},
		"d": {ParameterChoice: &inferencepb.InferParameter_DoubleParam{DoubleParam: 0.5}},
		"u": {ParameterChoice: &inferencepb.InferParameter_Uint64Param{Uint64Param: 9}},
		"n": {},
	}
	got, err := DecodeInputs(req)
	want := predict.Option{"b": true, "i": -3.0, "s": "x", "d": 0.5, "u": 9.0, "n": nil}
	if err != nil || !reflect.DeepEqual(got.Option, want) {
		t.Fatalf("option = %#v, %v; want %#v", got.Option, err, want)
	}
	req.Parameters = nil
	if got, err := DecodeInputs(req); err != nil || got.Option != nil {
		t.Fatalf("option without parameters = %#v, %v; want nil", got.Option, err)
	}
}
