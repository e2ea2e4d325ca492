package sidecar

import (
	"log/slog"
	"os/exec"
	"strings"
	"testing"
)

func TestLevelClassifier(t *testing.T) {
	// What the Python runtime writes for a failed predict, then a normal
	// line, a warning and lines naming their levels.
	lines := []struct {
		line string
		want slog.Level
	}{
		{"swapwire-worker INFO loaded version 1", slog.LevelInfo},
		{"swapwire-worker ERROR predict failed:", slog.LevelError},
		{"Traceback (most recent call last):", slog.LevelError},
		{`  File "/m.py", line 3, in predict`, slog.LevelError},
		{"    raise ValueError('boom')", slog.LevelError},
		{"ValueError: boom", slog.LevelError},
		{"", slog.LevelError}, // a chained traceback may follow
		{"loaded 3 trees", slog.LevelInfo},
		{"", slog.LevelInfo},
		{"/usr/lib/python3/dist-packages/sklearn/base.py:12: UserWarning: X has feature names", slog.LevelWarn},
		{"  warnings.warn(", slog.LevelWarn},
		{"swapwire-worker WARNING slow load", slog.LevelWarn},
		{"ERROR: cannot open weights", slog.LevelError},
		{"[DEBUG] cache hit", slog.LevelDebug},
		{"level=INFO msg=ok", slog.LevelInfo},
		{"INFORMATION is not a level", slog.LevelInfo},
		{"CRITICAL out of memory", slog.LevelError},
		{"Errors: 0", slog.LevelInfo},
	}
	var c levelClassifier
	for _, l := range lines {
		if got := c.level(l.line); got != l.want {
			t.Errorf("%q: %v, want %v", l.line, got, l.want)
		}
	}
}

// TestLevelOfRealTraceback feeds what Debian's Python writes for an
// uncaught, chained exception through readLines: every line of it is ERROR,
// and the line printed after it is INFO again.
func TestLevelOfRealTraceback(t *testing.T) {
	out, err := exec.Command(python, "-c", `
import sys
print("before", file=sys.stderr, flush=True)
try:
    {}["k"]
except KeyError:
    raise ValueError("bad weights")
`).CombinedOutput()
	if err == nil {
		t.Fatal("python exited 0")
	}
	text := string(out) + "after\n"
	var c levelClassifier
	var got []string
	readLines(strings.NewReader(text), func(line string) {
		got = append(got, c.level(line).String()+" "+line)
	})
	if len(got) < 8 {
		t.Fatalf("too few lines:\n%s", strings.Join(got, "\n"))
	}
	if got[0] != "INFO before" || got[len(got)-1] != "INFO after" {
		t.Errorf("first or last line: %q, %q", got[0], got[len(got)-1])
	}
	for _, g := range got[1 : len(got)-1] {
		if !strings.HasPrefix(g, "ERROR ") {
			t.Errorf("traceback line not ERROR: %q", g)
		}
	}
	if !strings.Contains(strings.Join(got, "\n"), "ERROR ValueError: bad weights") {
		t.Errorf("no final ValueError line:\n%s", strings.Join(got, "\n"))
	}
}
