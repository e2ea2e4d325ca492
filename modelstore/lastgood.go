package modelstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// lastGoodName is the file in a model directory that keeps a copy of the
// last valid policy the store read or wrote, so that a POLICY.json that
// turns to garbage does not silently unpin a model after a restart.
const lastGoodName = ".POLICY.last-good.json"

// PolicyError is the error Policy returns when POLICY.json exists but is
// not a valid policy. The store then also returns its last good policy,
// when it kept one, so that a reader can keep serving what that policy
// asked for (fail-static) instead of acting on nothing.
type PolicyError struct {
	Model string
	Err   error
	// LastGood is the last valid policy the store saw; HasLastGood says
	// whether there was one.
	LastGood    Policy
	HasLastGood bool
}

func (e *PolicyError) Error() string {
	if e.HasLastGood {
		return fmt.Sprintf("modelstore: policy of %s is invalid (the last good policy is kept): %v", e.Model, e.Err)
	}
	return fmt.Sprintf("modelstore: policy of %s is invalid: %v", e.Model, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

// rememberPolicy keeps data, a valid policy, as the model's last good
// policy unless the copy already holds it. Failures are logged, not
// returned: the copy is a safety net, and a read-only store has none.
func (l *Local) rememberPolicy(dir string, data []byte) {
	old, err := os.ReadFile(filepath.Join(dir, lastGoodName))
	if err == nil && bytes.Equal(old, data) {
		return
	}
	l.writeLastGood(dir, data)
}

// writeLastGood replaces the last good copy with data, a valid policy,
// without reading the copy first: for UpdatePolicy, whose new generation
// never equals what the copy holds.
func (l *Local) writeLastGood(dir string, data []byte) {
	if err := writeFileRename(dir, lastGoodName, data); err != nil {
		l.log.Debug("cannot keep the last good policy", "dir", dir, "error", err)
	}
}

// writeFileRename replaces dir/name with data through a temporary file and
// a rename, without syncing: the copy is rewritten on every policy change,
// and a copy lost in a crash is only a missing safety net (a torn one fails
// to decode and is ignored).
func writeFileRename(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, tmpPrefix+name+"-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// lastGoodPolicy returns the model's last good policy and a *PolicyError
// that wraps cause.
func (l *Local) lastGoodPolicy(dir, model string, cause error) (Policy, error) {
	pe := &PolicyError{Model: model, Err: cause}
	f, err := os.Open(filepath.Join(dir, lastGoodName))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("cannot read the last good policy", "model", model, "error", err)
		}
		return Policy{}, pe
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return Policy{}, pe
	}
	p, err := decodePolicy(data)
	if err != nil {
		l.log.Warn("the last good policy is invalid too", "model", model, "error", err)
		return Policy{}, pe
	}
	pe.LastGood, pe.HasLastGood = p, true
	return p, pe
}
