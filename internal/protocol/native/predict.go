package native

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

type predictionService struct {
	swapwirev1.UnimplementedPredictionServiceServer
	e   *engine.Engine
	cfg Config
}

// requestFromProto converts a PredictRequest to an engine request.
func requestFromProto(req *swapwirev1.PredictRequest) (engine.Request, error) {
	if req.GetInput() == nil {
		return engine.Request{}, predict.InvalidArgument("input is missing: set one of text, data, ints, floats or strings")
	}
	in, err := valueconv.ValueFromProto(req.GetInput())
	if err != nil {
		return engine.Request{}, predict.InvalidArgument("input: %v", err)
	}
	if req.GetVersion() < 0 {
		return engine.Request{}, predict.InvalidArgument("version %d: versions are positive", req.GetVersion())
	}
	return engine.Request{
		Model:   req.GetModel(),
		Version: req.GetVersion(),
		Label:   req.GetLabel(),
		Input:   in,
		Option:  valueconv.OptionFromProto(req.GetOption()),
	}, nil
}

// answerToProto converts an engine answer to a PredictResponse.
func answerToProto(a engine.Answer) (*swapwirev1.PredictResponse, error) {
	opt, err := valueconv.OptionToProto(a.Result.Option)
	if err != nil {
		return nil, predict.Errorf(codes.Internal, "model %s version %d returned an option that cannot be sent: %v", a.Model, a.Version, err)
	}
	return &swapwirev1.PredictResponse{
		Model:   a.Model,
		Version: a.Version,
		Output:  valueconv.ValueToProto(a.Result.Label),
		Scores:  a.Result.Scores,
		Option:  opt,
	}, nil
}

func (p *predictionService) Predict(ctx context.Context, req *swapwirev1.PredictRequest) (*swapwirev1.PredictResponse, error) {
	r, err := requestFromProto(req)
	if err != nil {
		return nil, predict.Status(err)
	}
	a, err := p.e.Predict(ctx, r)
	if err != nil {
		return nil, predict.Status(err)
	}
	resp, err := answerToProto(a)
	return resp, predict.Status(err)
}

// streamWindow bounds the predictions of one stream that run at once.
const streamWindow = 64

// PredictStream runs up to streamWindow of a stream's requests at once
// (so one stream can fill a batch) and answers them in request order.
func (p *predictionService) PredictStream(stream swapwirev1.PredictionService_PredictStreamServer) error {
	ctx := stream.Context()
	// Each request gets a one-slot future; the sender answers them in order.
	futures := make(chan chan *swapwirev1.PredictStreamResponse, streamWindow)
	sent := make(chan error, 1)
	go func() {
		var err error
		for f := range futures {
			out := <-f
			if err == nil {
				err = stream.Send(out)
			}
		}
		sent <- err
	}()
	var recvErr error
	for {
		req, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				recvErr = err
			}
			break
		}
		f := make(chan *swapwirev1.PredictStreamResponse, 1)
		futures <- f // blocks while streamWindow requests are pending
		go func() { f <- p.streamItem(ctx, req) }()
	}
	close(futures)
	if err := <-sent; err != nil {
		return err
	}
	return recvErr
}

// streamItem answers one stream request; a failure goes in the response.
func (p *predictionService) streamItem(ctx context.Context, req *swapwirev1.PredictStreamRequest) *swapwirev1.PredictStreamResponse {
	out := &swapwirev1.PredictStreamResponse{Id: req.GetId()}
	r, err := requestFromProto(req.GetRequest())
	var resp *swapwirev1.PredictResponse
	if err == nil {
		var a engine.Answer
		if a, err = p.e.Predict(ctx, r); err == nil {
			resp, err = answerToProto(a)
		}
	}
	if err != nil {
		out.Error = &swapwirev1.Error{Code: int32(predict.CodeOf(err)), Message: err.Error()}
	} else {
		out.Response = resp
	}
	return out
}

func (p *predictionService) ServiceInfo(ctx context.Context, _ *swapwirev1.ServiceInfoRequest) (*swapwirev1.ServiceInfoResponse, error) {
	resp := &swapwirev1.ServiceInfoResponse{
		Name:            p.cfg.Name,
		ServiceLevel:    p.cfg.ServiceLevel,
		SwapwireVersion: p.cfg.SwapwireVersion,
		DefaultModel:    p.e.DefaultModel(),
	}
	for _, m := range p.e.Models() {
		resp.Models = append(resp.Models, &swapwirev1.ModelSummary{
			Name:           m.Name,
			LoadedVersions: m.Loaded(),
			Labels:         m.Labels,
			ServingVersion: m.Serving,
		})
	}
	return resp, nil
}
