package modelstore_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

func TestPublishDir(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	src := t.TempDir()
	files := map[string]string{"model.pkl": "pickle", "conf/a.json": "{}", "conf/deep/b": "b"}
	writeFiles(t, src, files)
	// A manifest in the source (say, a version copied from another store) is
	// not copied; Commit writes a fresh one.
	writeFiles(t, src, map[string]string{modelstore.ManifestName: "stale"})
	v, err := modelstore.PublishDir(ctx, l, "m", 0, src)
	if err != nil || v != 1 {
		t.Fatalf("PublishDir = %d, %v", v, err)
	}
	dir, err := l.Open(ctx, "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); !maps.Equal(got, files) {
		t.Errorf("published %v, want %v", got, files)
	}
	// A single file.
	f := filepath.Join(src, "model.pkl")
	if v, err := modelstore.PublishDir(ctx, l, "m", 5, f); err != nil || v != 5 {
		t.Fatalf("PublishDir(file) = %d, %v", v, err)
	}
	dir, err = l.Open(ctx, "m", 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); !maps.Equal(got, map[string]string{"model.pkl": "pickle"}) {
		t.Errorf("published %v", got)
	}
	// A taken version aborts, leaving no temp dir.
	if _, err := modelstore.PublishDir(ctx, l, "m", 5, src); !errors.Is(err, modelstore.ErrExists) {
		t.Errorf("PublishDir onto version 5 = %v, want ErrExists", err)
	}
	// A symlink in the source aborts.
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := modelstore.PublishDir(ctx, l, "m", 0, src); err == nil {
		t.Error("PublishDir with a symlink succeeded")
	}
	if _, err := modelstore.PublishDir(ctx, l, "m", 0, filepath.Join(src, "missing")); err == nil {
		t.Error("PublishDir of a missing source succeeded")
	}
	// A cancelled context aborts.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := modelstore.PublishDir(cctx, l, "m", 0, filepath.Join(src, "conf")); !errors.Is(err, context.Canceled) {
		t.Errorf("PublishDir with a cancelled context = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "m"))
	if len(entries) != 2 {
		t.Errorf("model dir holds %v, want only 1 and 5", entries)
	}
	if _, err := modelstore.PublishDir(ctx, modelstore.NewStatic("m", src), "m", 0, src); !errors.Is(err, modelstore.ErrReadOnly) {
		t.Errorf("PublishDir to a Static store = %v, want ErrReadOnly", err)
	}
}
