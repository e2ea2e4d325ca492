package oipconv

import (
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// Names of the outputs [EncodeOutputs] produces.
const (
	OutputLabel  = "label"
	OutputScores = "scores"
)

// EncodeOutputs builds the response to req from a model's result.
//
// The "label" output carries the label: text as BYTES of shape [1], strings
// as BYTES [n], bytes as BYTES [1] with the parameter content_type =
// "bytes", ints as INT64 [n], floats as FP64 [n], and no label as BYTES [0].
// The "scores" output carries the scores as FP64 [n].
//
// Without requested outputs the response has "label" unless the label is
// empty (KindNone) and "scores" unless there are none. When req names
// outputs, the response has exactly those, in that order, once each, even
// when empty; an unknown name fails with InvalidArgument.
//
// The response echoes the request's model name, version and id (the caller
// may set the version actually served). The result's option becomes
// response parameters: bool, string and float64 values as such, int and
// int64 values as int64, anything else as its JSON text; a value JSON
// cannot carry fails with Internal.
func EncodeOutputs(result predict.Result, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	resp := &inferencepb.ModelInferResponse{
		ModelName:    req.GetModelName(),
		ModelVersion: req.GetModelVersion(),
		Id:           req.GetId(),
	}
	var names []string
	if len(req.GetOutputs()) == 0 {
		if !result.Label.IsZero() {
			names = append(names, OutputLabel)
		}
		if len(result.Scores) > 0 {
			names = append(names, OutputScores)
		}
	} else {
		for _, o := range req.GetOutputs() {
			name := o.GetName()
			if name != OutputLabel && name != OutputScores {
				return nil, predict.InvalidArgument("unknown output %q; the outputs are %q and %q", name, OutputLabel, OutputScores)
			}
			seen := false
			for _, n := range names {
				seen = seen || n == name
			}
			if !seen {
				names = append(names, name)
			}
		}
	}
	for _, name := range names {
		if name == OutputLabel {
			resp.Outputs = append(resp.Outputs, labelTensor(result.Label))
			continue
		}
		resp.Outputs = append(resp.Outputs, &inferencepb.ModelInferResponse_InferOutputTensor{
			Name:     OutputScores,
			Datatype: TypeFP64,
			Shape:    []int64{int64(len(result.Scores))},
			Contents: &inferencepb.InferTensorContents{Fp64Contents: result.Scores},
		})
	}
	params, err := optionParameters(result.Option)
	if err != nil {
		return nil, err
	}
	resp.Parameters = params
	return resp, nil
}

func labelTensor(v predict.Value) *inferencepb.ModelInferResponse_InferOutputTensor {
	t := &inferencepb.ModelInferResponse_InferOutputTensor{Name: OutputLabel, Contents: &inferencepb.InferTensorContents{}}
	switch v.Kind() {
	case predict.KindText:
		t.Datatype, t.Shape = TypeBytes, []int64{1}
		t.Contents.BytesContents = [][]byte{[]byte(v.Text())}
	case predict.KindBytes:
		t.Datatype, t.Shape = TypeBytes, []int64{1}
		t.Contents.BytesContents = [][]byte{v.Bytes()}
		t.Parameters = map[string]*inferencepb.InferParameter{
			ParamContentType: {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: ContentTypeBytes}},
		}
	case predict.KindStrings:
		t.Datatype, t.Shape = TypeBytes, []int64{int64(len(v.Strings()))}
		t.Contents.BytesContents = make([][]byte, len(v.Strings()))
		for i, s := range v.Strings() {
			t.Contents.BytesContents[i] = []byte(s)
		}
	case predict.KindInts:
		t.Datatype, t.Shape = TypeInt64, []int64{int64(len(v.Ints()))}
		t.Contents.Int64Contents = v.Ints()
	case predict.KindFloats:
		t.Datatype, t.Shape = TypeFP64, []int64{int64(len(v.Floats()))}
		t.Contents.Fp64Contents = v.Floats()
	default:
		t.Datatype, t.Shape = TypeBytes, []int64{0}
	}
	return t
}
