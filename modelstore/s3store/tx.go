package s3store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/swapwire/swapwire/modelstore"
)

// stagingDir is the directory in the cache where versions being published
// are written before upload. Its name is not a model name, so the cache
// never lists it.
const stagingDir = ".staging"

// maxCommitAttempts bounds how often Commit(ctx, 0) moves to the next
// number when concurrent publishers keep claiming the one it chose.
const maxCommitAttempts = 100

type tx struct {
	s     *Store
	model string
	dir   string

	mu   sync.Mutex
	done bool
}

// Begin creates a local staging directory for the new version's files.
// Nothing is uploaded before Commit.
func (s *Store) Begin(ctx context.Context, model string) (modelstore.Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := modelstore.ValidateModelName(model); err != nil {
		return nil, err
	}
	base := filepath.Join(s.cdir, stagingDir)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("s3store: begin %s: %w", model, err)
	}
	dir, err := os.MkdirTemp(base, ".tmp-"+model+"-")
	if err != nil {
		return nil, fmt.Errorf("s3store: begin %s: %w", model, err)
	}
	return &tx{s: s, model: model, dir: dir}, nil
}

func (t *tx) Dir() string { return t.dir }

// Commit hashes the staged files, claims the version number (an object
// created with If-None-Match: *, so two publishers never share a number),
// uploads every file and then MANIFEST.json, again create-only, which is
// the moment the version exists. Version 0 takes one more than the
// highest number in use, moving up when another publisher claims it
// first. A process that dies before the manifest leaves objects that no
// replica lists; Clean removes them.
func (t *tx) Commit(ctx context.Context, version int64) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return 0, modelstore.ErrTxDone
	}
	if version != 0 {
		if err := modelstore.ValidateVersion(version); err != nil {
			return 0, err
		}
	}
	m, err := modelstore.BuildManifest(ctx, t.dir)
	if err != nil {
		return 0, fmt.Errorf("s3store: commit %s: %w", t.model, err)
	}
	mdata, err := m.Encode()
	if err != nil {
		return 0, fmt.Errorf("s3store: commit %s: %w", t.model, err)
	}
	v, err := t.claim(ctx, version)
	if err != nil {
		return 0, err
	}
	vkey := t.s.versionKey(t.model, v)
	for _, f := range m.Files {
		if err := t.upload(ctx, vkey+f.Path, filepath.Join(t.dir, filepath.FromSlash(f.Path)), f.Size); err != nil {
			return 0, err
		}
	}
	if t.s.cfg.beforeManifest != nil {
		t.s.cfg.beforeManifest()
	}
	if _, err := t.s.put(ctx, vkey+modelstore.ManifestName, bytesReader(mdata), int64(len(mdata)), "*"); err != nil {
		if isPrecondition(err) {
			return 0, fmt.Errorf("%w: %s version %d", modelstore.ErrExists, t.model, v)
		}
		return 0, t.s.wrap(fmt.Sprintf("commit %s version %d", t.model, v), err)
	}
	t.done = true
	if _, err := t.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.s.bucket), Key: aws.String(vkey + claimName)}); err != nil {
		t.s.log.Warn("s3store: remove claim after commit; Clean removes it", "model", t.model, "version", v, "error", err)
	}
	if err := os.RemoveAll(t.dir); err != nil {
		t.s.log.Warn("s3store: remove staging directory", "dir", t.dir, "error", err)
	}
	return v, nil
}

// claim reserves a version number by creating its claim object.
func (t *tx) claim(ctx context.Context, version int64) (int64, error) {
	try := func(v int64) error {
		key := t.s.versionKey(t.model, v)
		if vs, err := t.s.Versions(ctx, t.model); err != nil {
			return err
		} else if slices.Contains(vs, v) {
			return fmt.Errorf("%w: %s version %d", modelstore.ErrExists, t.model, v)
		}
		body := []byte("claimed by a publisher\n")
		if _, err := t.s.put(ctx, key+claimName, bytesReader(body), int64(len(body)), "*"); err != nil {
			if isPrecondition(err) {
				return fmt.Errorf("%w: %s version %d is being published", modelstore.ErrExists, t.model, v)
			}
			return t.s.wrap(fmt.Sprintf("claim %s version %d", t.model, v), err)
		}
		return nil
	}
	if version != 0 {
		return version, try(version)
	}
	for range maxCommitAttempts {
		next, err := t.nextNumber(ctx)
		if err != nil {
			return 0, err
		}
		err = try(next)
		if errors.Is(err, modelstore.ErrExists) {
			continue
		}
		return next, err
	}
	return 0, fmt.Errorf("s3store: commit %s: gave up after %d concurrent publishers took the next number", t.model, maxCommitAttempts)
}

// nextNumber is one more than the highest version number with any object,
// committed or not.
func (t *tx) nextNumber(ctx context.Context) (int64, error) {
	objs, err := t.s.list(ctx, "list versions", t.s.modelKey(t.model)[len(t.s.prefix):])
	if err != nil {
		return 0, err
	}
	var top int64
	for _, o := range objs {
		if _, ver, _, ok := split(o.key); ok {
			if v, ok := modelstore.ParseVersion(ver); ok && v > top {
				top = v
			}
		}
	}
	return top + 1, nil
}

func (t *tx) upload(ctx context.Context, key, file string, size int64) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("s3store: commit %s: %w", t.model, err)
	}
	defer f.Close()
	if _, err := t.s.put(ctx, key, f, size, ""); err != nil {
		return t.s.wrap("upload "+strings.TrimPrefix(key, t.s.prefix), err)
	}
	return nil
}

// Abort removes the staging directory. Objects of a failed Commit stay
// until Clean removes them; no replica loads them, having no manifest.
func (t *tx) Abort() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	t.done = true
	if err := os.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("s3store: abort %s: %w", t.model, err)
	}
	return nil
}
