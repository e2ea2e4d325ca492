package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body string
	typ        byte
}

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typ}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeSymlink {
			h.Linkname = e.body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractTarWritesFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	n, err := ExtractTar(bytes.NewReader(tarOf(t,
		entry{name: "./sub/", typ: tar.TypeDir},
		entry{name: "./sub/w.bin", body: "weights", typ: tar.TypeReg},
		entry{name: "deep/er/x.txt", body: "x", typ: tar.TypeReg},
	)), dir, Limits{})
	if err != nil || n != 2 {
		t.Fatalf("extract: %d files, %v", n, err)
	}
	for path, want := range map[string]string{"sub/w.bin": "weights", "deep/er/x.txt": "x"} {
		got, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", path, got, err, want)
		}
	}
}

func TestExtractTarRefusesWhatLeavesOrIsNotAFile(t *testing.T) {
	for name, e := range map[string]entry{
		"absolute":     {name: "/etc/x", body: "x", typ: tar.TypeReg},
		"climbing":     {name: "../x", body: "x", typ: tar.TypeReg},
		"hidden climb": {name: "a/../../x", body: "x", typ: tar.TypeReg},
		"symlink":      {name: "link", body: "/etc/passwd", typ: tar.TypeSymlink},
		"fifo":         {name: "pipe", typ: tar.TypeFifo},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			outside := filepath.Join(filepath.Dir(dir), "x")
			_, err := ExtractTar(bytes.NewReader(tarOf(t, e)), dir, Limits{})
			if err == nil {
				t.Fatalf("entry %q was accepted", e.name)
			}
			if _, serr := os.Lstat(outside); serr == nil {
				t.Fatalf("entry %q wrote %s", e.name, outside)
			}
		})
	}
	if _, err := ExtractTar(bytes.NewReader(tarOf(t, entry{name: "d/", typ: tar.TypeDir})), t.TempDir(), Limits{}); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Fatalf("an archive of one directory: %v", err)
	}
}
