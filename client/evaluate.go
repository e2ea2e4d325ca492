package client

import (
	"context"
	"iter"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// Example is one labelled example for Evaluate.
type Example struct {
	Input  predict.Value
	Option predict.Option
	Label  predict.Value // the expected label
}

// Evaluation is the report of Evaluate. Its JSON form is what
// `swapwire evaluate -o json` prints.
type Evaluation struct {
	Model     string          `json:"model"`
	Version   int64           `json:"version"`
	Examples  int64           `json:"examples"`
	Errors    int64           `json:"errors"` // examples whose prediction failed
	Accuracy  float64         `json:"accuracy"`
	Labels    []LabelMetrics  `json:"labels"`
	Confusion Confusion       `json:"confusion"`
	Details   []ExampleResult `json:"details,omitempty"` // with details asked for
}

// LabelMetrics are one label's figures.
type LabelMetrics struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int64   `json:"support"`
}

// Confusion is the confusion matrix: Counts[i][j] examples whose expected
// label was Labels[i] were predicted as Labels[j].
type Confusion struct {
	Labels []string  `json:"labels"`
	Counts [][]int64 `json:"counts"`
}

// ExampleResult is one example's outcome.
type ExampleResult struct {
	Index     int64  `json:"index"`
	Expected  string `json:"expected"`
	Predicted string `json:"predicted"`
	Correct   bool   `json:"correct"`
	Error     string `json:"error,omitempty"`
}

// Evaluate streams examples through a version of model (0 for the
// serving version, "" for the default model) and returns the report; with
// details, it holds every example's outcome. An error from examples ends the
// evaluation with that error.
func (c *Client) Evaluate(ctx context.Context, model string, version int64, details bool, examples iter.Seq2[Example, error]) (Evaluation, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.admin.EvaluateModel(ctx)
	if err != nil {
		return Evaluation{}, err
	}
	if err := stream.Send(&swapwirev1.EvaluateModelRequest{Kind: &swapwirev1.EvaluateModelRequest_Header{Header: &swapwirev1.EvaluationHeader{
		Model: model, Version: version, Details: details,
	}}}); err != nil {
		_, rerr := stream.CloseAndRecv()
		return Evaluation{}, firstErr(rerr, err)
	}
	for ex, err := range examples {
		if err != nil {
			return Evaluation{}, err
		}
		opt, err := valueconv.OptionToProto(ex.Option)
		if err != nil {
			return Evaluation{}, status.Errorf(codes.InvalidArgument, "option: %v", err)
		}
		m := &swapwirev1.LabelledExample{Input: valueconv.ValueToProto(ex.Input), Option: opt, Label: valueconv.ValueToProto(ex.Label)}
		if err := stream.Send(&swapwirev1.EvaluateModelRequest{Kind: &swapwirev1.EvaluateModelRequest_Example{Example: m}}); err != nil {
			break // the server ended the stream; CloseAndRecv has its reason
		}
	}
	r, err := stream.CloseAndRecv()
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{
		Model: r.GetModel(), Version: r.GetVersion(), Examples: r.GetExamples(), Errors: r.GetErrors(), Accuracy: r.GetAccuracy(),
		Labels:    []LabelMetrics{},
		Confusion: Confusion{Labels: r.GetConfusion().GetLabels(), Counts: [][]int64{}},
	}
	if ev.Confusion.Labels == nil {
		ev.Confusion.Labels = []string{}
	}
	for _, l := range r.GetLabels() {
		ev.Labels = append(ev.Labels, LabelMetrics{Label: l.GetLabel(), Precision: l.GetPrecision(), Recall: l.GetRecall(), F1: l.GetF1(), Support: l.GetSupport()})
	}
	for _, row := range r.GetConfusion().GetRows() {
		ev.Confusion.Counts = append(ev.Confusion.Counts, row.GetCounts())
	}
	for _, d := range r.GetDetails() {
		ev.Details = append(ev.Details, ExampleResult{Index: d.GetIndex(), Expected: d.GetExpected(), Predicted: d.GetPredicted(), Correct: d.GetCorrect(), Error: d.GetError()})
	}
	return ev, nil
}
