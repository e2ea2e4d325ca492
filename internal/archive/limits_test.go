package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// rawHeader returns a ustar header block, for entries archive/tar's writer
// will not make (PAX sparse headers).
func rawHeader(name string, size int64, typ byte) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "00000000000\x00")
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	for {
		s := fmt.Sprintf("%d %s=%s\n", n, k, v)
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// sparseTar is a PAX 1.0 sparse archive of about 2 KB whose one file
// expands to realSize bytes of holes.
func sparseTar(realSize int64) []byte {
	pax := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", "weights.bin") + paxRecord("GNU.sparse.realsize", fmt.Sprint(realSize))
	sparseMap := fmt.Sprintf("1\n%d\n512\n", realSize-512)
	data := append(pad([]byte(sparseMap)), bytes.Repeat([]byte("A"), 512)...)
	var out []byte
	out = append(out, rawHeader("PaxHeaders/weights.bin", int64(len(pax)), tar.TypeXHeader)...)
	out = append(out, pad([]byte(pax))...)
	out = append(out, rawHeader("GNUSparseFile.0/weights.bin", int64(len(data)), tar.TypeReg)...)
	out = append(out, data...)
	return append(out, make([]byte, 1024)...)
}

func filesTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// largestFile returns the size of the largest file under dir.
func largestFile(t *testing.T, dir string) int64 {
	var most int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && info.Size() > most {
			most = info.Size()
		}
		return nil
	})
	return most
}

// TestSparseTarRefused extracts a 2 KB sparse archive that expands to
// 1 GiB: it is refused and no file over the cap is left (before the fix a
// 1 GiB file was written).
func TestSparseTarRefused(t *testing.T) {
	archive := sparseTar(1 << 30)
	if len(archive) > 4096 {
		t.Fatalf("the archive is %d bytes", len(archive))
	}
	dir := t.TempDir()
	_, err := ExtractTar(bytes.NewReader(archive), dir, Limits{MaxBytes: 1 << 20})
	if predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "sparse") {
		t.Fatalf("sparse archive: %v, want InvalidArgument naming the sparse file", err)
	}
	if n := largestFile(t, dir); n > 1<<20 {
		t.Fatalf("a %d-byte file was written", n)
	}
}

func TestExtractedBytesAndFilesCapped(t *testing.T) {
	dir := t.TempDir()
	_, err := ExtractTar(bytes.NewReader(filesTar(t, map[string]string{"a": strings.Repeat("x", 600), "b": strings.Repeat("y", 600)})), dir, Limits{MaxBytes: 1000})
	if predict.CodeOf(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Fatalf("1,200 bytes over a 1,000-byte cap: %v, want ResourceExhausted", err)
	}
	files := map[string]string{}
	for i := range 21 {
		files[fmt.Sprintf("f%02d", i)] = "x"
	}
	_, err = ExtractTar(bytes.NewReader(filesTar(t, files)), t.TempDir(), Limits{MaxFiles: 20})
	if predict.CodeOf(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "more than 20 files") {
		t.Fatalf("21 files over a cap of 20: %v, want ResourceExhausted", err)
	}
	n, err := ExtractTar(bytes.NewReader(filesTar(t, map[string]string{"w": "weights"})), t.TempDir(), Limits{})
	if err != nil || n != 1 {
		t.Fatalf("a small archive: %d files, %v", n, err)
	}
}

func TestTruncatedArchiveIsInvalidArgument(t *testing.T) {
	a := filesTar(t, map[string]string{"w": strings.Repeat("x", 2000)})
	_, err := ExtractTar(bytes.NewReader(a[:1000]), t.TempDir(), Limits{})
	if predict.CodeOf(err) != codes.InvalidArgument {
		t.Fatalf("truncated archive: %v, want InvalidArgument", err)
	}
}

// FuzzExtractTar feeds arbitrary bytes to the extractor: it never panics,
// never writes outside its directory, and never more than its caps.
func FuzzExtractTar(f *testing.F) {
	f.Add(filesTar(f, map[string]string{"w": "weights", "d/x": "1"}))
	f.Add(sparseTar(1 << 20))
	f.Add(filesTar(f, map[string]string{"../escape": "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "v")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		const capBytes = 64 << 10
		ExtractTar(bytes.NewReader(data), dir, Limits{MaxBytes: capBytes, MaxFiles: 50})
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("the extractor wrote beside its directory: %v", entries)
		}
		var total int64
		filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
			if err == nil && info.Mode().IsRegular() {
				total += info.Size()
			}
			return nil
		})
		if total > capBytes {
			t.Fatalf("extracted %d bytes over a cap of %d", total, capBytes)
		}
	})
}

// TestFullDiskIsResourceExhausted: a write that fails with ENOSPC (or a
// quota) is RESOURCE_EXHAUSTED (before the fix: INVALID_ARGUMENT).
func TestFullDiskIsResourceExhausted(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := diskError(&os.PathError{Op: "write", Path: "w", Err: errno})
		if predict.CodeOf(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "disk is full") {
			t.Errorf("%v: %v, want ResourceExhausted", errno, err)
		}
	}
	if err := diskError(&os.PathError{Op: "write", Path: "w", Err: syscall.EIO}); predict.CodeOf(err) != codes.Internal {
		t.Errorf("EIO: %v, want Internal", err)
	}
}
