package modelstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swapwire/swapwire/modelstore"
)

func TestPublishRoundTrip(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	files := map[string]string{"model.bin": "weights", "vocab/en.txt": "a\nb\n", "empty": ""}
	v := publish(t, l, "digits", 0, files)
	if v != 1 {
		t.Fatalf("first version = %d, want 1", v)
	}
	models, err := l.Models(ctx)
	if err != nil || !slices.Equal(models, []string{"digits"}) {
		t.Fatalf("Models = %v, %v; want [digits]", models, err)
	}
	if vs := versions(t, l, "digits"); !slices.Equal(vs, []int64{1}) {
		t.Fatalf("Versions = %v, want [1]", vs)
	}
	dir, err := l.Open(ctx, "digits", 1)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if want := filepath.Join(root, "digits", "1"); dir != want {
		t.Errorf("Open dir = %q, want %q", dir, want)
	}
	if got := readTree(t, dir); !maps.Equal(got, files) {
		t.Errorf("files = %v, want %v", got, files)
	}
	// The manifest lists every file with its size and sha256 (of "weights").
	data, err := os.ReadFile(filepath.Join(dir, modelstore.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Format int
		Files  []struct {
			Path   string
			Size   int64
			SHA256 string
		}
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != 1 || len(m.Files) != 3 {
		t.Fatalf("manifest = %+v, want format 1 with 3 files", m)
	}
	sum := sha256.Sum256([]byte("weights"))
	if f := m.Files[1]; f.Path != "model.bin" || f.Size != 7 || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("manifest entry = %+v, want model.bin, 7 bytes, sha256 %x", f, sum)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("version dir mode = %v, %v; want 0755", info.Mode(), err)
	}
	// No temporary directory is left behind.
	entries, _ := os.ReadDir(filepath.Join(root, "digits"))
	if len(entries) != 1 || entries[0].Name() != "1" {
		t.Errorf("model dir holds %v, want only 1", entries)
	}
}

func TestNextVersionNumbering(t *testing.T) {
	l, root := newLocal(t)
	if v := publish(t, l, "m", 0, map[string]string{"f": "1"}); v != 1 {
		t.Fatalf("version = %d, want 1", v)
	}
	if v := publish(t, l, "m", 7, map[string]string{"f": "7"}); v != 7 {
		t.Fatalf("version = %d, want 7", v)
	}
	if v := publish(t, l, "m", 0, map[string]string{"f": "8"}); v != 8 {
		t.Fatalf("version = %d, want 8", v)
	}
	// Names that are not canonical versions are ignored, by listing and numbering.
	for _, junk := range []string{"0", "-1", "007", "abc", ".tmp-x", "99x"} {
		if err := os.Mkdir(filepath.Join(root, "m", junk), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "m", "50"), nil, 0o644); err != nil { // a file, not a dir
		t.Fatal(err)
	}
	if vs := versions(t, l, "m"); !slices.Equal(vs, []int64{1, 7, 8}) {
		t.Fatalf("Versions = %v, want [1 7 8]", vs)
	}
	if v := publish(t, l, "m", 0, map[string]string{"f": "9"}); v != 9 {
		t.Fatalf("version = %d, want 9", v)
	}
	if vs := versions(t, l, "nope"); len(vs) != 0 {
		t.Errorf("Versions(nope) = %v, want none", vs)
	}
}

func TestCommitExistingVersion(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	publish(t, l, "m", 3, map[string]string{"f": "first"})
	tx, err := l.Begin(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, tx.Dir(), map[string]string{"f": "second"})
	if _, err := tx.Commit(ctx, 3); !errors.Is(err, modelstore.ErrExists) {
		t.Fatalf("Commit(3) over a committed version: %v, want ErrExists", err)
	}
	// The transaction stays usable after the failed commit.
	v, err := tx.Commit(ctx, 4)
	if err != nil || v != 4 {
		t.Fatalf("retry Commit(4) = %d, %v", v, err)
	}
	if _, err := tx.Commit(ctx, 5); !errors.Is(err, modelstore.ErrTxDone) {
		t.Errorf("Commit after Commit: %v, want ErrTxDone", err)
	}
	if err := tx.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	for v, want := range map[int64]string{3: "first", 4: "second"} {
		dir, err := l.Open(ctx, "m", v)
		if err != nil {
			t.Fatalf("Open(%d): %v", v, err)
		}
		if got := readTree(t, dir)["f"]; got != want {
			t.Errorf("version %d holds %q, want %q", v, got, want)
		}
	}
}

func TestConcurrentCommitsOfSameVersion(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	txs := make([]modelstore.Tx, n)
	for i := range n {
		tx, err := l.Begin(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		txs[i] = tx
		writeFiles(t, tx.Dir(), map[string]string{"who": string(rune('a' + i))})
	}
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = txs[i].Commit(ctx, 5)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("commits %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(err, modelstore.ErrExists):
			t.Errorf("commit %d: %v, want ErrExists", i, err)
		}
		if err != nil {
			if aerr := txs[i].Abort(); aerr != nil {
				t.Errorf("Abort %d: %v", i, aerr)
			}
		}
	}
	if winner < 0 {
		t.Fatal("no commit won")
	}
	dir, err := l.Open(ctx, "m", 5)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readTree(t, dir)["who"], string(rune('a'+winner)); got != want {
		t.Errorf("version 5 holds %q, want the winner's %q", got, want)
	}
	if vs := versions(t, l, "m"); !slices.Equal(vs, []int64{5}) {
		t.Errorf("Versions = %v, want [5]", vs)
	}
	entries, _ := os.ReadDir(filepath.Join(l.Root(), "m"))
	if len(entries) != 1 {
		t.Errorf("model dir holds %d entries, want 1 (losers aborted)", len(entries))
	}
}

func TestConcurrentCommitsOfNextVersion(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	const n = 6
	got := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tx, err := l.Begin(ctx, "m")
			if err != nil {
				t.Error(err)
				return
			}
			if err := os.WriteFile(filepath.Join(tx.Dir(), "f"), []byte{byte(i)}, 0o644); err != nil {
				t.Error(err)
			}
			got[i], err = tx.Commit(ctx, 0)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	if want := []int64{1, 2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("versions committed = %v, want %v", got, want)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	tx, err := l.Begin(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tx.Dir(), filepath.Join(root, "m", ".tmp-")) {
		t.Errorf("Dir = %q, want a hidden temp dir inside the model dir", tx.Dir())
	}
	writeFiles(t, tx.Dir(), map[string]string{"a/b/c": "x"})
	if err := tx.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if _, err := tx.Commit(ctx, 0); !errors.Is(err, modelstore.ErrTxDone) {
		t.Errorf("Commit after Abort: %v, want ErrTxDone", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil || len(entries) != 0 {
		t.Errorf("root holds %v (%v), want nothing", entries, err)
	}
	// With an existing model, Abort keeps the model directory.
	publish(t, l, "m", 0, map[string]string{"f": "x"})
	tx, err = l.Begin(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Abort(); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(filepath.Join(root, "m"))
	if len(entries) != 1 || entries[0].Name() != "1" {
		t.Errorf("model dir holds %v, want only 1", entries)
	}
}

func TestCommitRefusesWhatAManifestCannotHold(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	for name, setup := range map[string]func(dir string) error{
		"symlink": func(dir string) error { return os.Symlink("/etc/passwd", filepath.Join(dir, "link")) },
		"dir symlink": func(dir string) error {
			return os.Symlink("/etc", filepath.Join(dir, "etc"))
		},
		"manifest name": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, modelstore.ManifestName), []byte("{}"), 0o644)
		},
	} {
		tx, err := l.Begin(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		if err := setup(tx.Dir()); err != nil {
			t.Fatal(err)
		}
		if v, err := tx.Commit(ctx, 0); err == nil {
			t.Errorf("%s: Commit = %d, want an error", name, v)
		}
		if err := tx.Abort(); err != nil {
			t.Fatal(err)
		}
	}
	if vs := versions(t, l, "m"); len(vs) != 0 {
		t.Errorf("Versions = %v, want none", vs)
	}
}

func TestOpenDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		damage   func(t *testing.T, dir string)
		wantFile string
	}{
		"changed byte": {func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"sub/w.bin": "weighTs"})
		}, "sub/w.bin"},
		"truncated": {func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "sub", "w.bin"), 3); err != nil {
				t.Fatal(err)
			}
		}, "sub/w.bin"},
		"missing file": {func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "a.txt")); err != nil {
				t.Fatal(err)
			}
		}, "a.txt"},
		"extra file": {func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"sub/extra": "x"})
		}, "sub/extra"},
		"extra symlink": {func(t *testing.T, dir string) {
			if err := os.Symlink("a.txt", filepath.Join(dir, "ln")); err != nil {
				t.Fatal(err)
			}
		}, "ln"},
		"missing manifest": {func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, modelstore.ManifestName)); err != nil {
				t.Fatal(err)
			}
		}, modelstore.ManifestName},
		"invalid manifest": {func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{modelstore.ManifestName: `{"format":1,"files":[`})
		}, modelstore.ManifestName},
		"manifest escapes": {func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{modelstore.ManifestName: `{"format":1,"files":[{"path":"../../x","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]}`})
		}, modelstore.ManifestName},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			l, _ := newLocal(t)
			v := publish(t, l, "m", 0, map[string]string{"a.txt": "hello", "sub/w.bin": "weights"})
			tt.damage(t, filepath.Join(l.Root(), "m", "1"))
			dir, err := l.Open(ctx, "m", v)
			if !errors.Is(err, modelstore.ErrCorrupt) {
				t.Fatalf("Open = %q, %v; want ErrCorrupt", dir, err)
			}
			if want := "m/1/" + tt.wantFile; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		})
	}
}

func TestOpenNotFoundAndInvalid(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	publish(t, l, "m", 0, map[string]string{"f": "x"})
	for _, c := range []struct {
		model   string
		version int64
		want    error
	}{
		{"m", 2, modelstore.ErrNotFound},
		{"other", 1, modelstore.ErrNotFound},
		{"m", 0, modelstore.ErrInvalid},
		{"m", -1, modelstore.ErrInvalid},
		{"../m", 1, modelstore.ErrInvalid},
		{"m/1", 1, modelstore.ErrInvalid},
	} {
		if _, err := l.Open(ctx, c.model, c.version); !errors.Is(err, c.want) {
			t.Errorf("Open(%q, %d) = %v, want %v", c.model, c.version, err, c.want)
		}
		if err := l.Delete(ctx, c.model, c.version); !errors.Is(err, c.want) {
			t.Errorf("Delete(%q, %d) = %v, want %v", c.model, c.version, err, c.want)
		}
	}
	for _, bad := range []string{"", "../x", "a/b", ".x"} {
		if _, err := l.Begin(ctx, bad); !errors.Is(err, modelstore.ErrInvalid) {
			t.Errorf("Begin(%q) = %v, want ErrInvalid", bad, err)
		}
		if _, err := l.Versions(ctx, bad); !errors.Is(err, modelstore.ErrInvalid) {
			t.Errorf("Versions(%q) = %v, want ErrInvalid", bad, err)
		}
		if _, err := l.Policy(ctx, bad); !errors.Is(err, modelstore.ErrInvalid) {
			t.Errorf("Policy(%q) = %v, want ErrInvalid", bad, err)
		}
		if err := l.SetPolicy(ctx, bad, modelstore.Policy{}); !errors.Is(err, modelstore.ErrInvalid) {
			t.Errorf("SetPolicy(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestVersionBuiltInPlace plays a copy tool that creates a version directory
// under its final name and fills it file by file: Open rejects every stage
// until the directory matches a complete manifest.
func TestVersionBuiltInPlace(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	files := map[string]string{"a.bin": "aaaa", "b.bin": strings.Repeat("b", 1000)}
	// The manifest a correct publish of these files would have.
	publish(t, l, "ref", 0, files)
	manifest, err := os.ReadFile(filepath.Join(root, "ref", "1", modelstore.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "m", "1")
	stages := []struct {
		name string
		do   func()
	}{
		{"empty dir", func() {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"first file", func() { writeFiles(t, dir, map[string]string{"a.bin": files["a.bin"]}) }},
		{"half the manifest", func() {
			writeFiles(t, dir, map[string]string{modelstore.ManifestName: string(manifest[:len(manifest)/2])})
		}},
		{"manifest before second file", func() {
			writeFiles(t, dir, map[string]string{modelstore.ManifestName: string(manifest)})
		}},
		{"half the second file", func() { writeFiles(t, dir, map[string]string{"b.bin": files["b.bin"][:500]}) }},
	}
	for _, s := range stages {
		s.do()
		if vs := versions(t, l, "m"); !slices.Equal(vs, []int64{1}) {
			t.Fatalf("%s: Versions = %v, want [1]", s.name, vs)
		}
		if _, err := l.Open(ctx, "m", 1); !errors.Is(err, modelstore.ErrCorrupt) {
			t.Fatalf("%s: Open = %v, want ErrCorrupt", s.name, err)
		}
	}
	writeFiles(t, dir, map[string]string{"b.bin": files["b.bin"]})
	if _, err := l.Open(ctx, "m", 1); err != nil {
		t.Fatalf("complete version: Open = %v", err)
	}
}

func TestVerifyCache(t *testing.T) {
	ctx := context.Background()
	for _, cache := range []bool{true, false} {
		l, root := newLocal(t, modelstore.WithVerifyCache(cache))
		publish(t, l, "m", 0, map[string]string{"w": "weights"})
		if _, err := l.Open(ctx, "m", 1); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, "m", "1", "w")
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// Rewrite in place (same inode and size) and put the time back:
		// the uncached Open hashes and notices; the cached one notices
		// the inode change time, which os.Chtimes cannot put back (Linux;
		// elsewhere the cache never skips a hash).
		writeFiles(t, filepath.Dir(p), map[string]string{"w": "WEIGHTS"})
		if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
			t.Fatal(err)
		}
		if _, err = l.Open(ctx, "m", 1); !errors.Is(err, modelstore.ErrCorrupt) {
			t.Errorf("cache=%v: Open after a time-preserving rewrite = %v, want ErrCorrupt", cache, err)
		}
		// Any visible change invalidates the cache.
		later := info.ModTime().Add(time.Second)
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Open(ctx, "m", 1); !errors.Is(err, modelstore.ErrCorrupt) {
			t.Errorf("cache=%v: Open after a change = %v, want ErrCorrupt", cache, err)
		}
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	publish(t, l, "m", 0, map[string]string{"f": "1"})
	publish(t, l, "m", 0, map[string]string{"f": "2", "d/g": "3"})
	if _, err := l.Open(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	if vs := versions(t, l, "m"); !slices.Equal(vs, []int64{1}) {
		t.Errorf("Versions after Delete = %v, want [1]", vs)
	}
	if _, err := l.Open(ctx, "m", 2); !errors.Is(err, modelstore.ErrNotFound) {
		t.Errorf("Open deleted = %v, want ErrNotFound", err)
	}
	if err := l.Delete(ctx, "m", 2); !errors.Is(err, modelstore.ErrNotFound) {
		t.Errorf("Delete twice = %v, want ErrNotFound", err)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "m"))
	if len(entries) != 1 || entries[0].Name() != "1" {
		t.Errorf("model dir holds %v, want only 1", entries)
	}
	// The number is free again, and next-version numbering reuses it.
	if v := publish(t, l, "m", 0, map[string]string{"f": "new"}); v != 2 {
		t.Errorf("next version after Delete = %d, want 2", v)
	}
	dir, err := l.Open(ctx, "m", 2)
	if err != nil || readTree(t, dir)["f"] != "new" {
		t.Errorf("Open re-published version: %v", err)
	}
}

func TestClean(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	publish(t, l, "m", 0, map[string]string{"f": "1"})
	old, err := l.Begin(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := l.Begin(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Abort()
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old.Dir(), long, long); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(root, "m", ".trash-3-abc"), map[string]string{"x": "y"})
	if err := l.Clean(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	var names []string
	entries, _ := os.ReadDir(filepath.Join(root, "m"))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{filepath.Base(fresh.Dir()), "1"}; !slices.Equal(names, want) {
		t.Errorf("after Clean model dir holds %v, want %v", names, want)
	}
}

func TestNewLocalErrors(t *testing.T) {
	if _, err := modelstore.NewLocal(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("NewLocal on a missing root succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := modelstore.NewLocal(f); err == nil {
		t.Error("NewLocal on a file succeeded")
	}
	if _, err := modelstore.NewLocal(t.TempDir(), modelstore.WithPollInterval(-time.Second)); err == nil {
		t.Error("NewLocal with a negative poll interval succeeded")
	}
	l, err := modelstore.NewLocal(t.TempDir(), modelstore.WithPollInterval(0), modelstore.WithFSNotify(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Watch(context.Background()); err == nil {
		t.Error("Watch with no change detection succeeded")
	}
}

func TestModelsIgnoresNonModels(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	publish(t, l, "b", 0, map[string]string{"f": "x"})
	publish(t, l, "a", 0, map[string]string{"f": "x"})
	for _, d := range []string{".hidden", "-x", "a b"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	models, err := l.Models(ctx)
	if err != nil || !slices.Equal(models, []string{"a", "b"}) {
		t.Errorf("Models = %v, %v; want [a b]", models, err)
	}
	// A symlinked model directory is not followed.
	if _, err := l.Open(ctx, "link", 1); !errors.Is(err, modelstore.ErrNotFound) {
		t.Errorf("Open through a symlinked model = %v, want ErrNotFound", err)
	}
}
