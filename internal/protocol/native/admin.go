package native

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/swapwire/swapwire/internal/archive"
	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

type modelService struct {
	swapwirev1.UnimplementedModelServiceServer
	e   *engine.Engine
	cfg Config
}

var stateToProto = map[engine.VersionState]swapwirev1.VersionState{
	engine.StateAvailable: swapwirev1.VersionState_VERSION_STATE_AVAILABLE,
	engine.StateLoading:   swapwirev1.VersionState_VERSION_STATE_LOADING,
	engine.StateStandby:   swapwirev1.VersionState_VERSION_STATE_STANDBY,
	engine.StateServing:   swapwirev1.VersionState_VERSION_STATE_SERVING,
	engine.StateDraining:  swapwirev1.VersionState_VERSION_STATE_DRAINING,
	engine.StateFailed:    swapwirev1.VersionState_VERSION_STATE_FAILED,
}

// StatusToProto converts a model's status to its wire form.
func StatusToProto(m engine.ModelStatus) *swapwirev1.ModelStatus {
	st := &swapwirev1.ModelStatus{
		Name:           m.Name,
		PinnedVersion:  m.Pinned,
		Labels:         m.Labels,
		Default:        m.Default,
		Weights:        weightsToProto(m.Weights),
		ServingVersion: m.Serving,
	}
	if m.StoreErr != nil {
		st.StoreError = m.StoreErr.Error()
	}
	for _, v := range m.Versions {
		vs := &swapwirev1.VersionStatus{Version: v.Version, State: stateToProto[v.State], InFlight: v.InFlight}
		if v.Err != nil {
			vs.Error = v.Err.Error()
		}
		if v.State == engine.StateServing && m.Health != nil {
			vs.Error = "unhealthy: " + m.Health.Error()
		}
		if v.LoadDuration > 0 {
			vs.LoadDuration = durationpb.New(v.LoadDuration)
		}
		if !v.LoadedAt.IsZero() {
			vs.LoadedAt = timestamppb.New(v.LoadedAt)
		}
		for _, w := range v.Workers {
			vs.Workers = append(vs.Workers, workerToProto(w))
		}
		st.Versions = append(st.Versions, vs)
	}
	return st
}

func (ms *modelService) ListModels(ctx context.Context, req *swapwirev1.ListModelsRequest) (*swapwirev1.ListModelsResponse, error) {
	resp := &swapwirev1.ListModelsResponse{}
	for _, m := range ms.e.Models() {
		if req.GetModel() != "" && m.Name != req.GetModel() {
			continue
		}
		resp.Models = append(resp.Models, StatusToProto(m))
	}
	if req.GetModel() != "" && len(resp.Models) == 0 {
		return nil, predict.Status(predict.Errorf(codes.NotFound, "model %q is not served here", req.GetModel()))
	}
	return resp, nil
}

// modelStatus reports a model after an admin write: the policy fields come
// from the policy just written, the rest from the engine, which may not
// have acted on it yet.
func (ms *modelService) modelStatus(name string, p modelstore.Policy) *swapwirev1.ModelStatus {
	st := &swapwirev1.ModelStatus{Name: name}
	if m, err := ms.e.Model(name); err == nil {
		st = StatusToProto(m)
	}
	st.PinnedVersion = p.Pinned
	st.Labels = p.Labels
	st.Weights = weightsToProto(p.Weights)
	return st
}

func workerToProto(w predict.WorkerStatus) *swapwirev1.WorkerStatus {
	ws := &swapwirev1.WorkerStatus{Id: int32(w.ID), Pid: int32(w.PID), State: w.State.String(), Restarts: int32(w.Restarts)}
	if !w.Since.IsZero() {
		ws.Since = timestamppb.New(w.Since)
	}
	if w.Err != nil {
		ws.Error = w.Err.Error()
	}
	if !w.RetryAt.IsZero() {
		ws.RetryAt = timestamppb.New(w.RetryAt)
	}
	return ws
}

func weightsToProto(w map[int64]int) []*swapwirev1.VersionWeight {
	out := make([]*swapwirev1.VersionWeight, 0, len(w))
	for v, n := range w {
		out = append(out, &swapwirev1.VersionWeight{Version: v, Weight: int32(n)})
	}
	slices.SortFunc(out, func(a, b *swapwirev1.VersionWeight) int { return cmp.Compare(a.Version, b.Version) })
	return out
}

// SplitTraffic writes a model's traffic weights to the store.
func (ms *modelService) SplitTraffic(ctx context.Context, req *swapwirev1.SplitTrafficRequest) (*swapwirev1.SplitTrafficResponse, error) {
	weights := make(map[int64]int, len(req.GetWeights()))
	for _, vw := range req.GetWeights() {
		if _, dup := weights[vw.GetVersion()]; dup {
			return nil, predict.Status(predict.InvalidArgument("version %d has two weights", vw.GetVersion()))
		}
		weights[vw.GetVersion()] = int(vw.GetWeight())
	}
	p, err := ms.e.SplitTraffic(ctx, req.GetModel(), weights)
	if err != nil {
		return nil, predict.Status(err)
	}
	return &swapwirev1.SplitTrafficResponse{Status: ms.modelStatus(req.GetModel(), p)}, nil
}

func (ms *modelService) SwitchModel(ctx context.Context, req *swapwirev1.SwitchModelRequest) (*swapwirev1.SwitchModelResponse, error) {
	p, err := ms.e.Pin(ctx, req.GetModel(), req.GetVersion(), req.GetWait())
	if err != nil {
		return nil, predict.Status(err)
	}
	return &swapwirev1.SwitchModelResponse{Status: ms.modelStatus(req.GetModel(), p)}, nil
}

func (ms *modelService) SetLabel(ctx context.Context, req *swapwirev1.SetLabelRequest) (*swapwirev1.SetLabelResponse, error) {
	p, err := ms.e.SetLabel(ctx, req.GetModel(), req.GetLabel(), req.GetVersion())
	if err != nil {
		return nil, predict.Status(err)
	}
	return &swapwirev1.SetLabelResponse{Status: ms.modelStatus(req.GetModel(), p)}, nil
}

func (ms *modelService) Rollback(ctx context.Context, req *swapwirev1.RollbackRequest) (*swapwirev1.RollbackResponse, error) {
	from, to, err := ms.e.Rollback(ctx, req.GetModel())
	if err != nil {
		return nil, predict.Status(err)
	}
	return &swapwirev1.RollbackResponse{FromVersion: from, ToVersion: to}, nil
}

func (ms *modelService) DeleteVersion(ctx context.Context, req *swapwirev1.DeleteVersionRequest) (*swapwirev1.DeleteVersionResponse, error) {
	if err := ms.e.DeleteVersion(ctx, req.GetModel(), req.GetVersion()); err != nil {
		return nil, predict.Status(err)
	}
	return &swapwirev1.DeleteVersionResponse{}, nil
}

// UploadModel receives a tar archive and publishes it as a new version.
func (ms *modelService) UploadModel(stream swapwirev1.ModelService_UploadModelServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return predict.Status(predict.InvalidArgument("the first upload message must be a header"))
	}
	if err := modelstore.ValidateModelName(h.GetModel()); err != nil {
		return predict.Status(predict.InvalidArgument("model name %q: %v", h.GetModel(), err))
	}
	if h.GetVersion() < 0 {
		return predict.Status(predict.InvalidArgument("version %d: versions are positive", h.GetVersion()))
	}
	want := strings.ToLower(h.GetSha256())
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return predict.Status(predict.InvalidArgument("sha256 %q: want 64 hex digits", h.GetSha256()))
	}
	limit := ms.cfg.MaxUploadBytes
	if h.GetSize() > limit {
		return predict.Status(predict.Errorf(codes.ResourceExhausted, "upload of %d bytes is over the limit of %d", h.GetSize(), limit))
	}
	info, err := ms.e.Publish(ctx, h.GetModel(), h.GetVersion(), func(dir string) (engine.Published, error) {
		return receiveTar(stream, dir, archive.Limits{MaxBytes: ms.cfg.MaxExtractedBytes, MaxFiles: ms.cfg.MaxUploadFiles}, limit, want, h.GetSize(), ms.cfg.UploadIdleTimeout)
	})
	if err != nil {
		return predict.Status(err)
	}
	return stream.SendAndClose(&swapwirev1.UploadModelResponse{
		Model: info.Model, Version: info.Version, Sha256: info.SHA256, Size: info.Bytes, Files: info.Files,
	})
}

// receiveTar extracts the archive streamed in the upload's chunks into
// dir, checking its size and sha256 against the header's.
func receiveTar(stream swapwirev1.ModelService_UploadModelServer, dir string, lim archive.Limits, limit int64, want string, wantSize int64, idle time.Duration) (engine.Published, error) {
	pr, pw := io.Pipe()
	hash := sha256.New()
	type result struct {
		files int64
		err   error
	}
	done := make(chan result, 1)
	go func() {
		files, err := archive.ExtractTar(io.TeeReader(pr, hash), dir, lim)
		if err == nil {
			// Drain what follows the archive's end so the hash covers it all.
			_, err = io.Copy(hash, pr)
		}
		pr.CloseWithError(err)
		done <- result{files, err}
	}()
	info := engine.Published{Protocol: "swapwire"}
	var recvErr error
	msgs := recvWithIdle(stream, idle)
	for {
		var msg *swapwirev1.UploadModelRequest
		var err error
		select {
		case r := <-msgs:
			msg, err = r.msg, r.err
		case <-stream.Context().Done():
			err = stream.Context().Err()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			recvErr = err
			break
		}
		chunk := msg.GetChunk()
		info.Bytes += int64(len(chunk))
		if info.Bytes > limit {
			recvErr = predict.Errorf(codes.ResourceExhausted, "upload is over the limit of %d bytes", limit)
			break
		}
		if _, err := pw.Write(chunk); err != nil {
			recvErr = predict.InvalidArgument("archive: %v", err)
			break
		}
	}
	if recvErr != nil {
		pw.CloseWithError(recvErr)
		<-done
		return info, recvErr
	}
	pw.Close()
	res := <-done
	info.Files = res.files
	if res.err != nil {
		if predict.CodeOf(res.err) == codes.Unknown {
			return info, predict.InvalidArgument("archive: %v", res.err)
		}
		return info, res.err
	}
	info.SHA256 = hex.EncodeToString(hash.Sum(nil))
	if info.SHA256 != want {
		return info, predict.Errorf(codes.DataLoss, "sha256 mismatch: header says %s, received %s (%d bytes)", want, info.SHA256, info.Bytes)
	}
	if wantSize > 0 && wantSize != info.Bytes {
		return info, predict.Errorf(codes.DataLoss, "size mismatch: header says %d, received %d", wantSize, info.Bytes)
	}
	return info, nil
}

type recvResult struct {
	msg *swapwirev1.UploadModelRequest
	err error
}

// recvWithIdle receives the upload's messages in a goroutine; when none
// arrives for idle, it yields a DEADLINE_EXCEEDED error instead, and the
// handler's return then ends the blocked Recv.
func recvWithIdle(stream swapwirev1.ModelService_UploadModelServer, idle time.Duration) <-chan recvResult {
	out := make(chan recvResult)
	go func() {
		for {
			msg, err := stream.Recv()
			select {
			case out <- recvResult{msg, err}:
			case <-stream.Context().Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	if idle <= 0 {
		return out
	}
	timed := make(chan recvResult)
	go func() {
		t := time.NewTimer(idle)
		defer t.Stop()
		for {
			select {
			case r := <-out:
				select {
				case timed <- r:
				case <-stream.Context().Done():
					return
				}
				if r.err != nil {
					return
				}
				t.Reset(idle)
			case <-t.C:
				select {
				case timed <- recvResult{err: predict.Errorf(codes.DeadlineExceeded, "upload idle for %v", idle)}:
				case <-stream.Context().Done():
				}
				return
			case <-stream.Context().Done():
				return
			}
		}
	}()
	return timed
}

// EvaluateModel runs labelled examples through one model version and
// reports accuracy, per-label precision, recall and F1, and the confusion
// matrix. Labels compare by their text form (predict.Value.String).
func (ms *modelService) EvaluateModel(stream swapwirev1.ModelService_EvaluateModelServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return predict.Status(predict.InvalidArgument("the first evaluation message must be a header"))
	}
	ev, err := ms.e.Evaluate(ctx, h.GetModel(), h.GetVersion(), h.GetDetails())
	if err != nil {
		return predict.Status(err)
	}
	defer ev.Close()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		ex := msg.GetExample()
		if ex == nil {
			return predict.Status(predict.InvalidArgument("example %d: a header may come only first", ev.Examples()))
		}
		in, err := valueconv.ValueFromProto(ex.GetInput())
		if err != nil {
			return predict.Status(predict.InvalidArgument("example %d input: %v", ev.Examples(), err))
		}
		want, err := valueconv.ValueFromProto(ex.GetLabel())
		if err != nil {
			return predict.Status(predict.InvalidArgument("example %d label: %v", ev.Examples(), err))
		}
		ev.Example(ctx, in, valueconv.OptionFromProto(ex.GetOption()), want)
		if ctx.Err() != nil {
			return predict.Status(ctx.Err())
		}
	}
	return stream.SendAndClose(reportToProto(ev.Report()))
}

func reportToProto(r engine.EvaluationReport) *swapwirev1.EvaluateModelResponse {
	resp := &swapwirev1.EvaluateModelResponse{
		Model:     r.Model,
		Version:   r.Version,
		Examples:  r.Examples,
		Errors:    r.Errors,
		Accuracy:  r.Accuracy,
		Confusion: &swapwirev1.ConfusionMatrix{Labels: r.ConfusionLabels},
	}
	for _, row := range r.Confusion {
		resp.Confusion.Rows = append(resp.Confusion.Rows, &swapwirev1.ConfusionRow{Counts: row})
	}
	for _, l := range r.Labels {
		resp.Labels = append(resp.Labels, &swapwirev1.LabelMetrics{Label: l.Label, Precision: l.Precision, Recall: l.Recall, F1: l.F1, Support: l.Support})
	}
	for _, d := range r.Details {
		resp.Details = append(resp.Details, &swapwirev1.ExampleResult{Index: d.Index, Expected: d.Expected, Predicted: d.Predicted, Correct: d.Correct, Error: d.Error})
	}
	return resp
}
