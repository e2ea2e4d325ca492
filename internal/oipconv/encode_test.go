package oipconv

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

func names(resp *inferencepb.ModelInferResponse) []string {
	var out []string
	for _, o := range resp.GetOutputs() {
		out = append(out, o.GetName())
	}
	return out
}

// asInput turns output i of a response back into a request, to check that
// what EncodeOutputs writes in raw_output_contents DecodeInputs reads as
// the same value. It also checks that no typed contents are set, as
// Triton's protocol requires when raw contents are.
func asInput(t *testing.T, resp *inferencepb.ModelInferResponse, i int) *inferencepb.ModelInferRequest {
	t.Helper()
	o := resp.GetOutputs()[i]
	if o.GetContents() != nil {
		t.Errorf("output %q has typed contents beside raw_output_contents", o.GetName())
	}
	if len(resp.GetRawOutputContents()) != len(resp.GetOutputs()) {
		t.Fatalf("%d raw_output_contents for %d outputs", len(resp.GetRawOutputContents()), len(resp.GetOutputs()))
	}
	return &inferencepb.ModelInferRequest{
		Inputs: []*tensor{{
			Name: o.GetName(), Datatype: o.GetDatatype(), Shape: o.GetShape(), Parameters: o.GetParameters(),
		}},
		RawInputContents: [][]byte{resp.GetRawOutputContents()[i]},
	}
}

func TestEncodeLabelKinds(t *testing.T) {
	tests := []struct {
		label    predict.Value
		datatype string
		shape    []int64
	}{
		{predict.Text("cat"), TypeBytes, []int64{1}},
		{predict.Bytes([]byte{0, 0xff}), TypeBytes, []int64{1}},
		{predict.Strings("a", "b", "c"), TypeBytes, []int64{3}},
		{predict.Ints(-1, math.MaxInt64), TypeInt64, []int64{2}},
		{predict.Floats(0.5, math.Inf(-1), 1e-300), TypeFP64, []int64{3}},
	}
	for _, tt := range tests {
		resp, err := EncodeOutputs(predict.Result{Label: tt.label}, &inferencepb.ModelInferRequest{ModelName: "m", ModelVersion: "2", Id: "req-1"})
		if err != nil {
			t.Fatalf("%v: %v", tt.label.Kind(), err)
		}
		if resp.GetModelName() != "m" || resp.GetModelVersion() != "2" || resp.GetId() != "req-1" {
			t.Errorf("%v: header %q %q %q", tt.label.Kind(), resp.GetModelName(), resp.GetModelVersion(), resp.GetId())
		}
		if !reflect.DeepEqual(names(resp), []string{OutputLabel}) {
			t.Fatalf("%v: outputs %v, want [label]", tt.label.Kind(), names(resp))
		}
		o := resp.GetOutputs()[0]
		if o.GetDatatype() != tt.datatype || !reflect.DeepEqual(o.GetShape(), tt.shape) {
			t.Errorf("%v: %s %v, want %s %v", tt.label.Kind(), o.GetDatatype(), o.GetShape(), tt.datatype, tt.shape)
		}
		back, err := DecodeInputs(asInput(t, resp, 0))
		if err != nil || !sameValue(back.Value, tt.label) {
			t.Errorf("%v: decoded back as %v %v, %v", tt.label.Kind(), back.Value.Kind(), back.Value, err)
		}
	}
}

func TestEncodeDefaultAndRequestedOutputs(t *testing.T) {
	r := predict.Result{Label: predict.Text("dog"), Scores: []float64{0.25, 0.75}}
	resp, err := EncodeOutputs(r, nil)
	if err != nil || !reflect.DeepEqual(names(resp), []string{OutputLabel, OutputScores}) {
		t.Fatalf("default outputs %v, %v", names(resp), err)
	}
	s := resp.GetOutputs()[1]
	back, err := DecodeInputs(asInput(t, resp, 1))
	if s.GetDatatype() != TypeFP64 || !reflect.DeepEqual(s.GetShape(), []int64{2}) ||
		err != nil || !reflect.DeepEqual(back.Value.Floats(), []float64{0.25, 0.75}) {
		t.Errorf("scores output %v: %v, %v", s, back.Value, err)
	}
	if got, _ := EncodeOutputs(predict.Result{Label: predict.Ints(1)}, nil); !reflect.DeepEqual(names(got), []string{OutputLabel}) {
		t.Errorf("without scores: outputs %v", names(got))
	}
	if got, _ := EncodeOutputs(predict.Result{Scores: []float64{1}}, nil); !reflect.DeepEqual(names(got), []string{OutputScores}) {
		t.Errorf("without label: outputs %v", names(got))
	}

	req := &inferencepb.ModelInferRequest{Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{
		{Name: OutputScores}, {Name: OutputLabel}, {Name: OutputScores},
	}}
	resp, err = EncodeOutputs(predict.Result{}, req)
	if err != nil || !reflect.DeepEqual(names(resp), []string{OutputScores, OutputLabel}) {
		t.Fatalf("requested outputs %v, %v", names(resp), err)
	}
	if sh := resp.GetOutputs()[0].GetShape(); !reflect.DeepEqual(sh, []int64{0}) {
		t.Errorf("empty scores shape %v", sh)
	}
	if l := resp.GetOutputs()[1]; l.GetDatatype() != TypeBytes || !reflect.DeepEqual(l.GetShape(), []int64{0}) {
		t.Errorf("empty label %s %v", l.GetDatatype(), l.GetShape())
	}

	req.Outputs = append(req.Outputs, &inferencepb.ModelInferRequest_InferRequestedOutputTensor{Name: "probabilities"})
	_, err = EncodeOutputs(r, req)
	if predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `unknown output "probabilities"`) {
		t.Errorf("unknown output: %v", err)
	}
}

func TestEncodeOptionParameters(t *testing.T) {
	r := predict.Result{Label: predict.Text("x"), Option: predict.Option{
		"b": true, "s": "v", "f": 1.5, "i": 7, "i64": int64(-8), "nil": nil, "nested": map[string]any{"k": []any{1.0}},
	}}
	resp, err := EncodeOutputs(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetParameters()
	if !p["b"].GetBoolParam() || p["s"].GetStringParam() != "v" || p["f"].GetDoubleParam() != 1.5 ||
		p["i"].GetInt64Param() != 7 || p["i64"].GetInt64Param() != -8 ||
		p["nil"].GetStringParam() != "null" || p["nested"].GetStringParam() != `{"k":[1]}` {
		t.Errorf("parameters %v", p)
	}
	_, err = EncodeOutputs(predict.Result{Option: predict.Option{"bad": []any{math.NaN()}}}, nil)
	if predict.CodeOf(err) != codes.Internal {
		t.Errorf("NaN in nested option: %v, want Internal", err)
	}
}

func TestEncodeClassCountRefused(t *testing.T) {
	req := &inferencepb.ModelInferRequest{Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{
		Name: OutputScores,
		Parameters: map[string]*inferencepb.InferParameter{
			ParamClassification: {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: 3}},
		},
	}}}
	_, err := EncodeOutputs(predict.Result{Scores: []float64{1}}, req)
	if predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "class_count") {
		t.Errorf("class_count: %v, want InvalidArgument naming class_count", err)
	}
}

func TestOutputsBatch(t *testing.T) {
	results := []predict.Result{
		{Label: predict.Ints(7), Scores: []float64{0.1, 0.9}},
		{Label: predict.Ints(3), Scores: []float64{0.8, 0.2}},
		{Label: predict.Ints(5), Scores: []float64{0.5, 0.5}},
	}
	outs, err := Outputs(results, 3, nil, predict.Signature{Outputs: []predict.TensorSpec{{Name: OutputScores, Datatype: TypeFP32}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Datatype != TypeInt64 || !reflect.DeepEqual(outs[0].Shape, []int64{3}) ||
		outs[1].Datatype != TypeFP32 || !reflect.DeepEqual(outs[1].Shape, []int64{3, 2}) {
		t.Fatalf("outputs %+v", outs)
	}
	if want := le(8, 7, 3, 5); string(outs[0].Raw) != string(want) {
		t.Errorf("label raw %v, want %v", outs[0].Raw, want)
	}
	if want := f32(0.1, 0.9, 0.8, 0.2, 0.5, 0.5); string(outs[1].Raw) != string(want) {
		t.Errorf("scores raw %v, want %v", outs[1].Raw, want)
	}
	// Text labels batch as BYTES [N]; items that disagree are Internal.
	outs, err = Outputs([]predict.Result{{Label: predict.Text("a")}, {Label: predict.Text("bc")}}, 2, nil, predict.Signature{})
	if err != nil || !reflect.DeepEqual(outs[0].Shape, []int64{2}) || string(outs[0].Raw) != string(lp("a", "bc")) {
		t.Errorf("text batch %+v, %v", outs, err)
	}
	_, err = Outputs([]predict.Result{{Label: predict.Ints(1)}, {Label: predict.Ints(1, 2)}}, 2, nil, predict.Signature{})
	if predict.CodeOf(err) != codes.Internal {
		t.Errorf("ragged labels: %v, want Internal", err)
	}
	_, err = Outputs([]predict.Result{{Label: predict.Ints(300)}}, 0, nil, predict.Signature{Outputs: []predict.TensorSpec{{Name: OutputLabel, Datatype: TypeUint8}}})
	if predict.CodeOf(err) != codes.Internal || !strings.Contains(err.Error(), "does not fit the declared UINT8") {
		t.Errorf("label beyond its declared datatype: %v", err)
	}
}

func TestModelInputs(t *testing.T) {
	pixels := make([]int64, 3*4)
	for i := range pixels {
		pixels[i] = int64(i)
	}
	req := &inferencepb.ModelInferRequest{Inputs: []*tensor{
		{Name: "x", Datatype: TypeInt64, Shape: []int64{3, 4}, Contents: &inferencepb.InferTensorContents{Int64Contents: pixels}},
	}}
	dec, err := DecodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	batched := predict.Signature{Inputs: []predict.TensorSpec{{Name: "x", Datatype: TypeInt64, Shape: []int64{4}}}, MaxBatchSize: 8}
	vals, n, err := ModelInputs(dec, batched, true)
	if err != nil || n != 3 || len(vals) != 3 || !reflect.DeepEqual(vals[2].Ints(), []int64{8, 9, 10, 11}) {
		t.Fatalf("batch: %v %d, %v", vals, n, err)
	}
	// Unbatched, or without a signature: one value of every element.
	vals, n, err = ModelInputs(dec, predict.Signature{}, false)
	if err != nil || n != 0 || len(vals) != 1 || vals[0].Len() != 12 {
		t.Fatalf("no signature: %v %d, %v", vals, n, err)
	}
	// Shape and batch size are checked.
	batched.Inputs[0].Shape = []int64{5}
	if _, _, err := ModelInputs(dec, batched, true); predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "has shape [3 4]; the model takes [N 5]") {
		t.Errorf("wrong row shape: %v", err)
	}
	batched.Inputs[0].Shape, batched.MaxBatchSize = []int64{-1}, 2
	if _, _, err := ModelInputs(dec, batched, true); predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "batch size 3") {
		t.Errorf("batch too big: %v", err)
	}

	// Two named inputs become tensors in the signature's order.
	two := &inferencepb.ModelInferRequest{Inputs: []*tensor{
		{Name: "B", Datatype: TypeFP32, Shape: []int64{2}, Contents: &inferencepb.InferTensorContents{Fp32Contents: []float32{1, 2}}},
		{Name: "A", Datatype: TypeInt32, Shape: []int64{1, 2}, Contents: &inferencepb.InferTensorContents{IntContents: []int32{3, 4}}},
	}}
	dec, err = DecodeRequest(two)
	if err != nil {
		t.Fatal(err)
	}
	sig := predict.Signature{Inputs: []predict.TensorSpec{{Name: "A", Shape: []int64{1, 2}}, {Name: "B", Shape: []int64{-1}}}}
	vals, _, err = ModelInputs(dec, sig, true)
	if err != nil || vals[0].Kind() != predict.KindTensors {
		t.Fatalf("two inputs: %v, %v", vals, err)
	}
	ts := vals[0].Tensors()
	if len(ts) != 2 || ts[0].Name != "A" || !reflect.DeepEqual(ts[0].Value.Ints(), []int64{3, 4}) ||
		!reflect.DeepEqual(ts[0].Shape, []int64{1, 2}) || ts[1].Name != "B" || !reflect.DeepEqual(ts[1].Value.Floats(), []float64{1, 2}) {
		t.Errorf("tensors %+v", ts)
	}
	sig.Inputs[1].Name = "C"
	if _, _, err := ModelInputs(dec, sig, true); predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `unknown input "B"`) {
		t.Errorf("unknown input name: %v", err)
	}
}
