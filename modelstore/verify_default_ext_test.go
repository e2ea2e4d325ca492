package modelstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

// TestOpenCatchesRewriteKeepingSizeAndMtime rots a verified version's file in
// place, keeping its inode, size and modification time: the next Open of a
// store with default options catches it (an old verify cache keyed on
// those alone served the corrupt weights, so a rollback could load them;
// the default cache also keys on the inode change time and on the pages
// being in the page cache, see WithVerifyCache).
func TestOpenCatchesRewriteKeepingSizeAndMtime(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	publish(t, l, "m", 0, map[string]string{"w": "weights"})
	if _, err := l.Open(ctx, "m", 1); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "m", "1", "w")
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Dir(p), map[string]string{"w": "weighTs"})
	if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open(ctx, "m", 1); !errors.Is(err, modelstore.ErrCorrupt) {
		t.Fatalf("Open after bit rot = %v, want ErrCorrupt", err)
	}
}
