package modelstore_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/storetest"
)

// Two processes each making 50 concurrent label updates on one directory
// lose none of them.
func TestLocalUpdatePolicyRacingProcesses(t *testing.T) {
	l, root := newLocal(t)
	storetest.RaceLabels(t, l, []string{"SWAPWIRE_TEST_LOCAL_ROOT=" + root}, 2, 50)
}

func TestLocalUpdatePolicy(t *testing.T) {
	ctx := context.Background()
	l, _ := newLocal(t)
	p, err := l.UpdatePolicy(ctx, "m", func(p *modelstore.Policy) error {
		p.Pinned = 2
		p.Generation = 99 // ignored
		return nil
	})
	if err != nil || p.Pinned != 2 || p.Generation != 1 {
		t.Fatalf("first update = %+v, %v; want pinned 2, generation 1", p, err)
	}
	p, err = l.UpdatePolicy(ctx, "m", func(p *modelstore.Policy) error {
		p.Labels = map[string]int64{"stable": 2}
		return nil
	})
	if err != nil || p.Pinned != 2 || p.Generation != 2 || !maps.Equal(p.Labels, map[string]int64{"stable": 2}) {
		t.Fatalf("second update = %+v, %v", p, err)
	}
	got, err := l.Policy(ctx, "m")
	if err != nil || got.Generation != 2 || got.Pinned != 2 || got.Labels["stable"] != 2 {
		t.Fatalf("Policy = %+v, %v", got, err)
	}
	// An error from fn aborts the update and is returned as is.
	boom := errors.New("boom")
	if _, err := l.UpdatePolicy(ctx, "m", func(p *modelstore.Policy) error { p.Pinned = 7; return boom }); err != boom {
		t.Fatalf("fn error: got %v", err)
	}
	// An invalid result is refused and nothing changes.
	if _, err := l.UpdatePolicy(ctx, "m", func(p *modelstore.Policy) error { p.Pinned = -3; return nil }); !errors.Is(err, modelstore.ErrInvalid) {
		t.Fatalf("invalid result: got %v, want ErrInvalid", err)
	}
	// SetPolicy also advances the generation.
	if err := l.SetPolicy(ctx, "m", modelstore.Policy{Pinned: 1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Policy(ctx, "m"); got.Generation != 3 || got.Pinned != 1 || got.Labels != nil {
		t.Fatalf("after SetPolicy: %+v", got)
	}
}
