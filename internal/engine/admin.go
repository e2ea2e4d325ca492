package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

type actorKey struct{}

// WithActor returns a context that names who makes the admin calls made
// with it; the engine logs that name with every admin action.
func WithActor(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

// Actor returns the name given with WithActor, or "unknown".
func Actor(ctx context.Context) string {
	if who, ok := ctx.Value(actorKey{}).(string); ok && who != "" {
		return who
	}
	return "unknown"
}

// StoreError maps a model store error to an error with a gRPC code.
func StoreError(err error) error {
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
	case errors.Is(err, modelstore.ErrConflict):
		return predict.Errorf(codes.Aborted, "%v; try again", err)
	case errors.Is(err, modelstore.ErrUnavailable):
		return predict.Errorf(codes.Unavailable, "%v", err)
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

// StoreVersions returns the committed versions of a model in the store,
// ascending.
func (e *Engine) StoreVersions(ctx context.Context, model string) ([]int64, error) {
	if err := validModel(model); err != nil {
		return nil, err
	}
	versions, err := e.store.Versions(ctx, model)
	return versions, StoreError(err)
}

// OpenVersion returns a local directory holding a version's checked files.
func (e *Engine) OpenVersion(ctx context.Context, model string, version int64) (string, error) {
	dir, err := e.store.Open(ctx, model, version)
	return dir, StoreError(err)
}

func (e *Engine) requireVersion(ctx context.Context, model string, v int64) error {
	versions, err := e.store.Versions(ctx, model)
	if err != nil {
		return StoreError(err)
	}
	if !slices.Contains(versions, v) {
		return predict.Errorf(codes.NotFound, "model %q has no version %d (versions: %v)", model, v, versions)
	}
	return nil
}

// Published describes a version written by [Engine.Publish]: filled in by
// the caller's fill function for the log line, and completed by Publish.
type Published struct {
	Model    string
	Version  int64
	Bytes    int64  // bytes received
	Files    int64  // files written
	SHA256   string // of what was received, when known
	Protocol string // the front-end that received it, for the log
}

// Publish writes a new version of model: fill writes the version's files
// into dir (and describes them); when it succeeds the version is committed
// under the given number, or the next free one for 0, and this engine
// reconciles at once. Nothing is visible when fill or the commit fails.
func (e *Engine) Publish(ctx context.Context, model string, version int64, fill func(dir string) (Published, error)) (Published, error) {
	if err := validModel(model); err != nil {
		return Published{}, err
	}
	if version < 0 {
		return Published{}, predict.InvalidArgument("version %d: versions are positive", version)
	}
	select {
	case e.uploads <- struct{}{}:
		defer func() { <-e.uploads }()
	default:
		return Published{}, predict.Errorf(codes.ResourceExhausted, "%d uploads are running already; retry later", cap(e.uploads))
	}
	tx, err := e.store.Begin(ctx, model)
	if err != nil {
		return Published{}, StoreError(err)
	}
	defer tx.Abort() // a no-op after Commit
	info, err := fill(tx.Dir())
	if err != nil {
		e.log.Warn("upload abandoned", "model", model, "bytes", info.Bytes, "actor", Actor(ctx), "error", err)
		return Published{}, err
	}
	v, err := tx.Commit(ctx, version)
	if err != nil {
		return Published{}, StoreError(err)
	}
	info.Model, info.Version = model, v
	attrs := []any{"model", model, "version", v, "bytes", info.Bytes, "files", info.Files, "actor", Actor(ctx)}
	if info.SHA256 != "" {
		attrs = append(attrs, "sha256", info.SHA256)
	}
	if info.Protocol != "" {
		attrs = append(attrs, "protocol", info.Protocol)
	}
	e.log.Info("version uploaded", attrs...)
	e.Refresh()
	return info, nil
}

// updatePolicy changes a model's policy with the store's compare-and-swap
// update, so concurrent admin writes from this or any other replica never
// overwrite each other: change is applied to the policy as last written,
// and again if another writer got in between.
func (e *Engine) updatePolicy(ctx context.Context, model string, change func(*modelstore.Policy) error) (modelstore.Policy, error) {
	p, err := e.store.UpdatePolicy(ctx, model, change)
	if err != nil {
		return p, StoreError(err)
	}
	return p, nil
}

// lastGoodPolicy returns the policy the model follows in memory, else the
// store's last good copy, else the zero policy.
func (e *Engine) lastGoodPolicy(model string, pe *modelstore.PolicyError) modelstore.Policy {
	if m := e.table.Load().byName[model]; m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.policyKnown {
			return clonePolicy(m.policy)
		}
	}
	if pe.HasLastGood {
		return clonePolicy(pe.LastGood)
	}
	return modelstore.Policy{}
}

func clonePolicy(p modelstore.Policy) modelstore.Policy {
	p.Labels = maps.Clone(p.Labels)
	p.Weights = maps.Clone(p.Weights)
	return p
}

// Pin writes the model's store policy so that version serves (0: follow the
// latest version), reconciles and, when wait is set, waits until that
// version serves or fails to load (within the load timeout). When following
// the latest, it waits for the latest version of the store.
func (e *Engine) Pin(ctx context.Context, model string, version int64, wait bool) (modelstore.Policy, error) {
	if err := validModel(model); err != nil {
		return modelstore.Policy{}, err
	}
	if version < 0 {
		return modelstore.Policy{}, predict.InvalidArgument("version %d: versions are positive, or 0 to follow the latest", version)
	}
	versions, err := e.store.Versions(ctx, model)
	if err != nil {
		return modelstore.Policy{}, StoreError(err)
	}
	if len(versions) == 0 {
		// Writing a policy would create the model in the store.
		return modelstore.Policy{}, predict.Errorf(codes.NotFound, "model %q has no versions in the store", model)
	}
	target := version
	if version == 0 && len(versions) > 0 {
		target = versions[len(versions)-1]
	}
	if version != 0 && !slices.Contains(versions, version) {
		return modelstore.Policy{}, predict.Errorf(codes.NotFound, "model %q has no version %d (versions: %v)", model, version, versions)
	}
	p, err := e.updatePolicy(ctx, model, func(p *modelstore.Policy) error {
		p.Pinned = version
		return nil
	})
	if err != nil {
		return p, err
	}
	e.log.Info("model switched", "model", model, "pinned", version, "actor", Actor(ctx))
	e.Refresh()
	e.retry(ctx, model, target)
	if !wait || target == 0 {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.LoadTimeout)
	defer cancel()
	return p, e.waitLoaded(ctx, model, target, e.generation())
}

// retry asks the predictor of a loaded version to bring back what it gave
// up (a predict.Retrier, such as a worker pool whose crash-looping slots
// are cooling down): an operator who switches to a version wants it to
// answer now.
func (e *Engine) retry(ctx context.Context, model string, num int64) {
	m, err := e.lookup(model)
	if err != nil || num <= 0 {
		return
	}
	v, err := m.acquire(num, "")
	if err != nil {
		return
	}
	defer v.release()
	if r, ok := v.p.(predict.Retrier); ok {
		if err := r.Retry(ctx); err != nil {
			e.log.Warn("retry failed", "model", model, "version", num, "error", err)
		} else {
			e.log.Info("retrying given-up parts", "model", model, "version", num, "actor", Actor(ctx))
		}
	}
}

// waitLoaded waits until model serves version num, or a load of num in
// store generation gen (or later) fails, or ctx ends.
func (e *Engine) waitLoaded(ctx context.Context, model string, num, gen int64) error {
	for {
		ch := e.Changes()
		if m, err := e.lookup(model); err == nil {
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

// SetLabel points label at version in the model's policy, or removes the
// label for version 0.
func (e *Engine) SetLabel(ctx context.Context, model, label string, version int64) (modelstore.Policy, error) {
	if err := validModel(model); err != nil {
		return modelstore.Policy{}, err
	}
	if err := modelstore.ValidateLabel(label); err != nil {
		return modelstore.Policy{}, predict.InvalidArgument("label %q: %v", label, err)
	}
	if version < 0 {
		return modelstore.Policy{}, predict.InvalidArgument("version %d: versions are positive", version)
	}
	if version > 0 {
		if err := e.requireVersion(ctx, model, version); err != nil {
			return modelstore.Policy{}, err
		}
	}
	p, err := e.updatePolicy(ctx, model, func(p *modelstore.Policy) error {
		labels := make(map[string]int64, len(p.Labels)+1)
		maps.Copy(labels, p.Labels)
		if version == 0 {
			delete(labels, label)
		} else {
			labels[label] = version
		}
		p.Labels = labels
		return nil
	})
	if err != nil {
		return p, err
	}
	e.log.Info("label set", "model", model, "label", label, "version", version, "actor", Actor(ctx))
	e.Refresh()
	return p, nil
}

// SplitTraffic sets the model's traffic weights: unnamed traffic is shared
// among the weighted versions in proportion. No weights removes the split.
func (e *Engine) SplitTraffic(ctx context.Context, model string, weights map[int64]int) (modelstore.Policy, error) {
	if err := validModel(model); err != nil {
		return modelstore.Policy{}, err
	}
	kept := make(map[int64]int, len(weights))
	for _, v := range slices.Sorted(maps.Keys(weights)) {
		w := weights[v]
		if err := validVersion(v); err != nil {
			return modelstore.Policy{}, err
		}
		if w < 0 || w > modelstore.MaxWeight {
			return modelstore.Policy{}, predict.InvalidArgument("weight %d of version %d: want 0 to %d", w, v, modelstore.MaxWeight)
		}
		if w > 0 {
			if err := e.requireVersion(ctx, model, v); err != nil {
				return modelstore.Policy{}, err
			}
			kept[v] = w
		}
	}
	if len(weights) > 0 && len(kept) == 0 {
		return modelstore.Policy{}, predict.InvalidArgument("every weight is zero; send no weights to remove the split")
	}
	p, err := e.updatePolicy(ctx, model, func(p *modelstore.Policy) error {
		p.Weights = kept
		if len(kept) == 0 {
			p.Weights = nil
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	e.log.Info("traffic split", "model", model, "weights", fmt.Sprint(kept), "actor", Actor(ctx))
	e.Refresh()
	return p, nil
}

// Rollback pins the model to the version that served before the current
// one (or, with no history in this process, the newest good version below
// it) and returns both.
func (e *Engine) Rollback(ctx context.Context, model string) (from, to int64, err error) {
	if err := validModel(model); err != nil {
		return 0, 0, err
	}
	m, err := e.lookup(model)
	if err != nil {
		return 0, 0, err
	}
	cur := m.snap.Load().serving
	if cur == nil {
		return 0, 0, predict.Errorf(codes.FailedPrecondition, "model %q serves no version to roll back from", m.name)
	}
	to = m.previous(cur.num)
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
		return 0, 0, predict.Errorf(codes.FailedPrecondition, "model %q has no earlier good version than %d", m.name, cur.num)
	}
	if _, err := e.updatePolicy(ctx, m.name, func(p *modelstore.Policy) error {
		p.Pinned = to
		return nil
	}); err != nil {
		return 0, 0, err
	}
	e.log.Info("model rolled back", "model", m.name, "from", cur.num, "to", to, "actor", Actor(ctx))
	e.Refresh()
	return cur.num, to, nil
}

// DeleteVersion removes a version from the store. It refuses
// (FAILED_PRECONDITION) a version that serves on this replica, and one that
// the store's policy makes serve on any replica: pinned, labelled, taking a
// share of the traffic, or the newest while the model follows the newest.
// Replicas share the policy, so the rule holds for the fleet without
// asking the other replicas what they serve.
func (e *Engine) DeleteVersion(ctx context.Context, model string, version int64) error {
	if err := validModel(model); err != nil {
		return err
	}
	if err := validVersion(version); err != nil {
		return err
	}
	if m, err := e.lookup(model); err == nil {
		if cur := m.snap.Load().serving; cur != nil && cur.num == version {
			return predict.Errorf(codes.FailedPrecondition, "model %q version %d is serving; switch to another version first", m.name, cur.num)
		}
	}
	p, err := e.store.Policy(ctx, model)
	if pe := (*modelstore.PolicyError)(nil); errors.As(err, &pe) {
		p, err = e.lastGoodPolicy(model, pe), nil // check against what is followed
	}
	if err != nil {
		return StoreError(err)
	}
	if p.Pinned == version {
		return predict.Errorf(codes.FailedPrecondition, "model %q is pinned to version %d; switch first", model, p.Pinned)
	}
	for l, v := range p.Labels {
		if v == version {
			return predict.Errorf(codes.FailedPrecondition, "label %q points at model %q version %d; move it first", l, model, v)
		}
	}
	if p.Weights[version] > 0 {
		return predict.Errorf(codes.FailedPrecondition, "model %q version %d takes a share of the traffic; change the split first", model, version)
	}
	if p.Pinned == 0 {
		// Every replica that follows the store serves the newest version,
		// whatever this one serves (it may have failed to load it).
		versions, err := e.store.Versions(ctx, model)
		if err != nil {
			return StoreError(err)
		}
		if len(versions) > 0 && slices.Max(versions) == version {
			return predict.Errorf(codes.FailedPrecondition, "model %q follows its newest version, %d, which every replica that loaded it serves; pin another version first (swapwire switch), then delete it", model, version)
		}
	}
	if err := e.store.Delete(ctx, model, version); err != nil {
		return StoreError(err)
	}
	e.log.Info("version deleted", "model", model, "version", version, "actor", Actor(ctx))
	e.Refresh()
	return nil
}
