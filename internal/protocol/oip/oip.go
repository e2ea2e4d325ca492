package oip

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/internal/oipconv"
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// Model states of the repository index, as Triton spells them.
const (
	oipReady       = "READY"
	oipUnavailable = "UNAVAILABLE"
	oipLoading     = "LOADING"
	oipUnloading   = "UNLOADING"
)

// Config carries what the OIP service needs beyond the engine.
type Config struct {
	// SwapwireVersion is the server version ServerMetadata reports.
	SwapwireVersion string
	// Live reports whether the server has not begun to shut down.
	Live func() bool
}

// Register mounts inference.GRPCInferenceService on r.
func Register(r grpc.ServiceRegistrar, e *engine.Engine, cfg Config) {
	if cfg.Live == nil {
		cfg.Live = func() bool { return true }
	}
	inferencepb.RegisterGRPCInferenceServiceServer(r, &oipService{e: e, cfg: cfg})
}

// oipService serves the Open Inference Protocol v2
// (inference.GRPCInferenceService) with Triton's repository extension.
type oipService struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	e   *engine.Engine
	cfg Config
}

// parseOIPVersion reads an OIP version string: "" is 0 (the serving
// version), else a positive integer.
func parseOIPVersion(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, predict.InvalidArgument("model version %q: want a positive integer or empty for the serving version", s)
	}
	return n, nil
}

func (o *oipService) ServerLive(context.Context, *inferencepb.ServerLiveRequest) (*inferencepb.ServerLiveResponse, error) {
	return &inferencepb.ServerLiveResponse{Live: o.cfg.Live()}, nil
}

// ServerReady is true while the default model serves a version.
func (o *oipService) ServerReady(context.Context, *inferencepb.ServerReadyRequest) (*inferencepb.ServerReadyResponse, error) {
	ready, _ := o.e.Loaded("", 0)
	return &inferencepb.ServerReadyResponse{Ready: ready && o.cfg.Live()}, nil
}

// ModelReady is true when the model serves a version or, with a version,
// has that version loaded. An unknown model is not ready (no error).
func (o *oipService) ModelReady(_ context.Context, req *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	num, err := parseOIPVersion(req.GetVersion())
	if err != nil {
		return nil, predict.Status(err)
	}
	ready, err := o.e.Loaded(req.GetName(), num)
	if err != nil || !o.cfg.Live() {
		return &inferencepb.ModelReadyResponse{}, nil
	}
	return &inferencepb.ModelReadyResponse{Ready: ready}, nil
}

func (o *oipService) ServerMetadata(context.Context, *inferencepb.ServerMetadataRequest) (*inferencepb.ServerMetadataResponse, error) {
	return &inferencepb.ServerMetadataResponse{
		Name:       "swapwire",
		Version:    o.cfg.SwapwireVersion,
		Extensions: []string{"model_repository", "parameters"},
	}, nil
}

// ModelMetadata lists the loaded versions of a model and its inputs and
// outputs: as its predictor declares them (predict.Signer), or the generic
// description of oipconv.TensorMetadata when it declares none.
func (o *oipService) ModelMetadata(_ context.Context, req *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	num, err := parseOIPVersion(req.GetVersion())
	if err != nil {
		return nil, predict.Status(err)
	}
	m, err := o.e.Model(req.GetName())
	if err != nil {
		return nil, predict.Status(err)
	}
	loaded := m.Loaded()
	if num > 0 && !slices.Contains(loaded, num) {
		return nil, predict.Status(predict.Errorf(codes.NotFound, "model %q version %d is not loaded (loaded: %v)", m.Name, num, loaded))
	}
	sig, hasSig, err := o.e.Signature(m.Name, num)
	if err != nil && len(loaded) > 0 {
		return nil, predict.Status(err)
	}
	resp := &inferencepb.ModelMetadataResponse{Name: m.Name, Platform: oipconv.Platform}
	resp.Inputs, resp.Outputs = oipconv.TensorMetadata(sig, hasSig)
	for _, n := range loaded {
		resp.Versions = append(resp.Versions, strconv.FormatInt(n, 10))
	}
	return resp, nil
}

// ModelConfig answers Triton's model configuration: see oipconv.ModelConfig.
// The model needs a loaded version (Unavailable otherwise).
func (o *oipService) ModelConfig(_ context.Context, req *inferencepb.ModelConfigRequest) (*inferencepb.ModelConfigResponse, error) {
	num, err := parseOIPVersion(req.GetVersion())
	if err != nil {
		return nil, predict.Status(err)
	}
	m, err := o.e.Model(req.GetName())
	if err != nil {
		return nil, predict.Status(err)
	}
	sig, hasSig, err := o.e.Signature(m.Name, num)
	if err != nil {
		return nil, predict.Status(err)
	}
	return &inferencepb.ModelConfigResponse{Config: oipconv.ModelConfig(m.Name, sig, hasSig)}, nil
}

// ModelStatistics answers the engine's counters of each loaded version:
// inferences that succeeded and failed with their total time, executions
// (calls into the model; a PredictBatch call counts once) and the last
// inference's time. An empty name means every model. Queue and
// compute-phase times are not measured and stay zero.
func (o *oipService) ModelStatistics(_ context.Context, req *inferencepb.ModelStatisticsRequest) (*inferencepb.ModelStatisticsResponse, error) {
	num, err := parseOIPVersion(req.GetVersion())
	if err != nil {
		return nil, predict.Status(err)
	}
	var names []string
	if req.GetName() != "" {
		names = []string{req.GetName()}
	} else {
		for _, m := range o.e.Models() {
			names = append(names, m.Name)
		}
	}
	resp := &inferencepb.ModelStatisticsResponse{}
	for _, name := range names {
		stats, err := o.e.Statistics(name, num)
		if err != nil {
			if req.GetName() == "" {
				continue // a model that went away meanwhile
			}
			return nil, predict.Status(err)
		}
		for _, s := range stats {
			ms := &inferencepb.ModelStatistics{
				Name: s.Model, Version: strconv.FormatInt(s.Version, 10),
				InferenceCount: uint64(s.Success), ExecutionCount: uint64(s.Executions),
				InferenceStats: &inferencepb.InferStatistics{
					Success:       &inferencepb.StatisticDuration{Count: uint64(s.Success), Ns: uint64(s.SuccessTime)},
					Fail:          &inferencepb.StatisticDuration{Count: uint64(s.Fail), Ns: uint64(s.FailTime)},
					Queue:         &inferencepb.StatisticDuration{},
					ComputeInput:  &inferencepb.StatisticDuration{},
					ComputeInfer:  &inferencepb.StatisticDuration{Count: uint64(s.Success), Ns: uint64(s.SuccessTime)},
					ComputeOutput: &inferencepb.StatisticDuration{},
				},
			}
			if !s.LastInference.IsZero() {
				ms.LastInference = uint64(s.LastInference.UnixMilli())
			}
			resp.ModelStats = append(resp.ModelStats, ms)
		}
	}
	return resp, nil
}

// infer runs one inference request: it decodes the inputs, shapes them
// after the model's signature (splitting a batch into one prediction per
// item), and encodes the outputs in Triton's raw layout.
func (o *oipService) infer(ctx context.Context, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	num, err := parseOIPVersion(req.GetModelVersion())
	if err != nil {
		return nil, err
	}
	dec, err := oipconv.DecodeRequest(req)
	if err != nil {
		return nil, err
	}
	names, err := oipconv.RequestedOutputs(req)
	if err != nil {
		return nil, err
	}
	sig, hasSig, err := o.e.Signature(req.GetModelName(), num)
	if err != nil {
		return nil, err
	}
	values, batch, err := oipconv.ModelInputs(dec, sig, hasSig)
	if err != nil {
		return nil, err
	}
	var (
		results []predict.Result
		model   string
		version int64
	)
	if batch == 0 {
		a, err := o.e.Predict(ctx, engine.Request{Model: req.GetModelName(), Version: num, Input: values[0], Option: dec.Option})
		if err != nil {
			return nil, err
		}
		results, model, version = []predict.Result{a.Result}, a.Model, a.Version
	} else {
		a, err := o.e.PredictBatch(ctx, engine.Request{Model: req.GetModelName(), Version: num, Option: dec.Option}, values)
		if err != nil {
			return nil, err
		}
		for i, err := range a.Errs {
			if err != nil {
				return nil, predict.Errorf(predict.CodeOf(err), "batch item %d: %v", i, err)
			}
		}
		results, model, version = a.Results, a.Model, a.Version
	}
	outs, err := oipconv.Outputs(results, batch, names, sig)
	if err != nil {
		return nil, err
	}
	resp, err := oipconv.EncodeResponse(outs, results, req)
	if err != nil {
		return nil, err
	}
	resp.ModelName = model
	resp.ModelVersion = strconv.FormatInt(version, 10)
	return resp, nil
}

func (o *oipService) ModelInfer(ctx context.Context, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	resp, err := o.infer(ctx, req)
	return resp, predict.Status(err)
}

// ModelStreamInfer answers each request in order; a failed request gets a
// message with error_message (and the request's model name and id) and the
// stream goes on.
func (o *oipService) ModelStreamInfer(stream grpc.BidiStreamingServer[inferencepb.ModelInferRequest, inferencepb.ModelStreamInferResponse]) error {
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		out := &inferencepb.ModelStreamInferResponse{}
		resp, err := o.infer(ctx, req)
		if err != nil {
			out.ErrorMessage = err.Error()
			out.InferResponse = &inferencepb.ModelInferResponse{ModelName: req.GetModelName(), ModelVersion: req.GetModelVersion(), Id: req.GetId()}
		} else {
			out.InferResponse = resp
		}
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

// RepositoryIndex lists every version of every model with its state:
// READY (serving or loaded on standby), LOADING, UNLOADING (draining) or
// UNAVAILABLE (in the store but not loaded, or failed; the reason says
// which). A model without versions is listed once, UNAVAILABLE. The
// repository name is ignored: there is one repository, the model store.
func (o *oipService) RepositoryIndex(_ context.Context, req *inferencepb.RepositoryIndexRequest) (*inferencepb.RepositoryIndexResponse, error) {
	resp := &inferencepb.RepositoryIndexResponse{}
	for _, m := range o.e.Models() {
		if len(m.Versions) == 0 && !req.GetReady() {
			resp.Models = append(resp.Models, &inferencepb.RepositoryIndexResponse_ModelIndex{Name: m.Name, State: oipUnavailable, Reason: "no version in the store"})
		}
		for _, v := range m.Versions {
			idx := &inferencepb.RepositoryIndexResponse_ModelIndex{Name: m.Name, Version: strconv.FormatInt(v.Version, 10)}
			switch v.State {
			case engine.StateServing, engine.StateStandby:
				idx.State = oipReady
			case engine.StateLoading:
				idx.State = oipLoading
			case engine.StateDraining:
				idx.State, idx.Reason = oipUnloading, "draining requests in flight"
			case engine.StateFailed:
				idx.State, idx.Reason = oipUnavailable, v.Err.Error()
			default:
				idx.State, idx.Reason = oipUnavailable, "in the store, not loaded"
			}
			if req.GetReady() && idx.State != oipReady {
				continue
			}
			resp.Models = append(resp.Models, idx)
		}
	}
	return resp, nil
}

// RepositoryModelLoad pins the model to the version given by the "version"
// parameter (an int64 or a decimal string), or without one makes it follow
// the latest version, through the store policy like SwitchModel. It
// returns once that version serves, or fails when it cannot load.
func (o *oipService) RepositoryModelLoad(ctx context.Context, req *inferencepb.RepositoryModelLoadRequest) (*inferencepb.RepositoryModelLoadResponse, error) {
	var num int64
	if p, ok := req.GetParameters()["version"]; ok {
		switch c := p.GetParameterChoice().(type) {
		case *inferencepb.ModelRepositoryParameter_Int64Param:
			num = c.Int64Param
		case *inferencepb.ModelRepositoryParameter_StringParam:
			n, err := strconv.ParseInt(c.StringParam, 10, 64)
			if err != nil {
				return nil, predict.Status(predict.InvalidArgument("parameter version %q is not an integer", c.StringParam))
			}
			num = n
		default:
			return nil, predict.Status(predict.InvalidArgument("parameter version must be an int64 or a string"))
		}
		if num <= 0 {
			return nil, predict.Status(predict.InvalidArgument("parameter version %d: versions are positive", num))
		}
	}
	if _, err := o.e.Pin(ctx, req.GetModelName(), num, true); err != nil {
		return nil, predict.Status(err)
	}
	return &inferencepb.RepositoryModelLoadResponse{}, nil
}

// RepositoryModelUnload is refused with FAILED_PRECONDITION: what serves is
// decided by the model store, which every replica follows, so one server
// cannot unload a model on its own. Delete the versions from the store or
// limit the server to other models instead.
func (o *oipService) RepositoryModelUnload(ctx context.Context, req *inferencepb.RepositoryModelUnloadRequest) (*inferencepb.RepositoryModelUnloadResponse, error) {
	if _, err := o.e.Model(req.GetModelName()); err != nil {
		return nil, predict.Status(err)
	}
	return nil, predict.Status(predict.Errorf(codes.FailedPrecondition,
		"model %q cannot be unloaded by one server: the model store decides what serves; delete its versions from the store (swapwire.v1.ModelService/DeleteVersion) or pin another version with RepositoryModelLoad", req.GetModelName()))
}
