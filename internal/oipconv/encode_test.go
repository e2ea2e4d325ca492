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

// asInput turns an output tensor back into a request, to check that what
// EncodeOutputs writes DecodeInputs reads as the same value.
func asInput(o *inferencepb.ModelInferResponse_InferOutputTensor) *inferencepb.ModelInferRequest {
	return &inferencepb.ModelInferRequest{Inputs: []*tensor{{
		Name: o.GetName(), Datatype: o.GetDatatype(), Shape: o.GetShape(),
		Parameters: o.GetParameters(), Contents: o.GetContents(),
	}}}
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
		back, err := DecodeInputs(asInput(o))
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
	if s.GetDatatype() != TypeFP64 || !reflect.DeepEqual(s.GetShape(), []int64{2}) ||
		!reflect.DeepEqual(s.GetContents().GetFp64Contents(), []float64{0.25, 0.75}) {
		t.Errorf("scores output %v", s)
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
