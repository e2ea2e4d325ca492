package valueconv

import (
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// RequestToProto converts a request to the worker protocol's
// PredictRequest. It fails, with code InvalidArgument, when the input is
// the zero Value or the option cannot be converted (see [OptionToProto]).
func RequestToProto(r predict.Request) (*workerv1.PredictRequest, error) {
	if r.Input.Kind() == predict.KindTensors {
		return nil, predict.Errorf(codes.InvalidArgument, "the request has %d named inputs; the worker protocol carries one value, so several named inputs reach only Go models", r.Input.Len())
	}
	in := ValueToProto(r.Input)
	if in == nil {
		return nil, predict.Errorf(codes.InvalidArgument, "%w: the request has no input value", ErrMissing)
	}
	opt, err := OptionToProto(r.Option)
	if err != nil {
		return nil, predict.Errorf(codes.InvalidArgument, "%w", err)
	}
	return &workerv1.PredictRequest{Input: in, Option: opt}, nil
}

// RequestFromProto converts the worker protocol's PredictRequest. A missing
// input gives the error of [ValueFromProto].
func RequestFromProto(p *workerv1.PredictRequest) (predict.Request, error) {
	in, err := ValueFromProto(p.GetInput())
	if err != nil {
		return predict.Request{}, err
	}
	return predict.Request{Input: in, Option: OptionFromProto(p.GetOption())}, nil
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
