package rekcurd

import "testing"

func TestRememberKeepsTheNewest(t *testing.T) {
	var order []string
	for i := range rekcurdKeep {
		if _, ok := remember(&order, string(rune('A'+i%26))+string(rune('a'+i/26))); ok {
			t.Fatalf("forgot something at %d of %d", i, rekcurdKeep)
		}
	}
	// Re-storing an old key makes it the newest instead of growing the list.
	if _, ok := remember(&order, "Aa"); ok || len(order) != rekcurdKeep || order[len(order)-1] != "Aa" {
		t.Fatalf("re-store: len %d, newest %q", len(order), order[len(order)-1])
	}
	old, ok := remember(&order, "new")
	if !ok || old != "Ba" || len(order) != rekcurdKeep {
		t.Fatalf("over the bound: forgot %q %v, len %d; want Ba", old, ok, len(order))
	}
}
