package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/swapwire/swapwire/client"
)

func TestMain(m *testing.M) {
	// The fleet tests run this test binary as swapwire itself.
	if os.Getenv(envRunMain) == "1" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"python3 worker.py", []string{"python3", "worker.py"}},
		{`  python3   "my worker.py"  --flag='a b' `, []string{"python3", "my worker.py", "--flag=a b"}},
		{`a\ b c`, []string{"a b", "c"}},
		{`x "" y`, []string{"x", "", "y"}},
	}
	for _, tt := range tests {
		got, err := splitCommand(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "   ", `"open`, `tail\`} {
		if got, err := splitCommand(bad); err == nil {
			t.Errorf("splitCommand(%q) = %q, want an error", bad, got)
		}
	}
}

func TestDispatchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"modles"}, 2, "did you mean models?"},
		{[]string{"upload", "x", "--modle", "m"}, 2, "unknown flag: --modle; did you mean --model?"},
		{[]string{"models", "--adr", "x"}, 2, "did you mean --addr?"},
		{[]string{"models", "a", "b"}, 2, "at most one MODEL"},
		{[]string{"upload", "a", "b", "--model", "m"}, 2, "one PATH"},
		{[]string{"models", "-o", "xml"}, 2, `-o "xml": want one of table, wide, json, yaml`},
		{[]string{"predict", "--addr", "127.0.0.1:1"}, 2, "give exactly one input"},
		{[]string{"predict", "--text", "a", "--ints", "1"}, 2, "give exactly one input"},
		{[]string{"predict", "--ints", "1,x"}, 2, "--ints"},
		{[]string{"predict", "--text", "a", "--option", "[1]"}, 2, "--option"},
		{[]string{"upload", "--model", "m"}, 2, "one PATH"},
		{[]string{"switch", "--model", "m"}, 2, "--version V or --latest"},
		{[]string{"label", "--model", "m", "--label", "l"}, 2, "--version V or --remove"},
		{[]string{"split", "--model", "m"}, 2, "VERSION=WEIGHT"},
		{[]string{"split", "--model", "m", "1=x"}, 2, `"1=x": want VERSION=WEIGHT`},
		{[]string{"serve"}, 2, "--model-store URL or --model-dir is required"},
		{[]string{"serve", "--model-dir", "x"}, 2, "--worker"},
		{[]string{"predict", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"models", "--timeout", "soon"}, 2, `invalid argument "soon" for "--timeout"`},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := dispatch(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("swapwire %q: exit %d, stderr %q; want exit %d with %q", tt.args, code, errb.String(), tt.code, tt.msg)
		}
	}
}

// Help goes to stdout with a synopsis and examples, for the root and every
// command.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"predict", "-h"}, {"upload", "--help"}, {"help", "models"}, {"serve", "-h"}} {
		var out, errb bytes.Buffer
		code := dispatch(args, &out, &errb)
		if code != 0 || errb.Len() != 0 || !strings.Contains(out.String(), "Usage") {
			t.Errorf("swapwire %q: exit %d, stdout %q, stderr %q; want help on stdout", args, code, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	dispatch([]string{"upload", "--help"}, &out, &errb)
	for _, want := range []string{"swapwire upload PATH --model M", "Examples:", "--idle-timeout", "swapwire upload ./digits-v2 --model digits"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("upload --help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestWriteTar(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "weights.json"), []byte(`{"w":1}`), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "vocab.txt"), []byte("a\nb\n"), 0o644)
	var buf bytes.Buffer
	n, err := client.WriteTar(&buf, dir)
	if err != nil || n != 2 {
		t.Fatalf("writeTar: %d files, %v", n, err)
	}
	got := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			got[h.Name] = string(b)
		}
	}
	if got["weights.json"] != `{"w":1}` || got["sub/vocab.txt"] != "a\nb\n" || len(got) != 2 {
		t.Fatalf("archive holds %v", got)
	}
	// A single file goes in under its base name.
	buf.Reset()
	if n, err := client.WriteTar(&buf, filepath.Join(dir, "weights.json")); err != nil || n != 1 {
		t.Fatalf("single file: %d, %v", n, err)
	}
	h, err := tar.NewReader(&buf).Next()
	if err != nil || h.Name != "weights.json" {
		t.Fatalf("single file entry %v, %v", h, err)
	}
	if _, err := client.WriteTar(io.Discard, t.TempDir()); err == nil {
		t.Fatal("an empty directory was packed")
	}
}
