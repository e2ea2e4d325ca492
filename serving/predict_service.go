package serving

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

type predictionService struct {
	swapwirev1.UnimplementedPredictionServiceServer
	s *Server
}

// call is one prediction through the model manager, shared by every protocol.
type call struct {
	model   string
	version int64
	label   string
	in      predict.Value
	opt     predict.Option
}

// answer is a call's result and the version that produced it.
type answer struct {
	model   string
	version int64
	res     predict.Result
}

// do runs one call: find the model, take a reference on the version, predict.
func (s *Server) do(ctx context.Context, c call) (a answer, err error) {
	if rate := s.cfg.requestLogRate; rate > 0 && (rate >= 1 || rand.Float64() < rate) {
		defer s.logRequest(c, time.Now(), &a, &err)
	}
	if c.in.IsZero() {
		return answer{}, predict.InvalidArgument("input is missing: set one of text, data, ints, floats or strings")
	}
	m, err := s.mgr.lookup(c.model)
	if err != nil {
		return answer{}, err
	}
	v, err := m.acquire(c.version, c.label)
	if err != nil {
		return answer{model: m.name}, err
	}
	defer v.release()
	res, err := v.predict(ctx, c.in, c.opt)
	return answer{model: m.name, version: v.num, res: res}, err
}

// logRequest writes the line of a sampled request.
func (s *Server) logRequest(c call, start time.Time, a *answer, err *error) {
	model := a.model
	if model == "" {
		model = c.model
	}
	s.cfg.logger.Info("request", "model", model, "version", a.version, "code", predict.CodeOf(*err).String(),
		"input", c.in.Kind().String(), "size", c.in.Len(), "seconds", time.Since(start).Seconds())
}

func callFromProto(req *swapwirev1.PredictRequest) (call, error) {
	if req.GetInput() == nil {
		return call{}, predict.InvalidArgument("input is missing: set one of text, data, ints, floats or strings")
	}
	in, err := valueconv.ValueFromProto(req.GetInput())
	if err != nil {
		return call{}, predict.InvalidArgument("input: %v", err)
	}
	if req.GetVersion() < 0 {
		return call{}, predict.InvalidArgument("version %d: versions are positive", req.GetVersion())
	}
	return call{
		model:   req.GetModel(),
		version: req.GetVersion(),
		label:   req.GetLabel(),
		in:      in,
		opt:     valueconv.OptionFromProto(req.GetOption()),
	}, nil
}

func (a answer) toProto() (*swapwirev1.PredictResponse, error) {
	opt, err := valueconv.OptionToProto(a.res.Option)
	if err != nil {
		return nil, predict.Errorf(codes.Internal, "model %s version %d returned an option that cannot be sent: %v", a.model, a.version, err)
	}
	return &swapwirev1.PredictResponse{
		Model:   a.model,
		Version: a.version,
		Output:  valueconv.ValueToProto(a.res.Label),
		Scores:  a.res.Scores,
		Option:  opt,
	}, nil
}

func (p *predictionService) Predict(ctx context.Context, req *swapwirev1.PredictRequest) (*swapwirev1.PredictResponse, error) {
	c, err := callFromProto(req)
	if err != nil {
		return nil, predict.Status(err)
	}
	a, err := p.s.do(ctx, c)
	if err != nil {
		return nil, predict.Status(err)
	}
	resp, err := a.toProto()
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
	c, err := callFromProto(req.GetRequest())
	var resp *swapwirev1.PredictResponse
	if err == nil {
		var a answer
		if a, err = p.s.do(ctx, c); err == nil {
			resp, err = a.toProto()
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
		Name:            p.s.cfg.name,
		ServiceLevel:    p.s.cfg.serviceLevel,
		SwapwireVersion: Version,
		DefaultModel:    p.s.mgr.defaultModel(),
	}
	for _, m := range p.s.mgr.modelList() {
		snap := m.snap.Load()
		sum := &swapwirev1.ModelSummary{Name: m.name, LoadedVersions: loadedNums(snap), Labels: snap.labels}
		if snap.serving != nil {
			sum.ServingVersion = snap.serving.num
		}
		resp.Models = append(resp.Models, sum)
	}
	return resp, nil
}
