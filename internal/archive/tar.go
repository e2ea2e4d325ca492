// Package archive unpacks uploaded model versions into a store's private
// directory. Only directories and regular files are accepted, no entry can
// leave the directory, and the extracted bytes and files are capped.
package archive

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// Limits caps what one archive may extract.
type Limits struct {
	// MaxBytes caps the sum of the extracted files' sizes, as the entries
	// declare them (so before a byte is written); 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxFiles caps the number of files and directories; 0 means
	// DefaultMaxFiles.
	MaxFiles int64
}

// The default limits.
const (
	DefaultMaxBytes = 4 << 30
	DefaultMaxFiles = 10_000
)

// ExtractTar writes a tar archive's directories and regular files under
// dir and returns how many files it wrote. Entries that are absolute, climb
// out with "..", or are links, devices or sparse files are refused, as is
// an archive holding no file. Going over a limit, or a full disk, is
// RESOURCE_EXHAUSTED; a refused entry is INVALID_ARGUMENT (errors carry a
// gRPC code, see predict.CodeOf).
func ExtractTar(r io.Reader, dir string, lim Limits) (int64, error) {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var files, entries, total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if files == 0 {
				return 0, predict.InvalidArgument("the archive holds no files")
			}
			return files, nil
		}
		if err != nil {
			return files, predict.InvalidArgument("archive: %v", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(hdr.Name) || name == ".." || strings.HasPrefix(name, "../") || !filepath.IsLocal(filepath.FromSlash(name)) {
			return files, predict.InvalidArgument("entry %q leaves the version directory", hdr.Name)
		}
		if entries++; entries > lim.MaxFiles {
			return files, predict.Errorf(codes.ResourceExhausted, "the archive holds more than %d files and directories", lim.MaxFiles)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return files, diskError(err)
			}
		case tar.TypeReg:
			if isSparse(hdr) {
				return files, predict.InvalidArgument("entry %q is a sparse file; sparse files are refused", hdr.Name)
			}
			if hdr.Size < 0 || hdr.Size > lim.MaxBytes-total {
				return files, predict.Errorf(codes.ResourceExhausted, "entry %q: the archive extracts to more than %d bytes", hdr.Name, lim.MaxBytes)
			}
			total += hdr.Size
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return files, diskError(err)
				}
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return files, diskError(err)
			}
			// Never more than the entry declared, whatever the reader yields.
			_, err = io.Copy(writer{f}, io.LimitReader(tr, hdr.Size))
			if cerr := f.Close(); err == nil && cerr != nil {
				err = writeError{cerr}
			}
			var we writeError
			if errors.As(err, &we) {
				return files, diskError(we.error)
			}
			if err != nil {
				return files, predict.InvalidArgument("archive: entry %q: %v", hdr.Name, err)
			}
			files++
		default:
			return files, predict.InvalidArgument("entry %q: only directories and regular files are accepted", hdr.Name)
		}
	}
}

// isSparse reports whether hdr is a GNU or PAX sparse file, whose few
// archive bytes can expand to terabytes of holes.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// diskError gives a full disk or quota RESOURCE_EXHAUSTED and any other
// write failure INTERNAL.
func diskError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return predict.Errorf(codes.ResourceExhausted, "the store's disk is full: %v", err)
	}
	var pe *predict.Error
	if errors.As(err, &pe) {
		return err
	}
	return predict.Errorf(codes.Internal, "write: %v", err)
}

// writer marks the errors of its file's writes, to tell them from the
// archive's read errors.
type writer struct{ f *os.File }

type writeError struct{ error }

func (w writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = writeError{err}
	}
	return n, err
}
