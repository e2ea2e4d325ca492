package s3store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/swapwire/swapwire/modelstore"
)

// maxPolicyBytes bounds a POLICY.json read.
const maxPolicyBytes = 1 << 20

// maxPolicyAttempts bounds UpdatePolicy's compare-and-swap attempts; with
// hundreds of writers on one model each attempt still lets one through.
const maxPolicyAttempts = 500

// readPolicy returns the model's policy and its ETag ("" when absent).
func (s *Store) readPolicy(ctx context.Context, model string) (modelstore.Policy, string, error) {
	if err := modelstore.ValidateModelName(model); err != nil {
		return modelstore.Policy{}, "", err
	}
	data, etag, err := s.get(ctx, "read policy of "+model, s.modelKey(model)+modelstore.PolicyName, maxPolicyBytes)
	if isNotFoundErr(err) {
		return modelstore.Policy{}, "", nil
	}
	if err != nil {
		return modelstore.Policy{}, "", err
	}
	p, err := modelstore.DecodePolicy(data)
	if err != nil {
		return modelstore.Policy{}, "", fmt.Errorf("s3store: policy of %s: %w", model, err)
	}
	return p, etag, nil
}

// Policy returns the model's policy, or the zero Policy when none was
// written. A POLICY.json that is not a valid policy is an error wrapping
// modelstore.ErrInvalid.
func (s *Store) Policy(ctx context.Context, model string) (modelstore.Policy, error) {
	p, _, err := s.readPolicy(ctx, model)
	return p, err
}

// SetPolicy replaces the model's policy, whatever it held; prefer
// UpdatePolicy, which never overwrites a concurrent write.
func (s *Store) SetPolicy(ctx context.Context, model string, p modelstore.Policy) error {
	_, err := s.UpdatePolicy(ctx, model, func(cur *modelstore.Policy) error {
		*cur = p
		return nil
	})
	return err
}

// UpdatePolicy implements the compare-and-swap contract of
// [modelstore.Store] with conditional requests: it reads POLICY.json and
// its ETag, calls fn, and writes the result with If-Match: <ETag> (or
// If-None-Match: * when there was no policy). A 412 Precondition Failed or
// 409 ConditionalRequestConflict means another writer won: it waits a
// short random time and starts again. The store must honour conditional
// writes (AWS S3 and current MinIO, Ceph RGW and versitygw do).
func (s *Store) UpdatePolicy(ctx context.Context, model string, fn func(*modelstore.Policy) error) (modelstore.Policy, error) {
	backoff := time.Millisecond
	for attempt := 0; attempt < maxPolicyAttempts; attempt++ {
		cur, etag, err := s.readPolicy(ctx, model)
		if err != nil {
			return modelstore.Policy{}, err
		}
		next := cur.Clone()
		if err := fn(&next); err != nil {
			return modelstore.Policy{}, err
		}
		next.Generation = cur.Generation + 1
		data, err := modelstore.EncodePolicy(next)
		if err != nil {
			return modelstore.Policy{}, fmt.Errorf("s3store: policy of %s: %w", model, err)
		}
		cond := etag
		if cond == "" {
			cond = "*"
		}
		_, err = s.put(ctx, s.modelKey(model)+modelstore.PolicyName, bytesReader(data), int64(len(data)), cond)
		if err == nil {
			return next, nil
		}
		if !isPrecondition(err) {
			return modelstore.Policy{}, s.wrap("write policy of "+model, err)
		}
		t := time.NewTimer(rand.N(backoff) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return modelstore.Policy{}, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
	return modelstore.Policy{}, fmt.Errorf("%w: %s after %d attempts", modelstore.ErrConflict, model, maxPolicyAttempts)
}
