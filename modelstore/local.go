package modelstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Hidden name prefixes inside a model directory. Neither can be a model name
// or a version number, so readers never mistake them for either.
const (
	tmpPrefix   = ".tmp-"
	trashPrefix = ".trash-"
)

// Local is a [Store] in a directory of the local file system, or of a
// network file system mounted on it, laid out as
//
//	<root>/<model>/<version>/...            a committed version
//	<root>/<model>/<version>/MANIFEST.json  its manifest
//	<root>/<model>/POLICY.json              the model's policy
//	<root>/<model>/.tmp-*                   versions being published
//
// Models are the directories directly under root whose names pass
// [ValidateModelName]. Versions are the directories in a model directory
// named by the canonical decimal form of a positive number ("7", never
// "007", "+7", "0" or "-1"); every other entry, hidden or not, is ignored.
// Symbolic links are never followed at the model or version level, and
// Open refuses symbolic links inside a version, so no call reads or writes
// outside root.
//
// Several processes, on one machine or several, may share a root: commits
// are atomic renames, a version number can be taken only once, and the
// policy file is replaced atomically.
//
// A Local is safe for concurrent use.
type Local struct {
	root string
	cfg  localConfig
	log  *slog.Logger

	mu       sync.Mutex
	verified map[string]*verifyRecord // version dir → what was verified

	// resident is the page-cache check of the verify cache (a seam for
	// tests); hashed counts the versions whose files Open hashed.
	resident func(*os.File, int64) bool
	hashed   atomic.Int64
}

var _ Store = (*Local)(nil)

// verifyRecord is what Open saw of a version it verified, and when.
type verifyRecord struct {
	manifest fs.FileInfo
	files    map[string]fs.FileInfo
	at       time.Time
}

// NewLocal returns a store rooted at root, which must be an existing
// directory. Relative roots are made absolute, so Open returns absolute
// paths.
func NewLocal(root string, opts ...LocalOption) (*Local, error) {
	cfg := localConfig{
		poll:         DefaultPollInterval,
		fsnotify:     true,
		debounce:     DefaultDebounce,
		verifyCache:  true, // see WithVerifyCache for what a cached Open still checks
		verifyMaxAge: DefaultVerifyMaxAge,
	}
	for _, o := range opts {
		o.applyLocal(&cfg)
	}
	if cfg.poll < 0 {
		return nil, fmt.Errorf("modelstore: negative poll interval %v", cfg.poll)
	}
	if cfg.debounce < 0 {
		return nil, fmt.Errorf("modelstore: negative debounce %v", cfg.debounce)
	}
	cfg.maxWait = max(10*cfg.debounce, time.Second)
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("modelstore: root %q: %w", root, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("modelstore: root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("modelstore: root %s is not a directory", abs)
	}
	return &Local{
		root:     abs,
		cfg:      cfg,
		log:      cfg.logger,
		verified: make(map[string]*verifyRecord),
		resident: resident,
	}, nil
}

// Root returns the absolute path of the store's root directory.
func (l *Local) Root() string { return l.root }

// Models returns the names of the model directories, sorted. A model whose
// only version is still being published, or whose versions were all deleted,
// may be listed with no versions.
func (l *Local) Models(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.root)
	if err != nil {
		return nil, fmt.Errorf("modelstore: list models: %w", err)
	}
	models := []string{}
	for _, e := range entries {
		if e.IsDir() && ValidateModelName(e.Name()) == nil {
			models = append(models, e.Name())
		}
	}
	return models, nil
}

// Versions returns the committed versions of model, ascending. A version
// directory is listed as soon as it exists, even one that Open would reject
// as corrupt.
func (l *Local) Versions(ctx context.Context, model string) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := l.modelDir(model)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return listVersions(dir)
}

func listVersions(modelDir string) ([]int64, error) {
	entries, err := os.ReadDir(modelDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("modelstore: list versions: %w", err)
	}
	var vs []int64
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if v, ok := parseVersion(e.Name()); ok {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// modelDir returns the directory of a valid model name, checking that it is
// a real directory (not a symbolic link). A missing model gives ErrNotFound.
func (l *Local) modelDir(model string) (string, error) {
	if err := ValidateModelName(model); err != nil {
		return "", err
	}
	dir := filepath.Join(l.root, model)
	info, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: model %s", ErrNotFound, model)
	}
	if err != nil {
		return "", fmt.Errorf("modelstore: model %s: %w", model, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%w: model %s: not a directory", ErrNotFound, model)
	}
	return dir, nil
}

// ensureModelDir creates the model directory if needed and reports whether
// this call created it.
func (l *Local) ensureModelDir(model string) (string, bool, error) {
	if err := ValidateModelName(model); err != nil {
		return "", false, err
	}
	dir := filepath.Join(l.root, model)
	err := os.Mkdir(dir, 0o755)
	created := err == nil
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return "", false, fmt.Errorf("modelstore: create model %s: %w", model, err)
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return "", false, fmt.Errorf("modelstore: model %s: %w", model, err)
	}
	if !info.IsDir() {
		return "", false, fmt.Errorf("modelstore: model %s: %s is not a directory", model, dir)
	}
	return dir, created, nil
}

// versionDir returns the directory of a committed version, checking that it
// is a real directory. A missing version gives ErrNotFound.
func (l *Local) versionDir(model string, version int64) (string, error) {
	if err := ValidateVersion(version); err != nil {
		return "", err
	}
	mdir, err := l.modelDir(model)
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("%w: %s version %d", ErrNotFound, model, version)
	}
	if err != nil {
		return "", err
	}
	dir := filepath.Join(mdir, versionName(version))
	info, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s version %d", ErrNotFound, model, version)
	}
	if err != nil {
		return "", fmt.Errorf("modelstore: %s version %d: %w", model, version, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%w: %s version %d: not a directory", ErrNotFound, model, version)
	}
	return dir, nil
}

// Open checks a version against its manifest and returns its directory.
// Every file the manifest lists must exist with the listed size and SHA-256,
// and the directory must hold nothing else but subdirectories and the
// manifest itself; otherwise the error wraps ErrCorrupt and names the file.
// A version without a complete, valid manifest (for example one being
// copied into place file by file) is corrupt. The caller must not write to
// the returned directory.
func (l *Local) Open(ctx context.Context, model string, version int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir, err := l.versionDir(model, version)
	if err != nil {
		return "", err
	}
	if err := l.verify(ctx, dir); err != nil {
		var ce *corruptError
		if errors.As(err, &ce) {
			ce.file = model + "/" + versionName(version) + "/" + ce.file
			return "", ce
		}
		return "", fmt.Errorf("modelstore: open %s version %d: %w", model, version, err)
	}
	return dir, nil
}

// verify checks the version directory dir against its manifest, using the
// cache when it is on.
func (l *Local) verify(ctx context.Context, dir string) error {
	m, minfo, err := readManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// A directory copied into the store by hand: say how to add one.
		return corruptFile(ManifestName, fmt.Errorf("%w (versions are added with `swapwire upload` to a running server or `swapwire publish --model-store` offline, which write the manifest and commit atomically; a directory copied into the store is never served)", err))
	}
	if err != nil {
		return corruptFile(ManifestName, err)
	}
	files, err := walkVersion(ctx, dir)
	if ee := (*entryError)(nil); errors.As(err, &ee) {
		return corruptFile(ee.rel, ee.err)
	}
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = true
		if _, ok := files[f.Path]; !ok {
			return corruptFile(f.Path, errors.New("listed in the manifest but missing"))
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if !listed[rel] {
			return corruptFile(rel, errors.New("not listed in the manifest"))
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if l.cfg.verifyCache && l.cached(root, dir, minfo, files) {
		return nil
	}
	at := time.Now()
	l.hashed.Add(1)
	if err := verifyFiles(ctx, root, m); err != nil {
		l.forget(dir)
		return err
	}
	if l.cfg.verifyCache {
		l.mu.Lock()
		l.verified[dir] = &verifyRecord{manifest: minfo, files: files, at: at}
		l.mu.Unlock()
	}
	return nil
}

// cached reports whether Open may skip hashing dir: it hashed the version
// less than the maximum age ago, neither its manifest nor any of its files
// has changed identity, size, mode, modification or change time since, and
// every page of every file is in the page cache, so that what the
// predictor reads now is what was hashed (a page read back from the disk
// is hashed again, so bit rot on the disk is caught).
func (l *Local) cached(root *os.Root, dir string, minfo fs.FileInfo, files map[string]fs.FileInfo) bool {
	l.mu.Lock()
	rec := l.verified[dir]
	l.mu.Unlock()
	if rec == nil || time.Since(rec.at) >= l.cfg.verifyMaxAge || !sameFile(rec.manifest, minfo) || len(rec.files) != len(files) {
		return false
	}
	for rel, info := range files {
		old, ok := rec.files[rel]
		if !ok || !sameFile(old, info) || !l.residentFile(root, rel, info) {
			return false
		}
	}
	return true
}

// residentFile opens rel under root and reports whether it is still the
// file described by info and wholly in the page cache.
func (l *Local) residentFile(root *os.Root, rel string, info fs.FileInfo) bool {
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return false
	}
	defer f.Close()
	now, err := f.Stat()
	if err != nil || !sameFile(info, now) {
		return false
	}
	return l.resident(f, now.Size())
}

func sameFile(a, b fs.FileInfo) bool {
	if !os.SameFile(a, b) || a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) || a.Mode() != b.Mode() {
		return false
	}
	ca, oka := changeTime(a)
	cb, okb := changeTime(b)
	return oka == okb && ca.Equal(cb)
}

func (l *Local) forget(dir string) {
	l.mu.Lock()
	delete(l.verified, dir)
	l.mu.Unlock()
}

// Delete removes a committed version. The version directory is first renamed
// to a hidden name, so readers see the whole version or none of it, and then
// removed. Delete does not look at the policy: deleting a pinned or labelled
// version is allowed.
func (l *Local) Delete(ctx context.Context, model string, version int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := l.versionDir(model, version)
	if err != nil {
		return err
	}
	l.forget(dir)
	trash := filepath.Join(filepath.Dir(dir), trashPrefix+versionName(version)+"-"+randomSuffix())
	if err := os.Rename(dir, trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s version %d", ErrNotFound, model, version)
		}
		return fmt.Errorf("modelstore: delete %s version %d: %w", model, version, err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		l.log.Warn("modelstore: sync model directory after delete", "model", model, "version", version, "error", err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("modelstore: delete %s version %d: remove %s: %w", model, version, trash, err)
	}
	return nil
}

// Clean removes what interrupted operations left in the store: temporary
// directories and files (.tmp-*) last modified more than olderThan ago, and
// every half-deleted version (.trash-*). olderThan must exceed the longest
// publish in progress, since a transaction's directory is not touched while
// a large file is written into it.
func (l *Local) Clean(ctx context.Context, olderThan time.Duration) error {
	models, err := l.Models(ctx)
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, model := range models {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir, err := l.modelDir(model)
		if err != nil {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case strings.HasPrefix(name, trashPrefix):
			case strings.HasPrefix(name, tmpPrefix):
				info, err := e.Info()
				if err != nil || info.ModTime().After(cutoff) {
					continue
				}
			default:
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("modelstore: clean: %w", err)
	}
	return nil
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
