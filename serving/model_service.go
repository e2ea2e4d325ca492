package serving

import (
	"archive/tar"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

type modelService struct {
	swapwirev1.UnimplementedModelServiceServer
	s *Server
}

// storeErr maps a model store error to a status.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, modelstore.ErrInvalid):
		return predict.Errorf(codes.InvalidArgument, "%v", err)
	case errors.Is(err, modelstore.ErrNotFound):
		return predict.Errorf(codes.NotFound, "%v", err)
	case errors.Is(err, modelstore.ErrExists):
		return predict.Errorf(codes.AlreadyExists, "%v", err)
	case errors.Is(err, modelstore.ErrCorrupt):
		return predict.Errorf(codes.DataLoss, "%v", err)
	case errors.Is(err, modelstore.ErrReadOnly):
		return predict.Errorf(codes.FailedPrecondition, "%v", err)
	}
	if predict.CodeOf(err) != codes.Unknown {
		return err
	}
	return predict.Errorf(codes.Internal, "model store: %v", err)
}

func validModel(name string) error {
	if err := modelstore.ValidateModelName(name); err != nil {
		return predict.InvalidArgument("model name %q: %v", name, err)
	}
	return nil
}

func validVersion(v int64) error {
	if err := modelstore.ValidateVersion(v); err != nil {
		return predict.InvalidArgument("version %d: %v", v, err)
	}
	return nil
}

func (ms *modelService) ListModels(ctx context.Context, req *swapwirev1.ListModelsRequest) (*swapwirev1.ListModelsResponse, error) {
	if err := ms.s.adminAllowed(ctx); err != nil {
		return nil, err
	}
	resp := &swapwirev1.ListModelsResponse{}
	def := ms.s.mgr.defaultModel()
	for _, m := range ms.s.mgr.modelList() {
		if req.GetModel() != "" && m.name != req.GetModel() {
			continue
		}
		resp.Models = append(resp.Models, m.report(m.name == def))
	}
	if req.GetModel() != "" && len(resp.Models) == 0 {
		return nil, predict.Status(predict.Errorf(codes.NotFound, "model %q is not served here", req.GetModel()))
	}
	return resp, nil
}

// report returns the model's state for ListModels.
func (m *model) report(isDefault bool) *swapwirev1.ModelStatus {
	snap := m.snap.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &swapwirev1.ModelStatus{
		Name:          m.name,
		PinnedVersion: m.policy.Pinned,
		Labels:        snap.labels,
		Default:       isDefault,
		Weights:       weightsToProto(m.policy.Weights),
	}
	nums := slices.Clone(m.inStore)
	for n := range snap.loaded {
		nums = append(nums, n)
	}
	for n := range m.draining {
		nums = append(nums, n)
	}
	for n := range m.status {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	nums = slices.Compact(nums)
	if snap.serving != nil {
		st.ServingVersion = snap.serving.num
	}
	for _, n := range nums {
		vs := &swapwirev1.VersionStatus{Version: n, State: swapwirev1.VersionState_VERSION_STATE_AVAILABLE}
		if rec := m.status[n]; rec != nil {
			switch {
			case rec.loading:
				vs.State = swapwirev1.VersionState_VERSION_STATE_LOADING
			case rec.err != nil:
				vs.State = swapwirev1.VersionState_VERSION_STATE_FAILED
				vs.Error = rec.err.Error()
			}
			if rec.loadDur > 0 {
				vs.LoadDuration = durationpb.New(rec.loadDur)
			}
			if !rec.loadedAt.IsZero() {
				vs.LoadedAt = timestamppb.New(rec.loadedAt)
			}
		}
		if v := m.draining[n]; v != nil {
			vs.State = swapwirev1.VersionState_VERSION_STATE_DRAINING
			vs.InFlight = v.inFlight(false)
		}
		if v := snap.loaded[n]; v != nil {
			vs.State = swapwirev1.VersionState_VERSION_STATE_STANDBY
			vs.InFlight = v.inFlight(true)
			if v == snap.serving {
				vs.State = swapwirev1.VersionState_VERSION_STATE_SERVING
				if m.health != nil {
					vs.Error = "unhealthy: " + m.health.Error()
				}
			}
		}
		st.Versions = append(st.Versions, vs)
	}
	return st
}

// modelStatus reports a model after an admin write: the policy fields come
// from the policy just written, the rest from the server, which may not
// have acted on it yet.
func (ms *modelService) modelStatus(name string, p modelstore.Policy) *swapwirev1.ModelStatus {
	st := &swapwirev1.ModelStatus{Name: name}
	if m, err := ms.s.mgr.lookup(name); err == nil {
		st = m.report(name == ms.s.mgr.defaultModel())
	}
	st.PinnedVersion = p.Pinned
	st.Labels = p.Labels
	st.Weights = weightsToProto(p.Weights)
	return st
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
	if err := ms.s.adminAllowed(ctx); err != nil {
		return nil, err
	}
	if err := validModel(req.GetModel()); err != nil {
		return nil, predict.Status(err)
	}
	weights := make(map[int64]int, len(req.GetWeights()))
	seen := make(map[int64]bool, len(req.GetWeights()))
	for _, vw := range req.GetWeights() {
		v, w := vw.GetVersion(), vw.GetWeight()
		if seen[v] {
			return nil, predict.Status(predict.InvalidArgument("version %d has two weights", v))
		}
		seen[v] = true
		if err := validVersion(v); err != nil {
			return nil, predict.Status(err)
		}
		if w < 0 || w > modelstore.MaxWeight {
			return nil, predict.Status(predict.InvalidArgument("weight %d of version %d: want 0 to %d", w, v, modelstore.MaxWeight))
		}
		if w > 0 {
			if err := ms.requireVersion(ctx, req.GetModel(), v); err != nil {
				return nil, predict.Status(err)
			}
			weights[v] = int(w)
		}
	}
	if len(req.GetWeights()) > 0 && len(weights) == 0 {
		return nil, predict.Status(predict.InvalidArgument("every weight is zero; send no weights to remove the split"))
	}
	store := ms.s.mgr.store
	p, err := store.Policy(ctx, req.GetModel())
	if err != nil {
		return nil, predict.Status(storeErr(err))
	}
	p.Weights = weights
	if len(weights) == 0 {
		p.Weights = nil
	}
	if err := store.SetPolicy(ctx, req.GetModel(), p); err != nil {
		return nil, predict.Status(storeErr(err))
	}
	ms.s.cfg.logger.Info("traffic split", "model", req.GetModel(), "weights", fmt.Sprint(weights))
	ms.s.mgr.kickAll()
	return &swapwirev1.SplitTrafficResponse{Status: ms.modelStatus(req.GetModel(), p)}, nil
}

func (ms *modelService) SwitchModel(ctx context.Context, req *swapwirev1.SwitchModelRequest) (*swapwirev1.SwitchModelResponse, error) {
	if err := ms.s.adminAllowed(ctx); err != nil {
		return nil, err
	}
	if req.GetVersion() < 0 {
		return nil, predict.Status(predict.InvalidArgument("version %d: versions are positive, or 0 to follow the latest", req.GetVersion()))
	}
	p, err := ms.s.pin(ctx, req.GetModel(), req.GetVersion(), false)
	if err != nil {
		return nil, predict.Status(err)
	}
	return &swapwirev1.SwitchModelResponse{Status: ms.modelStatus(req.GetModel(), p)}, nil
}

func (ms *modelService) requireVersion(ctx context.Context, model string, v int64) error {
	versions, err := ms.s.mgr.store.Versions(ctx, model)
	if err != nil {
		return storeErr(err)
	}
	if !slices.Contains(versions, v) {
		return predict.Errorf(codes.NotFound, "model %q has no version %d (versions: %v)", model, v, versions)
	}
	return nil
}

func (ms *modelService) SetLabel(ctx context.Context, req *swapwirev1.SetLabelRequest) (*swapwirev1.SetLabelResponse, error) {
	if err := ms.s.adminAllowed(ctx); err != nil {
		return nil, err
	}
	if err := validModel(req.GetModel()); err != nil {
		return nil, predict.Status(err)
	}
	if err := modelstore.ValidateLabel(req.GetLabel()); err != nil {
		return nil, predict.Status(predict.InvalidArgument("label %q: %v", req.GetLabel(), err))
	}
	if req.GetVersion() < 0 {
		return nil, predict.Status(predict.InvalidArgument("version %d: versions are positive", req.GetVersion()))
	}
	if req.GetVersion() > 0 {
		if err := ms.requireVersion(ctx, req.GetModel(), req.GetVersion()); err != nil {
			return nil, predict.Status(err)
		}
	}
	store := ms.s.mgr.store
	p, err := store.Policy(ctx, req.GetModel())
	if err != nil {
		return nil, predict.Status(storeErr(err))
	}
	labels := make(map[string]int64, len(p.Labels)+1)
	for k, v := range p.Labels {
		labels[k] = v
	}
	if req.GetVersion() == 0 {
		delete(labels, req.GetLabel())
	} else {
		labels[req.GetLabel()] = req.GetVersion()
	}
	p.Labels = labels
	if err := store.SetPolicy(ctx, req.GetModel(), p); err != nil {
		return nil, predict.Status(storeErr(err))
	}
	ms.s.cfg.logger.Info("label set", "model", req.GetModel(), "label", req.GetLabel(), "version", req.GetVersion())
	ms.s.mgr.kickAll()
	return &swapwirev1.SetLabelResponse{Status: ms.modelStatus(req.GetModel(), p)}, nil
}

func (ms *modelService) Rollback(ctx context.Context, req *swapwirev1.RollbackRequest) (*swapwirev1.RollbackResponse, error) {
	if err := ms.s.adminAllowed(ctx); err != nil {
		return nil, err
	}
	if err := validModel(req.GetModel()); err != nil {
		return nil, predict.Status(err)
	}
	m, err := ms.s.mgr.lookup(req.GetModel())
	if err != nil {
		return nil, predict.Status(err)
	}
	cur := m.snap.Load().serving
	if cur == nil {
		return nil, predict.Status(predict.Errorf(codes.FailedPrecondition, "model %q serves no version to roll back from", m.name))
	}
	to := m.previous(cur.num)
	if to == 0 {
		// No history in this process: take the newest good version below.
		m.mu.Lock()
		for i := len(m.inStore) - 1; i >= 0; i-- {
			n := m.inStore[i]
			if st := m.status[n]; n < cur.num && (st == nil || st.err == nil) {
				to = n
				break
			}
		}
		m.mu.Unlock()
	}
	if to == 0 {
		return nil, predict.Status(predict.Errorf(codes.FailedPrecondition, "model %q has no earlier good version than %d", m.name, cur.num))
	}
	store := ms.s.mgr.store
	p, err := store.Policy(ctx, m.name)
	if err != nil {
		return nil, predict.Status(storeErr(err))
	}
	p.Pinned = to
	if err := store.SetPolicy(ctx, m.name, p); err != nil {
		return nil, predict.Status(storeErr(err))
	}
	ms.s.cfg.logger.Info("model rolled back", "model", m.name, "from", cur.num, "to", to)
	ms.s.mgr.kickAll()
	return &swapwirev1.RollbackResponse{FromVersion: cur.num, ToVersion: to}, nil
}

func (ms *modelService) DeleteVersion(ctx context.Context, req *swapwirev1.DeleteVersionRequest) (*swapwirev1.DeleteVersionResponse, error) {
	if err := ms.s.adminAllowed(ctx); err != nil {
		return nil, err
	}
	if err := validModel(req.GetModel()); err != nil {
		return nil, predict.Status(err)
	}
	if err := validVersion(req.GetVersion()); err != nil {
		return nil, predict.Status(err)
	}
	if m, err := ms.s.mgr.lookup(req.GetModel()); err == nil {
		if cur := m.snap.Load().serving; cur != nil && cur.num == req.GetVersion() {
			return nil, predict.Status(predict.Errorf(codes.FailedPrecondition, "model %q version %d is serving; switch to another version first", m.name, cur.num))
		}
	}
	store := ms.s.mgr.store
	p, err := store.Policy(ctx, req.GetModel())
	if err != nil {
		return nil, predict.Status(storeErr(err))
	}
	if p.Pinned == req.GetVersion() {
		return nil, predict.Status(predict.Errorf(codes.FailedPrecondition, "model %q is pinned to version %d; switch first", req.GetModel(), p.Pinned))
	}
	for l, v := range p.Labels {
		if v == req.GetVersion() {
			return nil, predict.Status(predict.Errorf(codes.FailedPrecondition, "label %q points at model %q version %d; move it first", l, req.GetModel(), v))
		}
	}
	if p.Weights[req.GetVersion()] > 0 {
		return nil, predict.Status(predict.Errorf(codes.FailedPrecondition, "model %q version %d takes a share of the traffic; change the split first", req.GetModel(), req.GetVersion()))
	}
	if err := store.Delete(ctx, req.GetModel(), req.GetVersion()); err != nil {
		return nil, predict.Status(storeErr(err))
	}
	ms.s.cfg.logger.Info("version deleted", "model", req.GetModel(), "version", req.GetVersion())
	ms.s.mgr.kickAll()
	return &swapwirev1.DeleteVersionResponse{}, nil
}

// UploadModel receives a tar archive and publishes it as a new version.
func (ms *modelService) UploadModel(stream swapwirev1.ModelService_UploadModelServer) error {
	ctx := stream.Context()
	if err := ms.s.adminAllowed(ctx); err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return predict.Status(predict.InvalidArgument("the first upload message must be a header"))
	}
	if err := validModel(h.GetModel()); err != nil {
		return predict.Status(err)
	}
	if h.GetVersion() < 0 {
		return predict.Status(predict.InvalidArgument("version %d: versions are positive", h.GetVersion()))
	}
	want := strings.ToLower(h.GetSha256())
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return predict.Status(predict.InvalidArgument("sha256 %q: want 64 hex digits", h.GetSha256()))
	}
	limit := ms.s.cfg.maxUploadBytes
	if h.GetSize() > limit {
		return predict.Status(predict.Errorf(codes.ResourceExhausted, "upload of %d bytes is over the limit of %d", h.GetSize(), limit))
	}
	tx, err := ms.s.mgr.store.Begin(ctx, h.GetModel())
	if err != nil {
		return predict.Status(storeErr(err))
	}
	defer tx.Abort() // a no-op after Commit

	pr, pw := io.Pipe()
	hash := sha256.New()
	type result struct {
		files int64
		err   error
	}
	done := make(chan result, 1)
	go func() {
		files, err := extractTar(io.TeeReader(pr, hash), tx.Dir())
		if err == nil {
			// Drain what follows the archive's end so the hash covers it all.
			_, err = io.Copy(hash, pr)
		}
		pr.CloseWithError(err)
		done <- result{files, err}
	}()
	var size int64
	var recvErr error
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			recvErr = err
			break
		}
		chunk := msg.GetChunk()
		size += int64(len(chunk))
		if size > limit {
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
		ms.s.cfg.logger.Warn("upload abandoned", "model", h.GetModel(), "bytes", size, "err", recvErr)
		return predict.Status(recvErr)
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		return predict.Status(predict.InvalidArgument("archive: %v", res.err))
	}
	got := hex.EncodeToString(hash.Sum(nil))
	if got != want {
		return predict.Status(predict.Errorf(codes.DataLoss, "sha256 mismatch: header says %s, received %s (%d bytes)", want, got, size))
	}
	if h.GetSize() > 0 && h.GetSize() != size {
		return predict.Status(predict.Errorf(codes.DataLoss, "size mismatch: header says %d, received %d", h.GetSize(), size))
	}
	v, err := tx.Commit(ctx, h.GetVersion())
	if err != nil {
		return predict.Status(storeErr(err))
	}
	ms.s.cfg.logger.Info("version uploaded", "model", h.GetModel(), "version", v, "bytes", size, "files", res.files, "sha256", got)
	ms.s.mgr.kickAll()
	return stream.SendAndClose(&swapwirev1.UploadModelResponse{
		Model: h.GetModel(), Version: v, Sha256: got, Size: size, Files: res.files,
	})
}

// extractTar writes a tar archive's directories and regular files under
// dir. Entries that are absolute, climb out with "..", or are links or
// devices are refused.
func extractTar(r io.Reader, dir string) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var files int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if files == 0 {
				return 0, errors.New("the archive holds no files")
			}
			return files, nil
		}
		if err != nil {
			return files, err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(hdr.Name) || name == ".." || strings.HasPrefix(name, "../") || !filepath.IsLocal(filepath.FromSlash(name)) {
			return files, fmt.Errorf("entry %q leaves the version directory", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return files, err
			}
		case tar.TypeReg:
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return files, err
				}
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return files, err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return files, err
			}
			files++
		default:
			return files, fmt.Errorf("entry %q: only directories and regular files are accepted", hdr.Name)
		}
	}
}

// pin writes the model's store policy so that version num serves (0:
// follow the latest version), kicks the manager and, when wait is set,
// waits until that version serves or fails to load. When following the
// latest, it waits for the latest version of the store.
func (s *Server) pin(ctx context.Context, model string, num int64, wait bool) (modelstore.Policy, error) {
	if err := validModel(model); err != nil {
		return modelstore.Policy{}, err
	}
	store := s.mgr.store
	versions, err := store.Versions(ctx, model)
	if err != nil {
		return modelstore.Policy{}, storeErr(err)
	}
	target := num
	if num == 0 && len(versions) > 0 {
		target = versions[len(versions)-1]
	}
	if num != 0 && !slices.Contains(versions, num) {
		return modelstore.Policy{}, predict.Errorf(codes.NotFound, "model %q has no version %d (versions: %v)", model, num, versions)
	}
	p, err := store.Policy(ctx, model)
	if err != nil {
		return p, storeErr(err)
	}
	p.Pinned = num
	if err := store.SetPolicy(ctx, model, p); err != nil {
		return p, storeErr(err)
	}
	s.cfg.logger.Info("model switched", "model", model, "pinned", num)
	s.mgr.kickAll()
	if !wait || target == 0 {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.loadTimeout)
	defer cancel()
	return p, s.waitLoaded(ctx, model, target, s.mgr.generation())
}

// waitLoaded waits until model serves version num, or a load of num in
// store generation gen (or later) fails, or ctx ends.
func (s *Server) waitLoaded(ctx context.Context, model string, num, gen int64) error {
	for {
		ch := s.mgr.changes()
		if m, err := s.mgr.lookup(model); err == nil {
			if v := m.snap.Load().serving; v != nil && v.num == num {
				return nil
			}
			m.mu.Lock()
			st := m.status[num]
			m.mu.Unlock()
			if st != nil && st.err != nil && st.errGen >= gen {
				return predict.Errorf(codes.FailedPrecondition, "model %q version %d failed to load: %v", model, num, st.err)
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return predict.Errorf(codes.DeadlineExceeded, "model %q version %d is not serving yet: %v", model, num, ctx.Err())
		}
	}
}
