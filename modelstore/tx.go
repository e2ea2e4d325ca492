package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// ErrTxDone is returned by Commit on a transaction that was already
// committed or aborted.
var ErrTxDone = errors.New("modelstore: transaction already committed or aborted")

// maxCommitAttempts bounds how often Commit(ctx, 0) retries with the next
// number when concurrent publishers keep taking the one it chose.
const maxCommitAttempts = 100

// localTx publishes one version of a Local store.
type localTx struct {
	l            *Local
	model        string
	modelDir     string
	dir          string
	createdModel bool

	mu   sync.Mutex
	done bool
}

// Begin creates a hidden temporary directory, <root>/<model>/.tmp-*, for the
// new version's files, creating the model directory if needed. Being in the
// model directory, it is on the same file system as the committed versions,
// so Commit can rename it into place atomically.
func (l *Local) Begin(ctx context.Context, model string) (Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A concurrent Abort may remove a model directory it created between our
	// Mkdir and MkdirTemp; try again then.
	for attempt := 0; ; attempt++ {
		mdir, created, err := l.ensureModelDir(model)
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp(mdir, tmpPrefix)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("modelstore: begin %s: %w", model, err)
		}
		return &localTx{l: l, model: model, modelDir: mdir, dir: dir, createdModel: created}, nil
	}
}

// Dir returns the temporary directory to write the version's files into.
// After Commit or Abort it names a directory that no longer exists.
func (t *localTx) Dir() string { return t.dir }

// Commit hashes and syncs every file under Dir, writes MANIFEST.json, makes
// the directory readable (0755) and renames it to the version number. Files
// must be regular files or directories; a symbolic link, a special file or a
// top-level file named MANIFEST.json is an error. With version 0 the number
// is one more than the highest committed version, retried upwards if a
// concurrent publisher takes it first. A taken explicit number gives
// ErrExists: the rename cannot replace a committed version because that
// directory is never empty (it holds its manifest). After a failed Commit
// the transaction stays open: retry, or Abort.
func (t *localTx) Commit(ctx context.Context, version int64) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return 0, ErrTxDone
	}
	if version != 0 {
		if err := ValidateVersion(version); err != nil {
			return 0, err
		}
	}
	m, err := buildManifest(ctx, t.dir)
	if err != nil {
		return 0, fmt.Errorf("modelstore: commit %s: %w", t.model, err)
	}
	data, err := m.encode()
	if err != nil {
		return 0, fmt.Errorf("modelstore: commit %s: %w", t.model, err)
	}
	mpath := filepath.Join(t.dir, ManifestName)
	if err := writeFileSync(mpath, data, 0o644); err != nil {
		return 0, fmt.Errorf("modelstore: commit %s: write manifest: %w", t.model, err)
	}
	v, err := t.rename(ctx, version)
	if err != nil {
		// Leave the directory as it was, so a retry rebuilds the manifest.
		if rerr := os.Remove(mpath); rerr != nil {
			t.l.log.Warn("modelstore: remove manifest after failed commit", "model", t.model, "error", rerr)
		}
		return 0, err
	}
	t.done = true
	if err := syncDir(t.modelDir); err != nil {
		t.l.log.Warn("modelstore: sync model directory after commit", "model", t.model, "version", v, "error", err)
	}
	return v, nil
}

// rename moves the temporary directory to its version number.
func (t *localTx) rename(ctx context.Context, version int64) (int64, error) {
	if err := syncDir(t.dir); err != nil {
		return 0, fmt.Errorf("modelstore: commit %s: %w", t.model, err)
	}
	if err := os.Chmod(t.dir, 0o755); err != nil {
		return 0, fmt.Errorf("modelstore: commit %s: %w", t.model, err)
	}
	if version != 0 {
		return version, t.renameTo(version)
	}
	for range maxCommitAttempts {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		vs, err := listVersions(t.modelDir)
		if err != nil {
			return 0, err
		}
		next := int64(1)
		if len(vs) > 0 {
			if vs[len(vs)-1] == math.MaxInt64 {
				return 0, fmt.Errorf("modelstore: commit %s: no version number left", t.model)
			}
			next = vs[len(vs)-1] + 1
		}
		err = t.renameTo(next)
		if errors.Is(err, ErrExists) {
			continue
		}
		return next, err
	}
	return 0, fmt.Errorf("modelstore: commit %s: gave up after %d concurrent commits took the next number", t.model, maxCommitAttempts)
}

// renameTo renames the temporary directory to version, mapping "the target
// exists" to ErrExists. Anything already at the target, even an empty
// directory that rename(2) would replace, counts as taken.
func (t *localTx) renameTo(version int64) error {
	target := filepath.Join(t.modelDir, versionName(version))
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("%w: %s version %d", ErrExists, t.model, version)
	}
	if err := os.Rename(t.dir, target); err != nil {
		if _, serr := os.Lstat(target); serr == nil {
			return fmt.Errorf("%w: %s version %d", ErrExists, t.model, version)
		}
		return fmt.Errorf("modelstore: commit %s version %d: %w", t.model, version, err)
	}
	return nil
}

// Abort removes the temporary directory, and the model directory if Begin
// created it and it is now empty. It is a no-op after Commit or Abort.
func (t *localTx) Abort() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	t.done = true
	if err := os.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("modelstore: abort %s: %w", t.model, err)
	}
	if t.createdModel {
		// Fails harmlessly when another version or transaction is there.
		_ = os.Remove(t.modelDir)
	}
	return nil
}
