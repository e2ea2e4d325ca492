package modelstore

import (
	"context"
	"errors"
)

// Store is where model versions live.
type Store interface {
	// Models returns the names of the models in the store, sorted.
	Models(ctx context.Context) ([]string, error)
	// Versions returns the committed versions of a model, ascending. A model
	// that does not exist has no versions and no error.
	Versions(ctx context.Context, model string) ([]int64, error)
	// Open returns a local directory holding the version's files after
	// checking them against the version's manifest. A version that fails the
	// check returns an error wrapping ErrCorrupt; one that does not exist,
	// an error wrapping ErrNotFound.
	Open(ctx context.Context, model string, version int64) (dir string, err error)
	// Begin starts publishing a new version of model. Nothing is visible
	// until the transaction commits.
	Begin(ctx context.Context, model string) (Tx, error)
	// Delete removes a committed version.
	Delete(ctx context.Context, model string, version int64) error
	// Policy returns a model's serving policy; the zero Policy when none was set.
	Policy(ctx context.Context, model string) (Policy, error)
	// SetPolicy replaces a model's serving policy atomically, whatever it
	// was. It overwrites concurrent writers' changes; prefer UpdatePolicy.
	SetPolicy(ctx context.Context, model string, p Policy) error
	// UpdatePolicy changes a model's policy by read-modify-write with
	// compare-and-swap underneath: it reads the policy (the zero Policy
	// when none was set), calls fn on a copy, and writes the result only if
	// the policy was not written by anyone else in between; otherwise it
	// reads again and calls fn again. fn must therefore be a pure function
	// of the policy it gets. It returns the policy written, with its new
	// Generation. An error from fn aborts the update and is returned as is;
	// so does ctx ending. When other writers win every attempt, the error
	// wraps ErrConflict. Concurrent UpdatePolicy calls, from any number of
	// goroutines, processes and machines sharing the store, never lose an
	// update.
	UpdatePolicy(ctx context.Context, model string, fn func(*Policy) error) (Policy, error)
	// Watch returns a channel that receives a value soon after anything in
	// the store changes (a version committed or deleted, a policy written).
	// Notifications coalesce: one value may stand for many changes. The
	// channel is closed when ctx ends.
	Watch(ctx context.Context) (<-chan struct{}, error)
}

// Tx is a version being published.
type Tx interface {
	// Dir is the private directory to write the version's files into.
	Dir() string
	// Commit writes the manifest and makes the version visible under the
	// given number, or the next free number when version is 0. It fails
	// with ErrExists if that version already exists.
	Commit(ctx context.Context, version int64) (int64, error)
	// Abort discards everything written. It is safe after Commit (a no-op).
	Abort() error
}

// Policy says which version of a model serves.
type Policy struct {
	// Pinned is the version to serve; 0 means follow the latest version.
	Pinned int64 `json:"pinned,omitempty"`
	// Labels maps label names to versions.
	Labels map[string]int64 `json:"labels,omitempty"`
	// Generation counts the writes of the policy: the store sets it on
	// every write (the value a caller passes is ignored) and a read returns
	// it. It is 0 for a policy that was never written.
	Generation int64 `json:"generation,omitempty"`
	// Weights splits the traffic that names no version or label among
	// versions, in proportion to their weights (an A/B test or a canary:
	// {3: 90, 4: 10}). Empty sends it all to the serving version.
	Weights map[int64]int `json:"weights,omitempty"`
}

// Errors returned by stores, matched with errors.Is.
var (
	// ErrNotFound: the model or version does not exist.
	ErrNotFound = errors.New("modelstore: not found")
	// ErrCorrupt: the version has no valid manifest, or its files do not
	// match it.
	ErrCorrupt = errors.New("modelstore: version does not match its manifest")
	// ErrExists: Commit asked for a version number that is taken.
	ErrExists = errors.New("modelstore: version exists")
	// ErrInvalid: a model name, label, version number or policy is invalid.
	ErrInvalid = errors.New("modelstore: invalid argument")
	// ErrConflict: UpdatePolicy gave up because concurrent writers changed
	// the policy on every attempt.
	ErrConflict = errors.New("modelstore: policy changed concurrently")
	// ErrUnavailable: the store could not be reached or answered with a
	// server error. What the store said before is still the best knowledge:
	// a server must keep serving what it serves (fail static) and retry.
	ErrUnavailable = errors.New("modelstore: store unavailable")
)
