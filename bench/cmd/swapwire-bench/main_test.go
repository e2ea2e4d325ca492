package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the benchmark's child process, as
// the real binary does: startChild runs os.Executable() with "serve".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serveChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestOverheadAndSwapQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	oo, so := overheadFlags(fs), swapFlags(fs)
	if err := fs.Parse([]string{"-overhead-streams", "1,8", "-swap-window", "200ms", "-swap-windows", "3"}); err != nil {
		t.Fatal(err)
	}
	c := common{quick: true}
	rep := newReport(c, []string{"test"})
	if err := runOverhead(c, oo, rep); err != nil {
		t.Fatal(err)
	}
	if err := runSwap(c, so, rep); err != nil {
		t.Fatal(err)
	}
	if got := len(rep.Overhead.Levels); got != 2 {
		t.Fatalf("%d overhead levels, want 2", got)
	}
	for _, l := range rep.Overhead.Levels {
		if l.Bare.RPS <= 0 || l.Swapwire.RPS <= 0 || l.Bare.Failures+l.Swapwire.Failures != 0 {
			t.Errorf("overhead level %+v", l)
		}
	}
	s := rep.Swap
	if s.Swaps != 30 || s.SwapFailures != 0 || s.During.Failures != 0 || s.Steady.Failures != 0 {
		t.Errorf("swap: %d swaps, %d failed, %d+%d failed requests", s.Swaps, s.SwapFailures, s.Steady.Failures, s.During.Failures)
	}
	if s.RSSEarly <= 0 || s.RSSLate <= 0 {
		t.Errorf("swap: memory not read: %d, %d kB", s.RSSEarly, s.RSSLate)
	}
}

func TestWriteKeepsHandWrittenText(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "benchmarks.md")
	old := "# Benchmarks\n\nhand-written method\n\n" + beginMark + "\nstale\n" + endMark + "\n\n## Notes\n\nhand-written notes\n"
	if err := os.WriteFile(md, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := &Report{Started: time.Unix(0, 0), CPUs: 2, Go: "go1.x", Batching: &BatchingResult{
		CallCost: 200 * time.Microsecond, BatchMax: 32, Slots: 1, GOMAXPROCS: 2,
		Levels: []BatchLevel{{Off: Stat{Streams: 16, RPS: 1000, P99: time.Millisecond}, On: Stat{Streams: 16, RPS: 3000, P99: time.Millisecond}, MeanBatch: 4}},
	}}
	if err := rep.write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{"hand-written method", "hand-written notes", "| 16 | 1000 | 3000 | 3.00 | 4.0 |", beginMark, endMark} {
		if !strings.Contains(got, want) {
			t.Errorf("benchmarks.md lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "stale") {
		t.Errorf("the old generated text was kept:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "benchmarks.svg")); err != nil {
		t.Error(err)
	}
}
