package modelstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

// TestGarbagePolicyKeepsTheLastGood writes a pin, garbles POLICY.json and
// reads the policy from the same store and from a new one (a restart):
// both return the pin with a *PolicyError, never the zero policy.
func TestGarbagePolicyKeepsTheLastGood(t *testing.T) {
	ctx := context.Background()
	l, root := newLocal(t)
	if err := l.SetPolicy(ctx, "m", modelstore.Policy{Pinned: 2, Labels: map[string]int64{"stable": 2}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "m", modelstore.PolicyName), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	restarted, err := modelstore.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*modelstore.Local{"same store": l, "after a restart": restarted} {
		p, err := st.Policy(ctx, "m")
		var pe *modelstore.PolicyError
		if !errors.As(err, &pe) || !pe.HasLastGood {
			t.Fatalf("%s: Policy error %v, want a *PolicyError with the last good policy", name, err)
		}
		if p.Pinned != 2 || p.Labels["stable"] != 2 || pe.LastGood.Pinned != 2 {
			t.Errorf("%s: Policy = %+v, last good %+v; want pinned 2, stable 2", name, p, pe.LastGood)
		}
	}
	// A model whose POLICY.json was never valid has no last good policy.
	os.MkdirAll(filepath.Join(root, "n"), 0o755)
	os.WriteFile(filepath.Join(root, "n", modelstore.PolicyName), []byte(`{"pinned": -3}`), 0o644)
	_, err = l.Policy(ctx, "n")
	var pe *modelstore.PolicyError
	if !errors.As(err, &pe) || pe.HasLastGood {
		t.Errorf("never-valid policy: %v, want a *PolicyError without a last good policy", err)
	}
	// A repair (an admin write) clears the error.
	if err := l.SetPolicy(ctx, "m", modelstore.Policy{Pinned: 1}); err != nil {
		t.Fatal(err)
	}
	if p, err := restarted.Policy(ctx, "m"); err != nil || p.Pinned != 1 {
		t.Errorf("after the repair: %+v, %v", p, err)
	}
}
