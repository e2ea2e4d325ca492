package valueconv

import (
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// RequestToProto converts a request to the worker protocol's
// PredictRequest: a [predict.KindTensors] input becomes its inputs (named
// tensors), any other its input. It fails, with code InvalidArgument, when
// the input is the zero Value, when a tensors input has no tensors, a
// tensor without a name or value, a tensor of tensors, or two tensors of
// one name, or when the option cannot be converted (see [OptionToProto]).
func RequestToProto(r predict.Request) (*workerv1.PredictRequest, error) {
	opt, err := OptionToProto(r.Option)
	if err != nil {
		return nil, predict.Errorf(codes.InvalidArgument, "%w", err)
	}
	if r.Input.Kind() == predict.KindTensors {
		ts, err := tensorsToProto(r.Input.Tensors())
		if err != nil {
			return nil, err
		}
		return &workerv1.PredictRequest{Inputs: ts, Option: opt}, nil
	}
	in := ValueToProto(r.Input)
	if in == nil {
		return nil, predict.Errorf(codes.InvalidArgument, "%w: the request has no input value", ErrMissing)
	}
	return &workerv1.PredictRequest{Input: in, Option: opt}, nil
}

func tensorsToProto(ts []predict.Tensor) ([]*workerv1.Tensor, error) {
	if len(ts) == 0 {
		return nil, predict.Errorf(codes.InvalidArgument, "%w: the request has named inputs but no tensor", ErrMissing)
	}
	out := make([]*workerv1.Tensor, len(ts))
	for i, t := range ts {
		if err := checkTensorName(ts[:i], i, t.Name, func(t predict.Tensor) string { return t.Name }); err != nil {
			return nil, err
		}
		if t.Value.Kind() == predict.KindTensors {
			return nil, predict.Errorf(codes.InvalidArgument, "input %q holds named tensors itself; a tensor holds one value", t.Name)
		}
		v := ValueToProto(t.Value)
		if v == nil {
			return nil, predict.Errorf(codes.InvalidArgument, "%w: input %q has no value", ErrMissing, t.Name)
		}
		out[i] = &workerv1.Tensor{Name: t.Name, Shape: t.Shape, Value: v}
	}
	return out, nil
}

// checkTensorName fails when the tensor at index i has no name or the name
// of one of before.
func checkTensorName[T any](before []T, i int, name string, nameOf func(T) string) error {
	if name == "" {
		return predict.Errorf(codes.InvalidArgument, "named input %d has no name", i)
	}
	for _, b := range before {
		if nameOf(b) == name {
			return predict.Errorf(codes.InvalidArgument, "input %q is given twice", name)
		}
	}
	return nil
}

// RequestFromProto converts the worker protocol's PredictRequest: inputs
// (named tensors) become a [predict.KindTensors] value, else input is
// converted by [ValueFromProto]; a missing input gives its error. A request
// with both input and inputs, or a tensor without a name or value, or two
// tensors of one name, fails with code InvalidArgument. The shape and
// element slices are aliased.
func RequestFromProto(p *workerv1.PredictRequest) (predict.Request, error) {
	ps := p.GetInputs()
	if len(ps) == 0 {
		in, err := ValueFromProto(p.GetInput())
		if err != nil {
			return predict.Request{}, err
		}
		return predict.Request{Input: in, Option: OptionFromProto(p.GetOption())}, nil
	}
	if p.GetInput() != nil {
		return predict.Request{}, predict.Errorf(codes.InvalidArgument, "the request sets both input and inputs; set one")
	}
	ts := make([]predict.Tensor, len(ps))
	for i, t := range ps {
		if err := checkTensorName(ps[:i], i, t.GetName(), (*workerv1.Tensor).GetName); err != nil {
			return predict.Request{}, err
		}
		v, err := ValueFromProto(t.GetValue())
		if err != nil {
			return predict.Request{}, fmt.Errorf("input %q: %w", t.GetName(), err)
		}
		ts[i] = predict.Tensor{Name: t.GetName(), Shape: t.GetShape(), Value: v}
	}
	return predict.Request{Input: predict.Tensors(ts...), Option: OptionFromProto(p.GetOption())}, nil
}

// ResultToProto converts a result to the worker protocol's PredictResponse.
// A zero label converts to an unset output. The scores slice is aliased. It
// fails when the result's option cannot be converted.
func ResultToProto(r predict.Result) (*workerv1.PredictResponse, error) {
	opt, err := OptionToProto(r.Option)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	return &workerv1.PredictResponse{Output: ValueToProto(r.Label), Scores: r.Scores, Option: opt}, nil
}

// ResultFromProto converts the worker protocol's PredictResponse. An unset
// output gives a zero label, so that a model may answer with scores alone;
// a nil p is an error. The scores slice is aliased.
func ResultFromProto(p *workerv1.PredictResponse) (predict.Result, error) {
	if p == nil {
		return predict.Result{}, fmt.Errorf("result: %w", ErrMissing)
	}
	var label predict.Value
	if p.GetOutput().GetKind() != nil {
		v, err := ValueFromProto(p.GetOutput())
		if err != nil {
			return predict.Result{}, fmt.Errorf("result label: %w", err)
		}
		label = v
	}
	return predict.Result{Label: label, Scores: p.GetScores(), Option: OptionFromProto(p.GetOption())}, nil
}
