package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/swapwire/swapwire/"

// deps returns the packages pkg depends on, itself included, by import path.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

var (
	wireProtos = []string{mod + "proto/swapwire/v1", mod + "proto/rekcurd", mod + "proto/inference"}
	frontEnds  = map[string]string{ // front-end package: its own proto
		"internal/protocol/native":  mod + "proto/swapwire/v1",
		"internal/protocol/rekcurd": mod + "proto/rekcurd",
		"internal/protocol/oip":     mod + "proto/inference",
	}
)

// TestEngineKnowsNoProtocol: the engine imports no wire type and no front-end.
func TestEngineKnowsNoProtocol(t *testing.T) {
	d := deps(t, "internal/engine")
	for _, p := range d {
		if slices.Contains(wireProtos, p) || strings.HasPrefix(p, mod+"internal/protocol/") || p == mod+"serving" {
			t.Errorf("internal/engine depends on %s", p)
		}
	}
	if !slices.Contains(d, mod+"predict") || !slices.Contains(d, mod+"modelstore") {
		t.Errorf("go list saw no predict or modelstore among the engine's dependencies: %v", d)
	}
}

// TestFrontEndsKnowOnlyThemselves: a front-end imports no other front-end
// and no other protocol's wire types.
func TestFrontEndsKnowOnlyThemselves(t *testing.T) {
	for pkg, own := range frontEnds {
		d := deps(t, pkg)
		if !slices.Contains(d, own) || !slices.Contains(d, mod+"internal/engine") {
			t.Errorf("%s: go list saw neither %s nor the engine among its dependencies", pkg, own)
		}
		for other, proto := range frontEnds {
			if other == pkg {
				continue
			}
			if slices.Contains(d, mod+other) {
				t.Errorf("%s depends on the front-end %s", pkg, other)
			}
			if slices.Contains(d, proto) {
				t.Errorf("%s depends on %s, another protocol's wire types", pkg, proto)
			}
		}
		if slices.Contains(d, mod+"serving") {
			t.Errorf("%s depends on serving, its assembler", pkg)
		}
	}
}

// TestServingDoesNotNeedTheSidecar: worker processes are one Predictor
// among others; the server knows them only through predict's interfaces.
func TestServingDoesNotNeedTheSidecar(t *testing.T) {
	for _, pkg := range []string{"serving", "internal/engine"} {
		if slices.Contains(deps(t, pkg), mod+"serving/sidecar") {
			t.Errorf("%s depends on serving/sidecar", pkg)
		}
	}
}
