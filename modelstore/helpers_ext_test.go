package modelstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

// newLocal returns a store in a fresh directory.
func newLocal(t *testing.T, opts ...modelstore.LocalOption) (*modelstore.Local, string) {
	t.Helper()
	root := t.TempDir()
	l, err := modelstore.NewLocal(root, opts...)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	return l, root
}

// writeFiles creates the files (slash-separated path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// publish commits files as a version of model and returns its number.
func publish(t *testing.T, s modelstore.Store, model string, version int64, files map[string]string) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin(ctx, model)
	if err != nil {
		t.Fatalf("Begin(%s): %v", model, err)
	}
	writeFiles(t, tx.Dir(), files)
	v, err := tx.Commit(ctx, version)
	if err != nil {
		t.Fatalf("Commit(%s, %d): %v", model, version, err)
	}
	return v
}

// readTree returns the regular files under dir, except the manifest.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == modelstore.ManifestName {
			return nil
		}
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func versions(t *testing.T, s modelstore.Store, model string) []int64 {
	t.Helper()
	vs, err := s.Versions(context.Background(), model)
	if err != nil {
		t.Fatalf("Versions(%s): %v", model, err)
	}
	return vs
}
