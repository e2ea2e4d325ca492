// Package archive unpacks uploaded model versions into a store's private
// directory. Only directories and regular files are accepted, and no entry
// can leave the directory.
package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ExtractTar writes a tar archive's directories and regular files under
// dir and returns how many files it wrote. Entries that are absolute, climb
// out with "..", or are links or devices are refused, as is an archive
// holding no file.
func ExtractTar(r io.Reader, dir string) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var files int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if files == 0 {
				return 0, errors.New("the archive holds no files")
			}
			return files, nil
		}
		if err != nil {
			return files, err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(hdr.Name) || name == ".." || strings.HasPrefix(name, "../") || !filepath.IsLocal(filepath.FromSlash(name)) {
			return files, fmt.Errorf("entry %q leaves the version directory", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return files, err
			}
		case tar.TypeReg:
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return files, err
				}
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return files, err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return files, err
			}
			files++
		default:
			return files, fmt.Errorf("entry %q: only directories and regular files are accepted", hdr.Name)
		}
	}
}
