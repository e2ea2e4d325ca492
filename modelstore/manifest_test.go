package modelstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const emptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestDecodeManifest(t *testing.T) {
	entry := func(p string) string {
		return `{"path":"` + p + `","size":0,"sha256":"` + emptySHA + `"}`
	}
	tests := []struct {
		in string
		ok bool
	}{
		{`{"format":1,"files":[]}`, true},
		{`{"format":1,"files":[` + entry("a") + `,` + entry("d/b.bin") + `]}`, true},
		{`{"format":1,"files":[` + entry("a") + "]}\n\n", true},
		{`{"format":2,"files":[]}`, false},
		{`{"files":[]}`, false},
		{`{"format":1,"files":[],"extra":1}`, false},
		{`{"format":1,"files":[]} {}`, false},
		{`{"format":1,"files":[` + entry("a") + `,` + entry("a") + `]}`, false},
		{`{"format":1,"files":[` + entry("../a") + `]}`, false},
		{`{"format":1,"files":[` + entry("/a") + `]}`, false},
		{`{"format":1,"files":[` + entry("a//b") + `]}`, false},
		{`{"format":1,"files":[` + entry("./a") + `]}`, false},
		{`{"format":1,"files":[` + entry(".") + `]}`, false},
		{`{"format":1,"files":[` + entry("") + `]}`, false},
		{`{"format":1,"files":[` + entry(`a\\b`) + `]}`, false},
		{`{"format":1,"files":[` + entry(`a\u0000b`) + `]}`, false},
		{`{"format":1,"files":[` + entry(ManifestName) + `]}`, false},
		{`{"format":1,"files":[` + entry("..00") + `]}`, true},
		{`{"format":1,"files":[{"path":"a","size":-1,"sha256":"` + emptySHA + `"}]}`, false},
		{`{"format":1,"files":[{"path":"a","size":0,"sha256":"` + strings.ToUpper(emptySHA) + `"}]}`, false},
		{`{"format":1,"files":[{"path":"a","size":0,"sha256":"abc"}]}`, false},
		{`{"format":1,"files":[{"path":"a","size":0}]}`, false},
		{``, false},
		{`null`, false},
		{`[]`, false},
	}
	for _, tt := range tests {
		m, err := decodeManifest([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("decodeManifest(%s) = %+v, %v; want ok = %v", tt.in, m, err, tt.ok)
		}
	}
}

func TestBuildManifest(t *testing.T) {
	dir := t.TempDir()
	for p, content := range map[string]string{"z": "zz", "a/b": "", "a/c/d": "ddd"} {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := buildManifest(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeManifest(data)
	if err != nil {
		t.Fatalf("decode own encoding: %v\n%s", err, data)
	}
	var paths []string
	var sizes []int64
	for _, f := range back.Files {
		paths = append(paths, f.Path)
		sizes = append(sizes, f.Size)
	}
	if !slices.Equal(paths, []string{"a/b", "a/c/d", "z"}) || !slices.Equal(sizes, []int64{0, 3, 2}) {
		t.Errorf("manifest paths %v sizes %v", paths, sizes)
	}
	if back.Files[0].SHA256 != emptySHA {
		t.Errorf("sha256 of empty file = %s", back.Files[0].SHA256)
	}
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"format":1,"files":[]}`))
	f.Add([]byte(`{"format":1,"files":[{"path":"a/b","size":3,"sha256":"` + emptySHA + `"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			return
		}
		// Whatever decodes is safe to use as paths inside a version, and
		// survives an encode/decode round trip unchanged.
		seen := map[string]bool{}
		for _, mf := range m.Files {
			if checkManifestPath(mf.Path) != nil || seen[mf.Path] || mf.Size < 0 {
				t.Fatalf("decoded an invalid entry %+v", mf)
			}
			if c := filepath.Clean(filepath.FromSlash(mf.Path)); c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) || filepath.IsAbs(c) {
				t.Fatalf("decoded path %q escapes", mf.Path)
			}
			seen[mf.Path] = true
		}
		enc, err := m.encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeManifest(enc)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, enc)
		}
		enc2, err := back.encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		if len(back.Files) != len(m.Files) {
			t.Fatalf("round trip changed %d files to %d", len(m.Files), len(back.Files))
		}
	})
}
