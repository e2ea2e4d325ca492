package modelstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
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
	if p.Generation < 0 {
		return fmt.Errorf("%w: negative generation %d", ErrInvalid, p.Generation)
	}
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

// SetPolicy validates p and replaces the model's POLICY.json atomically,
// whatever it held, with the next generation. It takes the same lock as
// UpdatePolicy, so it never interleaves with one, but it overwrites what
// others wrote since the caller read the policy: prefer UpdatePolicy. The
// model directory is created if needed; the versions p names need not
// exist.
func (l *Local) SetPolicy(ctx context.Context, model string, p Policy) error {
	_, err := l.UpdatePolicy(ctx, model, func(cur *Policy) error {
		*cur = p
		return nil
	})
	return err
}

// UpdatePolicy implements the compare-and-swap contract of [Store] for a
// directory that several processes, on one machine or on several sharing a
// network file system, may write at once. Under an exclusive lock on the
// hidden file <model>/.policy.lock (flock(2), which NFSv4 honours), it reads
// POLICY.json and its generation, calls fn on a copy, validates the result
// and writes it with generation+1 through a synced temporary file renamed
// over the old one. Readers take no lock: they see the old policy or the
// new one. With the lock held the generation cannot move, so fn runs once;
// a file system without locks fails the call instead of risking a lost
// update.
func (l *Local) UpdatePolicy(ctx context.Context, model string, fn func(*Policy) error) (Policy, error) {
	if err := ctx.Err(); err != nil {
		return Policy{}, err
	}
	if err := ValidateModelName(model); err != nil {
		return Policy{}, err
	}
	dir, _, err := l.ensureModelDir(model)
	if err != nil {
		return Policy{}, err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, policyLockName))
	if err != nil {
		return Policy{}, fmt.Errorf("modelstore: lock policy of %s: %w", model, err)
	}
	defer unlock()
	cur, err := l.Policy(ctx, model)
	if pe := (*PolicyError)(nil); errors.As(err, &pe) {
		// An invalid POLICY.json: this write repairs it, starting from the
		// last good policy (or none).
		l.log.Warn("repairing an invalid policy", "model", model, "error", pe.Err)
		cur, err = pe.LastGood, nil
	}
	if err != nil {
		return Policy{}, err
	}
	gen := cur.Generation
	next := cur.Clone()
	if err := fn(&next); err != nil {
		return Policy{}, err
	}
	next.Generation = gen + 1
	if err := next.Validate(); err != nil {
		return Policy{}, fmt.Errorf("modelstore: policy of %s: %w", model, err)
	}
	data, err := EncodePolicy(next)
	if err != nil {
		return Policy{}, fmt.Errorf("modelstore: policy of %s: %w", model, err)
	}
	if err := writeFileAtomic(dir, PolicyName, data); err != nil {
		return Policy{}, fmt.Errorf("modelstore: write policy of %s: %w", model, err)
	}
	l.writeLastGood(dir, data)
	return next, nil
}

// policyLockName is the lock file UpdatePolicy holds in a model directory.
// Being hidden, it is never taken for a version.
const policyLockName = ".policy.lock"

// Clone returns a deep copy of p, so changing its maps leaves p alone.
func (p Policy) Clone() Policy {
	c := p
	c.Labels = maps.Clone(p.Labels)
	c.Weights = maps.Clone(p.Weights)
	return c
}

// EncodePolicy returns p as the indented JSON of a POLICY.json file, after
// checking it with Validate. Stores other than Local use it to write the
// same format.
func EncodePolicy(p Policy) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// DecodePolicy parses a POLICY.json file strictly (see Policy.Validate);
// unknown fields and trailing data are errors wrapping ErrInvalid.
func DecodePolicy(data []byte) (Policy, error) {
	p, err := decodePolicy(data)
	if err != nil && !errors.Is(err, ErrInvalid) {
		err = fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return p, err
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
