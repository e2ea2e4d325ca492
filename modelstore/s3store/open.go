package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/swapwire/swapwire/modelstore"
)

// maxManifestBytes bounds a MANIFEST.json read.
const maxManifestBytes = 64 << 20

func isNotFoundErr(err error) bool { return errors.Is(err, modelstore.ErrNotFound) }

// Open returns a local directory holding the version's files, checked
// against its manifest. It reads the manifest from the store; when the
// cache holds the same version with the same manifest, it rehashes the
// cached files and returns them, otherwise it downloads every file the
// manifest lists, checking each one's size and SHA-256 as it arrives, and
// only then moves the version into the cache. A mismatch is an error
// wrapping modelstore.ErrCorrupt that names the file; nothing of such a
// download is kept. When the store is unavailable, a version already in
// the cache that passes its check is returned, so a restarting replica can
// serve what it served before.
func (s *Store) Open(ctx context.Context, model string, version int64) (string, error) {
	if err := modelstore.ValidateModelName(model); err != nil {
		return "", err
	}
	if err := modelstore.ValidateVersion(version); err != nil {
		return "", err
	}
	vkey := s.versionKey(model, version)
	data, _, err := s.get(ctx, fmt.Sprintf("open %s version %d", model, version), vkey+modelstore.ManifestName, maxManifestBytes)
	if errors.Is(err, modelstore.ErrUnavailable) {
		if dir, cerr := s.cache.Open(ctx, model, version); cerr == nil {
			s.log.Warn("s3store: store unavailable; using the cached copy", "model", model, "version", version, "error", err)
			s.touch(model, version, dir)
			return dir, nil
		}
	}
	if err != nil {
		return "", err
	}
	remote, err := modelstore.DecodeManifest(data)
	if err != nil {
		return "", fmt.Errorf("s3store: %s version %d: %w", model, version, err)
	}
	dir, err := s.cache.Open(ctx, model, version)
	switch {
	case err == nil && s.sameAsCached(dir, remote):
		s.touch(model, version, dir)
		return dir, nil
	case err == nil, errors.Is(err, modelstore.ErrCorrupt):
		// A different or damaged copy: replace it.
		if derr := s.cache.Delete(ctx, model, version); derr != nil && !errors.Is(derr, modelstore.ErrNotFound) {
			return "", fmt.Errorf("s3store: replace cached %s version %d: %w", model, version, derr)
		}
	case !errors.Is(err, modelstore.ErrNotFound):
		return "", fmt.Errorf("s3store: cache: %w", err)
	}
	if err := s.download(ctx, model, version, remote); err != nil {
		return "", err
	}
	dir, err = s.cache.Open(ctx, model, version)
	if err != nil {
		return "", fmt.Errorf("s3store: cache: %w", err)
	}
	if !s.sameAsCached(dir, remote) {
		return "", fmt.Errorf("%w: %s version %d: the manifest changed during the download", modelstore.ErrCorrupt, model, version)
	}
	s.touch(model, version, dir)
	s.evict(model, version)
	return dir, nil
}

// sameAsCached reports whether the cached version's manifest lists exactly
// the files of remote.
func (s *Store) sameAsCached(dir string, remote modelstore.Manifest) bool {
	data, err := os.ReadFile(filepath.Join(dir, modelstore.ManifestName))
	if err != nil {
		return false
	}
	local, err := modelstore.DecodeManifest(data)
	return err == nil && slices.Equal(local.Files, remote.Files)
}

// download fetches every file of the manifest into a cache transaction,
// checking each, and commits it under version.
func (s *Store) download(ctx context.Context, model string, version int64, m modelstore.Manifest) (err error) {
	t, err := s.cache.Begin(ctx, model)
	if err != nil {
		return fmt.Errorf("s3store: cache: %w", err)
	}
	defer func() {
		if err != nil {
			_ = t.Abort()
		}
	}()
	vkey := s.versionKey(model, version)
	for _, f := range m.Files {
		if err := s.fetch(ctx, vkey+f.Path, filepath.Join(t.Dir(), filepath.FromSlash(f.Path)), f); err != nil {
			return fmt.Errorf("s3store: %s version %d: %w", model, version, err)
		}
	}
	if _, err := t.Commit(ctx, version); err != nil {
		if errors.Is(err, modelstore.ErrExists) {
			// Another process sharing the cache downloaded it first.
			return nil
		}
		return fmt.Errorf("s3store: cache: %w", err)
	}
	return nil
}

// corruptFile is a downloaded file that does not match the manifest.
type corruptFile struct {
	path string
	why  string
}

func (e *corruptFile) Error() string {
	return modelstore.ErrCorrupt.Error() + ": " + e.path + ": " + e.why
}
func (e *corruptFile) Unwrap() error { return modelstore.ErrCorrupt }

// fetch downloads key into the new file dst, checking it against f.
func (s *Store) fetch(ctx context.Context, key, dst string, f modelstore.ManifestFile) error {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return &corruptFile{path: f.Path, why: "listed in the manifest but missing"}
	}
	if err != nil {
		return s.wrap("download "+f.Path, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	// Read one byte more than the manifest says, to notice a longer object.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(out.Body, f.Size+1))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.wrap("download "+f.Path, err)
	}
	if n != f.Size {
		return &corruptFile{path: f.Path, why: fmt.Sprintf("%d bytes or more, manifest says %d", n, f.Size)}
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return &corruptFile{path: f.Path, why: "sha256 does not match the manifest"}
	}
	return nil
}

// touch records that a version was opened, in memory and as the cached
// directory's modification time, which orders eviction across restarts.
func (s *Store) touch(model string, version int64, dir string) {
	now := time.Now()
	s.mu.Lock()
	s.opened[model+"/"+strconv.FormatInt(version, 10)] = now
	s.mu.Unlock()
	_ = os.Chtimes(dir, now, now)
}

// evict removes the least recently opened cached versions until the cache
// fits its bound, keeping the cfg.keep most recently opened ones.
func (s *Store) evict(model string, version int64) {
	type entry struct {
		model string
		v     int64
		dir   string
		size  int64
		used  time.Time
	}
	var entries []entry
	var total int64
	models, _ := os.ReadDir(s.cdir)
	for _, me := range models {
		if !me.IsDir() || modelstore.ValidateModelName(me.Name()) != nil {
			continue
		}
		vs, _ := os.ReadDir(filepath.Join(s.cdir, me.Name()))
		for _, ve := range vs {
			v, ok := modelstore.ParseVersion(ve.Name())
			if !ok || !ve.IsDir() {
				continue
			}
			dir := filepath.Join(s.cdir, me.Name(), ve.Name())
			info, err := ve.Info()
			if err != nil {
				continue
			}
			size := dirSize(dir)
			total += size
			entries = append(entries, entry{me.Name(), v, dir, size, info.ModTime()})
		}
	}
	if total <= s.cfg.cacheMax {
		return
	}
	slices.SortFunc(entries, func(a, b entry) int { return b.used.Compare(a.used) }) // newest first
	for i := len(entries) - 1; i >= s.cfg.keep && total > s.cfg.cacheMax; i-- {
		e := entries[i]
		if e.model == model && e.v == version {
			continue
		}
		if err := s.cache.Delete(context.Background(), e.model, e.v); err != nil {
			s.log.Warn("s3store: evict cached version", "model", e.model, "version", e.v, "error", err)
			continue
		}
		total -= e.size
		s.log.Info("s3store: evicted cached version", "model", e.model, "version", e.v, "bytes", e.size)
	}
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
