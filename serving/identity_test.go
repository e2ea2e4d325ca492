package serving

import (
	"strings"
	"testing"

	"github.com/swapwire/swapwire/modelstore"
)

func TestParseIdentities(t *testing.T) {
	ids, err := ParseIdentities(strings.NewReader("# who\n\nci deploy token:abc\ngw read subject:CN=gw, O=Example Corp\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != (Identity{Name: "ci", Role: RoleDeploy, Token: "abc"}) ||
		ids[1] != (Identity{Name: "gw", Role: RoleRead, Subject: "CN=gw, O=Example Corp"}) {
		t.Fatalf("parsed %+v", ids)
	}
	for _, bad := range []string{"ci deploy", "ci root token:x", "ci deploy password:x", "ci deploy token:"} {
		if _, err := ParseIdentities(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: %v, want an error naming line 1", bad, err)
		}
	}
}

func TestNewRefusesBadIdentities(t *testing.T) {
	st := modelstore.NewStatic("m", t.TempDir())
	for name, ids := range map[string][]Identity{
		"same token":      {{Name: "a", Role: RoleAdmin, Token: "t"}, {Name: "b", Role: RoleRead, Token: "t"}},
		"two credentials": {{Name: "a", Role: RoleAdmin, Token: "t", SAN: "x"}},
		"public role":     {{Name: "a", Role: RolePublic, Token: "t"}},
		"no name":         {{Role: RoleRead, Token: "t"}},
	} {
		if srv, err := New(echoFactory, st, WithIdentities(ids...)); err == nil {
			srv.Close()
			t.Errorf("%s: New accepted %+v", name, ids)
		}
	}
}
