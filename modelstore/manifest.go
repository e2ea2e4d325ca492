package modelstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// ManifestName is the name of the file, at the top of every committed
// version directory, that lists each file of the version with its size and
// SHA-256. Commit writes it; Open checks the version against it.
const ManifestName = "MANIFEST.json"

const (
	// manifestFormat is the only manifest format this package reads.
	manifestFormat = 1
	// maxManifestSize bounds how much of a manifest is read, so a hostile or
	// broken file cannot exhaust memory.
	maxManifestSize = 64 << 20
	// copyBlock is how much is read between checks of the context (and
	// yields of the processor) while hashing or copying.
	copyBlock = 64 << 10
)

// manifest is the decoded MANIFEST.json:
//
//	{"format": 1, "files": [{"path": "a/b.bin", "size": 3, "sha256": "..."}]}
type manifest struct {
	Format int            `json:"format"`
	Files  []manifestFile `json:"files"`
}

// manifestFile is one regular file of a version.
type manifestFile struct {
	// Path is slash-separated and relative to the version directory.
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// decodeManifest parses and validates a manifest: the known format, only
// known fields, no trailing data, every path a clean relative path that is
// not the manifest itself, no path twice, no negative size and a SHA-256 of
// 64 lower-case hex digits.
func decodeManifest(data []byte) (*manifest, error) {
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("manifest larger than %d bytes", maxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode manifest: data after the manifest object")
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("manifest format %d, want %d", m.Format, manifestFormat)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if err := checkManifestPath(f.Path); err != nil {
			return nil, err
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("manifest lists %q twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 {
			return nil, fmt.Errorf("manifest: %s: negative size %d", f.Path, f.Size)
		}
		if !isLowerHex(f.SHA256, sha256.Size*2) {
			return nil, fmt.Errorf("manifest: %s: sha256 %q is not %d lower-case hex digits", f.Path, f.SHA256, sha256.Size*2)
		}
	}
	return &m, nil
}

// encode returns the manifest as indented JSON with files sorted by path.
func (m *manifest) encode() ([]byte, error) {
	c := manifest{Format: manifestFormat, Files: slices.Clone(m.Files)}
	if c.Files == nil {
		c.Files = []manifestFile{}
	}
	slices.SortFunc(c.Files, func(a, b manifestFile) int { return strings.Compare(a.Path, b.Path) })
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// checkManifestPath accepts the slash-separated relative paths a manifest may
// list: valid per io/fs (no "..", ".", empty element or leading slash), no
// backslash (a separator on Windows), no NUL and not the manifest itself.
func checkManifestPath(p string) error {
	if !fs.ValidPath(p) || p == "." || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("manifest: invalid path %q", p)
	}
	if p == ManifestName {
		return fmt.Errorf("manifest: lists itself")
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// walkVersion lists the regular files under dir by slash-separated relative
// path, with their Lstat information. The top-level manifest is left out.
// Anything that is neither a regular file nor a directory (a symlink, a
// device, a socket) and any name a manifest cannot hold is an error.
func walkVersion(ctx context.Context, dir string) (map[string]fs.FileInfo, error) {
	files := make(map[string]fs.FileInfo)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir {
			if !d.IsDir() {
				return fmt.Errorf("%s is not a directory", p)
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return &entryError{rel: rel, err: errNotRegular}
		}
		if rel == ManifestName {
			return nil
		}
		if err := checkManifestPath(rel); err != nil {
			return &entryError{rel: rel, err: err}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[rel] = info
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

var errNotRegular = errors.New("neither a regular file nor a directory")

// entryError is a file under a version directory that no manifest can
// describe.
type entryError struct {
	rel string
	err error
}

func (e *entryError) Error() string { return e.rel + ": " + e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }

// hashFile returns the size and hex SHA-256 of an open file, checking ctx
// between chunks.
func hashFile(ctx context.Context, f io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := copyCtx(ctx, h, f)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyCtx copies src to dst in blocks of copyBlock bytes, stopping early
// when ctx ends. Between blocks it yields the processor: hashing a version
// runs while the previous version serves, and with one P (a server pinned
// to one CPU, GOMAXPROCS=1) a goroutine that hashes a whole file without
// yielding holds every request queued behind it for as long as the file
// takes (about 1 ms per MiB). Yielding every 64 KiB bounds that wait to
// tens of microseconds and costs one scheduler call per block.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	var total int64
	buf := make([]byte, copyBlock)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		runtime.Gosched()
	}
}

// buildManifest hashes and fsyncs every regular file under dir and fsyncs
// every directory, returning the manifest that describes them. It refuses a
// top-level file named like the manifest, symlinks and special files.
func buildManifest(ctx context.Context, dir string) (*manifest, error) {
	if _, err := os.Lstat(filepath.Join(dir, ManifestName)); err == nil {
		return nil, fmt.Errorf("%w: %s is reserved for the manifest", ErrInvalid, ManifestName)
	}
	files, err := walkVersion(ctx, dir)
	if ee := (*entryError)(nil); errors.As(err, &ee) {
		return nil, fmt.Errorf("modelstore: cannot publish %s: %w", ee.rel, ee.err)
	}
	if err != nil {
		return nil, err
	}
	m := &manifest{Format: manifestFormat, Files: make([]manifestFile, 0, len(files))}
	dirs := map[string]bool{dir: true}
	for rel := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		size, sum, err := hashAndSync(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		m.Files = append(m.Files, manifestFile{Path: rel, Size: size, SHA256: sum})
		for d := filepath.Dir(p); len(d) > len(dir); d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func hashAndSync(ctx context.Context, p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	size, sum, err := hashFile(ctx, f)
	if err != nil {
		return 0, "", err
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return size, sum, nil
}

// syncDir flushes a directory's entries to stable storage.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileSync creates p (which must not exist), writes data, fsyncs and
// closes it.
func writeFileSync(p string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readManifest reads and decodes the manifest at the top of dir.
func readManifest(dir string) (*manifest, fs.FileInfo, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w", ManifestName, errNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, nil, err
	}
	m, err := decodeManifest(data)
	if err != nil {
		return nil, nil, err
	}
	return m, info, nil
}

// verifyFiles checks every file the manifest lists, opened through root so
// nothing outside the version directory is read.
func verifyFiles(ctx context.Context, root *os.Root, m *manifest) error {
	for _, mf := range m.Files {
		if err := verifyFile(ctx, root, mf); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(ctx context.Context, root *os.Root, mf manifestFile) error {
	f, err := root.Open(filepath.FromSlash(mf.Path))
	if err != nil {
		return corruptFile(mf.Path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return corruptFile(mf.Path, err)
	}
	if !info.Mode().IsRegular() {
		return corruptFile(mf.Path, errNotRegular)
	}
	if info.Size() != mf.Size {
		return corruptFile(mf.Path, fmt.Errorf("size %d, manifest says %d", info.Size(), mf.Size))
	}
	size, sum, err := hashFile(ctx, f)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return corruptFile(mf.Path, err)
	}
	if size != mf.Size {
		return corruptFile(mf.Path, fmt.Errorf("read %d bytes, manifest says %d", size, mf.Size))
	}
	if sum != mf.SHA256 {
		return corruptFile(mf.Path, errors.New("sha256 does not match the manifest"))
	}
	return nil
}

// corruptError names the file that failed verification; it wraps
// ErrCorrupt and the underlying cause.
type corruptError struct {
	file string
	err  error
}

func corruptFile(file string, err error) error { return &corruptError{file: file, err: err} }

func (e *corruptError) Error() string {
	return ErrCorrupt.Error() + ": " + e.file + ": " + e.err.Error()
}

func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, e.err} }

// Manifest is a version's MANIFEST.json: every regular file of the version
// with its size and SHA-256. Stores other than Local use it to write and
// check the same format.
type Manifest struct {
	Files []ManifestFile
}

// ManifestFile is one file of a version.
type ManifestFile struct {
	// Path is slash-separated and relative to the version directory.
	Path   string
	Size   int64
	SHA256 string // 64 lower-case hex digits
}

// BuildManifest hashes (and fsyncs) every regular file under dir, which
// must hold no top-level MANIFEST.json, no symbolic link and no special
// file, and returns the manifest that describes them, sorted by path.
func BuildManifest(ctx context.Context, dir string) (Manifest, error) {
	m, err := buildManifest(ctx, dir)
	if err != nil {
		return Manifest{}, err
	}
	return exportManifest(m), nil
}

// DecodeManifest parses a MANIFEST.json strictly: the known format, only
// known fields, clean relative paths, no path twice, valid sizes and
// hashes. The error wraps ErrCorrupt.
func DecodeManifest(data []byte) (Manifest, error) {
	m, err := decodeManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return exportManifest(m), nil
}

// Encode returns the manifest as the JSON of a MANIFEST.json file, files
// sorted by path: the same bytes for the same files.
func (m Manifest) Encode() ([]byte, error) {
	im := &manifest{Format: manifestFormat}
	for _, f := range m.Files {
		im.Files = append(im.Files, manifestFile(f))
	}
	data, err := im.encode()
	if err != nil {
		return nil, err
	}
	if _, err := decodeManifest(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return data, nil
}

func exportManifest(m *manifest) Manifest {
	out := Manifest{Files: make([]ManifestFile, 0, len(m.Files))}
	for _, f := range m.Files {
		out.Files = append(out.Files, ManifestFile(f))
	}
	slices.SortFunc(out.Files, func(a, b ManifestFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// ParseVersion returns the version a directory or key element names: the
// canonical decimal form of a positive number ("7", never "007", "+7", "0"
// or "-1").
func ParseVersion(name string) (int64, bool) { return parseVersion(name) }
