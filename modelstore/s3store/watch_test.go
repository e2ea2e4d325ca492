package s3store

import (
	"testing"
	"time"
)

// Poll intervals spread over ±jitter so that replicas drift apart.
func TestJittered(t *testing.T) {
	s := &Store{cfg: config{jitter: 0.2}}
	const d = 10 * time.Second
	lo, hi := d, d
	for range 1000 {
		j := s.jittered(d)
		if j < 8*time.Second || j > 12*time.Second {
			t.Fatalf("jittered(%v) = %v, outside ±20%%", d, j)
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo > 9*time.Second || hi < 11*time.Second {
		t.Fatalf("1000 jittered intervals span only %v..%v", lo, hi)
	}
	if got := (&Store{cfg: config{}}).jittered(d); got != d {
		t.Fatalf("no jitter: %v, want %v", got, d)
	}
}
