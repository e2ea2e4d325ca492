package modelstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// ErrReadOnly is returned by the writing methods of a read-only store such
// as [Static].
var ErrReadOnly = errors.New("modelstore: store is read-only")

// Static is a read-only [Store] that serves one plain directory as version 1
// of one model, for running a model without a store. Open returns the
// directory without any manifest check; Begin, Delete, SetPolicy and
// UpdatePolicy fail
// with ErrReadOnly; Watch never notifies.
type Static struct {
	model string
	dir   string
}

var _ Store = (*Static)(nil)

// NewStatic returns a store whose only model is model, whose only version,
// 1, is dir. A relative dir is made absolute when possible. The model name
// is not validated: it is only compared with the names callers pass.
func NewStatic(model, dir string) *Static {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &Static{model: model, dir: dir}
}

// Models returns the one model.
func (s *Static) Models(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []string{s.model}, nil
}

// Versions returns [1] for the store's model and nothing for any other.
func (s *Static) Versions(ctx context.Context, model string) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if model != s.model {
		return nil, nil
	}
	return []int64{1}, nil
}

// Open returns the directory for version 1 of the store's model, unchecked,
// and an error wrapping ErrNotFound for anything else.
func (s *Static) Open(ctx context.Context, model string, version int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if model != s.model || version != 1 {
		return "", fmt.Errorf("%w: %s version %d", ErrNotFound, model, version)
	}
	return s.dir, nil
}

// Begin fails with ErrReadOnly.
func (s *Static) Begin(ctx context.Context, model string) (Tx, error) {
	return nil, fmt.Errorf("%w: cannot publish %s", ErrReadOnly, model)
}

// Delete fails with ErrReadOnly.
func (s *Static) Delete(ctx context.Context, model string, version int64) error {
	return fmt.Errorf("%w: cannot delete %s version %d", ErrReadOnly, model, version)
}

// Policy returns the zero Policy: the one version serves.
func (s *Static) Policy(ctx context.Context, model string) (Policy, error) {
	if err := ctx.Err(); err != nil {
		return Policy{}, err
	}
	return Policy{}, nil
}

// SetPolicy fails with ErrReadOnly.
func (s *Static) SetPolicy(ctx context.Context, model string, p Policy) error {
	return fmt.Errorf("%w: cannot set the policy of %s", ErrReadOnly, model)
}

// UpdatePolicy fails with ErrReadOnly.
func (s *Static) UpdatePolicy(ctx context.Context, model string, fn func(*Policy) error) (Policy, error) {
	return Policy{}, fmt.Errorf("%w: cannot set the policy of %s", ErrReadOnly, model)
}

// Watch returns a channel that never receives and is closed when ctx ends.
func (s *Static) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan struct{})
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}
