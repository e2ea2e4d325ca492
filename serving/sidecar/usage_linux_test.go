package sidecar

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses, utime 250 and stime 50
	// ticks, rss 1000 pages.
	stat := "4242 (my (odd) worker) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 100 123456789 1000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	cpu, rss := parseProcStat(stat)
	if cpu != 3 || rss != 1000*int64(os.Getpagesize()) {
		t.Errorf("cpu %v, rss %d; want 3 and %d", cpu, rss, 1000*os.Getpagesize())
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "no parenthesis at all"} {
		if cpu, rss := parseProcStat(bad); cpu != 0 || rss != 0 {
			t.Errorf("%q: %v, %d; want zeros", bad, cpu, rss)
		}
	}
}

// TestProcUsageOfThisProcess reads the test's own /proc entry: it has
// resident memory, and a CPU time that the work done so far makes positive.
func TestProcUsageOfThisProcess(t *testing.T) {
	x := 0
	for i := range 50_000_000 {
		x += i
	}
	cpu, rss := procUsage(os.Getpid())
	if cpu <= 0 || rss < 1<<20 {
		t.Errorf("cpu %v s, rss %d bytes (%d); want both positive, rss above 1 MiB", cpu, rss, x)
	}
	if cpu, rss := procUsage(-1); cpu != 0 || rss != 0 {
		t.Errorf("pid -1: %v, %d", cpu, rss)
	}
}

// FuzzParseProcStat feeds arbitrary text to the /proc/<pid>/stat parser:
// it never panics, and what it returns is never negative.
func FuzzParseProcStat(f *testing.F) {
	f.Add("4242 (my (odd) worker) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 3 0 100 123456789 1000 0 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
	f.Add("1 (x) R")
	f.Add(")")
	f.Fuzz(func(t *testing.T, s string) {
		cpu, rss := parseProcStat(s)
		if cpu < 0 || rss < 0 {
			t.Fatalf("%q: cpu %v, rss %d", s, cpu, rss)
		}
	})
}
