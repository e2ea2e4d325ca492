package modelstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// newCacheStore returns a store holding model m version 1 (one file, w)
// and the path of that file.
func newCacheStore(t *testing.T, opts ...LocalOption) (*Local, string) {
	t.Helper()
	root := t.TempDir()
	l, err := NewLocal(root, append([]LocalOption{WithFSNotify(false), WithPollInterval(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "w"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := PublishDir(context.Background(), l, "m", 1, src); err != nil {
		t.Fatal(err)
	}
	return l, filepath.Join(root, "m", "1", "w")
}

func openTimes(t *testing.T, l *Local, n int) {
	t.Helper()
	for range n {
		if _, err := l.Open(context.Background(), "m", 1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyCacheSkipsOnlyUnchangedResidentFiles: by default a version is
// hashed once, and again only when its pages left the page cache, a file
// changed, or the last hashing is older than the maximum age.
func TestVerifyCacheSkipsOnlyUnchangedResidentFiles(t *testing.T) {
	l, p := newCacheStore(t)
	inCache := true
	l.resident = func(*os.File, int64) bool { return inCache }
	openTimes(t, l, 3)
	if n := l.hashed.Load(); n != 1 {
		t.Fatalf("3 Opens of an unchanged cached version hashed %d times, want 1", n)
	}
	inCache = false // as if the kernel dropped a page: the next read is from the disk
	openTimes(t, l, 2)
	if n := l.hashed.Load(); n != 3 {
		t.Fatalf("Opens with pages out of the page cache hashed %d times in all, want 3", n)
	}
	inCache = true
	openTimes(t, l, 1)
	if n := l.hashed.Load(); n != 3 {
		t.Fatalf("Open with pages back in the cache hashed %d times in all, want 3", n)
	}
	// A mode change keeps size and modification time: the change time (or
	// the mode) still tells.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	openTimes(t, l, 1)
	if n := l.hashed.Load(); n != 4 {
		t.Fatalf("Open after chmod hashed %d times in all, want 4", n)
	}
}

func TestVerifyCacheOffOrExpiredHashesEveryOpen(t *testing.T) {
	for _, opt := range []LocalOption{WithVerifyCache(false), WithVerifyMaxAge(0)} {
		l, _ := newCacheStore(t, opt)
		l.resident = func(*os.File, int64) bool { return true }
		openTimes(t, l, 3)
		if n := l.hashed.Load(); n != 3 {
			t.Errorf("3 Opens hashed %d times, want 3", n)
		}
	}
}

// TestVerifyCacheForgetsAFailure: a version that failed its hash is hashed
// again on the next Open, and passes once repaired.
func TestVerifyCacheForgetsAFailure(t *testing.T) {
	l, p := newCacheStore(t)
	l.resident = func(*os.File, int64) bool { return true }
	openTimes(t, l, 1)
	if err := os.WriteFile(p, []byte("weighTs"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := l.Open(context.Background(), "m", 1); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open of a changed file = %v, want ErrCorrupt", err)
		}
	}
	if err := os.WriteFile(p, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	openTimes(t, l, 2)
	if n := l.hashed.Load(); n != 4 {
		t.Fatalf("hashed %d times in all, want 4 (1 ok, 2 corrupt, 1 repaired)", n)
	}
}

// TestResident checks the page-cache test itself: a file just written and
// read is in the page cache, an empty file trivially so.
func TestResident(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := make([]byte, 3*os.Getpagesize()+5)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := runtime.GOOS == "linux"
	if got := resident(f, int64(len(data))); got != want {
		t.Errorf("resident(a file just read) = %v, want %v", got, want)
	}
	if !resident(f, 0) {
		t.Error("resident(empty) = false, want true")
	}
}

// TestVerifyCacheWithThePageCache uses the real page-cache check: a version
// just hashed is in the page cache, so on Linux a second Open skips the
// hash; elsewhere the cache never skips.
func TestVerifyCacheWithThePageCache(t *testing.T) {
	l, _ := newCacheStore(t)
	openTimes(t, l, 2)
	want := int64(2)
	if runtime.GOOS == "linux" {
		want = 1
	}
	if n := l.hashed.Load(); n != want {
		t.Fatalf("2 Opens hashed %d times, want %d", n, want)
	}
}
