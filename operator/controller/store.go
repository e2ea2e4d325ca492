package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// PolicyStore is the part of a [modelstore.Store] the operator uses: it
// reads versions and policies and writes policies, nothing else.
type PolicyStore interface {
	Versions(ctx context.Context, model string) ([]int64, error)
	Policy(ctx context.Context, model string) (modelstore.Policy, error)
	SetPolicy(ctx context.Context, model string, p modelstore.Policy) error
}

// policyUpdater is a store with compare-and-swap policy writes. When a
// store has it the operator uses it, so a concurrent writer's change is
// never lost between the read and the write.
type policyUpdater interface {
	UpdatePolicy(ctx context.Context, model string, fn func(*modelstore.Policy) error) (modelstore.Policy, error)
}

// StoreOpener opens the store a ModelService names. It returns
// ErrStoreUnsupported for a store this operator cannot reach.
type StoreOpener interface {
	Open(ctx context.Context, ms *v1alpha1.ModelService) (PolicyStore, error)
}

// ErrStoreUnsupported: the operator has no way to reach the store.
var ErrStoreUnsupported = errors.New("operator cannot reach this store")

// errPinMissing: a model is pinned to a version the store does not hold.
var errPinMissing = errors.New("the pinned version is not in the store")

// VolumeStores opens volume stores from where the operator's own pod sees
// them: a hostPath store at its path, and a claim's store at
// ClaimRoot/<claimName> (mount each claim there). An empty ClaimRoot
// leaves claims unsupported; S3 stores are unsupported.
type VolumeStores struct {
	ClaimRoot string
	// Options for modelstore.NewLocal.
	Options []modelstore.LocalOption
}

// Open implements [StoreOpener].
func (v VolumeStores) Open(_ context.Context, ms *v1alpha1.ModelService) (PolicyStore, error) {
	vol := ms.Spec.Store.Volume
	switch {
	case vol != nil && vol.HostPath != "":
		return modelstore.NewLocal(vol.HostPath, v.Options...)
	case vol != nil && vol.ClaimName != "" && v.ClaimRoot != "":
		return modelstore.NewLocal(filepath.Join(v.ClaimRoot, vol.ClaimName), v.Options...)
	}
	return nil, ErrStoreUnsupported
}

// desiredPolicy is the policy a model's spec asks for.
func desiredPolicy(m v1alpha1.ModelSpec) modelstore.Policy {
	var p modelstore.Policy
	if m.Version != nil {
		p.Pinned = *m.Version
	}
	if len(m.Labels) > 0 {
		p.Labels = maps.Clone(m.Labels)
	}
	if len(m.Traffic) > 0 {
		p.Weights = make(map[int64]int, len(m.Traffic))
		for _, t := range m.Traffic {
			p.Weights[t.Version] = int(t.Weight)
		}
	}
	return p
}

// samePolicy compares what a spec controls, ignoring bookkeeping such as
// a store's generation counter.
func samePolicy(a, b modelstore.Policy) bool {
	return a.Pinned == b.Pinned && maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Weights, b.Weights)
}

// syncModel writes the model's policy when it differs from the spec and
// reports what the store holds. A failed write leaves the store as it
// was and is reported in the status; the server keeps serving.
func syncModel(ctx context.Context, s PolicyStore, m v1alpha1.ModelSpec) (v1alpha1.ModelStatus, bool, error) {
	st := v1alpha1.ModelStatus{Name: m.Name}
	want := desiredPolicy(m)
	if err := want.Validate(); err != nil {
		return st, false, err
	}
	cur, err := s.Policy(ctx, m.Name)
	if err != nil {
		return st, false, fmt.Errorf("read policy of %s: %w", m.Name, err)
	}
	wrote := false
	if !samePolicy(cur, want) {
		if u, ok := s.(policyUpdater); ok {
			cur, err = u.UpdatePolicy(ctx, m.Name, func(p *modelstore.Policy) error {
				p.Pinned, p.Labels, p.Weights = want.Pinned, want.Labels, want.Weights
				return nil
			})
		} else {
			err = s.SetPolicy(ctx, m.Name, want)
			cur = want
		}
		if err != nil {
			return st, false, fmt.Errorf("write policy of %s: %w", m.Name, err)
		}
		wrote = true
	}
	st.PolicyGeneration = generation(cur)
	versions, err := s.Versions(ctx, m.Name)
	if err != nil {
		return st, wrote, fmt.Errorf("list versions of %s: %w", m.Name, err)
	}
	st.Versions = versions
	switch {
	case cur.Pinned != 0 && slices.Contains(versions, cur.Pinned):
		st.ServingVersion = cur.Pinned
	case cur.Pinned != 0:
		return st, wrote, fmt.Errorf("model %s: %w: version %d (the store has %v); the servers keep what they serve", m.Name, errPinMissing, cur.Pinned, versions)
	case len(versions) > 0:
		st.ServingVersion = versions[len(versions)-1]
	}
	return st, wrote, nil
}
