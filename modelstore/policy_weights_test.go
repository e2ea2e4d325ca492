package modelstore

import (
	"context"
	"errors"
	"testing"
)

func TestPolicyWeights(t *testing.T) {
	st, err := NewLocal(t.TempDir(), WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := Policy{Pinned: 3, Weights: map[int64]int{3: 90, 4: 10}}
	if err := st.SetPolicy(ctx, "m", want); err != nil {
		t.Fatal(err)
	}
	got, err := st.Policy(ctx, "m")
	if err != nil || got.Pinned != 3 || len(got.Weights) != 2 || got.Weights[3] != 90 || got.Weights[4] != 10 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []map[int64]int{{0: 1}, {-1: 5}, {2: -1}, {2: MaxWeight + 1}, {2: 0, 3: 0}} {
		err := st.SetPolicy(ctx, "m", Policy{Weights: bad})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("weights %v: %v, want ErrInvalid", bad, err)
		}
	}
}
