package client

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// Request is one prediction.
type Request struct {
	Model   string         // the model; "" for the server's default model
	Version int64          // a version to pin; 0 for the serving version
	Label   string         // a version label such as "canary"; ignored when Version is set
	Input   predict.Value  // required
	Option  predict.Option // free-form options for the model; may be nil
}

// Response is a prediction's answer: the model and version that answered
// and the model's Result.
type Response struct {
	Model   string
	Version int64
	predict.Result
}

func (r Request) proto() (*swapwirev1.PredictRequest, error) {
	if r.Input.IsZero() {
		return nil, status.Error(codes.InvalidArgument, errNoInput.Error())
	}
	opt, err := valueconv.OptionToProto(r.Option)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "option: %v", err)
	}
	return &swapwirev1.PredictRequest{Model: r.Model, Version: r.Version, Label: r.Label, Input: valueconv.ValueToProto(r.Input), Option: opt}, nil
}

func responseFromProto(p *swapwirev1.PredictResponse) (Response, error) {
	out, err := valueconv.ValueFromProto(p.GetOutput())
	if err != nil {
		return Response{}, fmt.Errorf("answer: %w", err)
	}
	return Response{Model: p.GetModel(), Version: p.GetVersion(), Result: predict.Result{
		Label: out, Scores: p.GetScores(), Option: valueconv.OptionFromProto(p.GetOption()),
	}}, nil
}

// Predict runs one input through a model.
func (c *Client) Predict(ctx context.Context, r Request) (Response, error) {
	req, err := r.proto()
	if err != nil {
		return Response{}, err
	}
	resp, err := c.pred.Predict(ctx, req)
	if err != nil {
		return Response{}, err
	}
	return responseFromProto(resp)
}

// Stream is an open prediction stream: Send requests, Recv their answers
// in the order sent. A failed item comes back with its Err set and does not
// end the stream. Send and Recv may run in different goroutines, but
// neither in more than one at a time.
type Stream struct {
	s swapwirev1.PredictionService_PredictStreamClient
}

// StreamResponse answers the request sent with the same ID: Err is nil and
// Response holds the answer, or Err says why that item failed.
type StreamResponse struct {
	ID string
	Response
	Err error
}

// PredictStream opens a prediction stream. Cancel ctx or call CloseSend
// and Recv until io.EOF to end it.
func (c *Client) PredictStream(ctx context.Context) (*Stream, error) {
	s, err := c.pred.PredictStream(ctx)
	if err != nil {
		return nil, err
	}
	return &Stream{s: s}, nil
}

// Send sends one request with an id of the caller's choosing.
func (s *Stream) Send(id string, r Request) error {
	req, err := r.proto()
	if err != nil {
		return err
	}
	return s.s.Send(&swapwirev1.PredictStreamRequest{Id: id, Request: req})
}

// CloseSend says no more requests follow.
func (s *Stream) CloseSend() error { return s.s.CloseSend() }

// Recv returns the next answer; io.EOF once the stream ended after
// CloseSend, or the error that broke the stream.
func (s *Stream) Recv() (StreamResponse, error) {
	m, err := s.s.Recv()
	if err != nil {
		return StreamResponse{}, err
	}
	out := StreamResponse{ID: m.GetId()}
	if e := m.GetError(); e != nil {
		out.Err = valueconv.ErrorFromProto(e)
		return out, nil
	}
	out.Response, out.Err = responseFromProto(m.GetResponse())
	return out, nil
}
