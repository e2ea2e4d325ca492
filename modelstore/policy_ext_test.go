package modelstore_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

func TestPolicyRoundTrip(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	p, err := l.Policy(ctx, "m")
	if err != nil || p.Pinned != 0 || p.Labels != nil {
		t.Fatalf("Policy of a missing model = %+v, %v; want zero", p, err)
	}
	publish(t, l, "m", 0, map[string]string{"f": "x"})
	if p, err := l.Policy(ctx, "m"); err != nil || p.Pinned != 0 || p.Labels != nil {
		t.Fatalf("Policy with no file = %+v, %v; want zero", p, err)
	}
	want := modelstore.Policy{Pinned: 3, Labels: map[string]int64{"stable": 3, "canary": 4}}
	if err := l.SetPolicy(ctx, "m", want); err != nil {
		t.Fatal(err)
	}
	got, err := l.Policy(ctx, "m")
	if err != nil || got.Pinned != 3 || !maps.Equal(got.Labels, want.Labels) {
		t.Fatalf("Policy = %+v, %v; want %+v", got, err, want)
	}
	if err := l.SetPolicy(ctx, "m", modelstore.Policy{}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Policy(ctx, "m"); err != nil || got.Pinned != 0 || len(got.Labels) != 0 {
		t.Fatalf("Policy after reset = %+v, %v; want zero", got, err)
	}
	// SetPolicy on a new model creates it.
	if err := l.SetPolicy(ctx, "new", modelstore.Policy{Pinned: 1}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Policy(ctx, "new"); err != nil || got.Pinned != 1 {
		t.Fatalf("Policy(new) = %+v, %v", got, err)
	}
	// No temporary file is left behind: the version, the policy, its last
	// good copy and the lock file.
	entries, _ := os.ReadDir(filepath.Join(root, "m"))
	if len(entries) != 4 {
		t.Errorf("model dir holds %v, want 1, .policy.lock, %s and its last good copy", entries, modelstore.PolicyName)
	}
}

func TestPolicyRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	for _, p := range []modelstore.Policy{
		{Pinned: -1},
		{Labels: map[string]int64{"../x": 1}},
		{Labels: map[string]int64{"": 1}},
		{Labels: map[string]int64{"stable": 0}},
	} {
		if err := l.SetPolicy(ctx, "m", p); !errors.Is(err, modelstore.ErrInvalid) {
			t.Errorf("SetPolicy(%+v) = %v, want ErrInvalid", p, err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "m"), 0o755); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	for _, content := range []string{
		`{"pinned": 1`,
		`not json`,
		`{"pined": 1}`,
		`{"pinned": 1} {"pinned": 2}`,
		`{"pinned": -4}`,
		`{"labels": {"a/b": 1}}`,
		`{"pinned": "1"}`,
	} {
		writeFiles(t, filepath.Join(root, "m"), map[string]string{modelstore.PolicyName: content})
		if p, err := l.Policy(ctx, "m"); err == nil {
			t.Errorf("Policy of %q = %+v, want an error", content, p)
		}
	}
}

// TestPolicyWriteIsAtomic has readers read the policy while a writer
// replaces it: every read sees a complete policy, old or new.
func TestPolicyWriteIsAtomic(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	labels := map[string]int64{}
	for i := range 200 {
		labels["label-"+string(rune('a'+i%26))+string(rune('a'+i/26))] = int64(i + 1)
	}
	if err := l.SetPolicy(ctx, "m", modelstore.Policy{Pinned: 1, Labels: labels}); err != nil {
		t.Fatal(err)
	}
	const writes = 100
	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !done.Load() {
				p, err := l.Policy(ctx, "m")
				if err != nil {
					t.Errorf("Policy during writes: %v", err)
					return
				}
				if p.Pinned < 1 || p.Pinned > writes || len(p.Labels) != len(labels) {
					t.Errorf("Policy during writes = pinned %d with %d labels", p.Pinned, len(p.Labels))
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := range writes {
		if err := l.SetPolicy(ctx, "m", modelstore.Policy{Pinned: int64(i + 1), Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	if p, err := l.Policy(ctx, "m"); err != nil || p.Pinned != writes {
		t.Errorf("final Policy = %+v, %v; want pinned %d", p.Pinned, err, writes)
	}
	t.Logf("%d reads during %d writes", reads.Load(), writes)
}
