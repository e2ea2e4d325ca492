package modelstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// PolicyName is the name of the file in a model directory that holds the
// model's [Policy] as JSON, for example
//
//	{"pinned": 3, "labels": {"stable": 3, "canary": 4}}
const PolicyName = "POLICY.json"

// maxPolicySize bounds how much of a policy file is read.
const maxPolicySize = 1 << 20

// Validate reports whether p is a policy a store accepts: Pinned is zero or
// a valid version, and every label passes [ValidateLabel] and points at a
// valid version. The error wraps ErrInvalid. It does not check that the
// versions exist.
func (p Policy) Validate() error {
	if p.Pinned != 0 {
		if err := ValidateVersion(p.Pinned); err != nil {
			return fmt.Errorf("pinned: %w", err)
		}
	}
	for name, v := range p.Labels {
		if err := ValidateLabel(name); err != nil {
			return err
		}
		if err := ValidateVersion(v); err != nil {
			return fmt.Errorf("label %s: %w", name, err)
		}
	}
	total := 0
	for v, w := range p.Weights {
		if err := ValidateVersion(v); err != nil {
			return fmt.Errorf("weight of version %d: %w", v, err)
		}
		if w < 0 || w > MaxWeight {
			return fmt.Errorf("%w: weight %d of version %d is outside 0..%d", ErrInvalid, w, v, MaxWeight)
		}
		total += w
	}
	if len(p.Weights) > 0 && total == 0 {
		return fmt.Errorf("%w: every weight is zero", ErrInvalid)
	}
	return nil
}

// MaxWeight is the largest weight a version may have in Policy.Weights.
const MaxWeight = 1_000_000

// decodePolicy parses a policy file strictly: unknown fields, trailing data
// and invalid values are errors, so a typo never silently changes what
// serves.
func decodePolicy(data []byte) (Policy, error) {
	if len(data) > maxPolicySize {
		return Policy{}, fmt.Errorf("policy larger than %d bytes", maxPolicySize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("decode policy: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Policy{}, errors.New("decode policy: data after the policy object")
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Policy returns the policy in the model's POLICY.json, or the zero Policy
// when the file (or the model) does not exist. A file that is not a valid
// policy is a *PolicyError, returned with the last good policy when the
// store kept one.
func (l *Local) Policy(ctx context.Context, model string) (Policy, error) {
	if err := ctx.Err(); err != nil {
		return Policy{}, err
	}
	dir, err := l.modelDir(model)
	if errors.Is(err, ErrNotFound) {
		return Policy{}, nil
	}
	if err != nil {
		return Policy{}, err
	}
	f, err := os.Open(filepath.Join(dir, PolicyName))
	if errors.Is(err, fs.ErrNotExist) {
		return Policy{}, nil
	}
	if err != nil {
		return Policy{}, fmt.Errorf("modelstore: policy of %s: %w", model, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return Policy{}, fmt.Errorf("modelstore: policy of %s: %w", model, err)
	}
	p, err := decodePolicy(data)
	if err != nil {
		return l.lastGoodPolicy(dir, model, err)
	}
	l.rememberPolicy(dir, data)
	return p, nil
}

// SetPolicy validates p and replaces the model's POLICY.json atomically: it
// writes a temporary file in the model directory, syncs it and renames it
// over the old one, so a reader sees the old policy or the new one, never
// a mix. The model directory is created if needed; the versions p names
// need not exist.
func (l *Local) SetPolicy(ctx context.Context, model string, p Policy) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateModelName(model); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("modelstore: policy of %s: %w", model, err)
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("modelstore: policy of %s: %w", model, err)
	}
	data = append(data, '\n')
	dir, _, err := l.ensureModelDir(model)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(dir, PolicyName, data); err != nil {
		return fmt.Errorf("modelstore: write policy of %s: %w", model, err)
	}
	l.rememberPolicy(dir, data)
	return nil
}

// writeFileAtomic replaces dir/name with data through a synced temporary
// file in dir and a rename, then syncs dir.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+name+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}
