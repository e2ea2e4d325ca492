package serving

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// TestTrafficSplit shares unnamed traffic 80/20 between two versions, then
// removes the split.
func TestTrafficSplit(t *testing.T) {
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	publish(t, st, "m", 2, "v2")
	stats := newStats()
	ts := startServer(t, answerFactory(stats, 0), st)
	ts.waitServing(t, "m", 2)

	resp, err := ts.admin.SplitTraffic(waitCtx(t), &swapwirev1.SplitTrafficRequest{Model: "m", Weights: weights(1, 80, 2, 20)})
	if err != nil {
		t.Fatal(err)
	}
	if w := resp.GetStatus().GetWeights(); len(w) != 2 || w[0].GetVersion() != 1 || w[0].GetWeight() != 80 || w[1].GetVersion() != 2 || w[1].GetWeight() != 20 {
		t.Fatalf("status weights %v", w)
	}
	// Wait until the split is in force: version 1 loaded and weighted.
	for ctx := waitCtx(t); ; {
		ch := ts.eng.Changes()
		if m, _ := ts.eng.Model("m"); len(m.Split) == 2 {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("the split never took effect")
		}
	}
	const n = 2000
	var got [3]int
	for range n {
		r, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
		if err != nil {
			t.Fatal(err)
		}
		if r.GetOutput().GetText() != "v"+string(rune('0'+r.GetVersion())) {
			t.Fatalf("version %d answered %q", r.GetVersion(), r.GetOutput().GetText())
		}
		got[r.GetVersion()]++
	}
	// 20% of 2000 is 400 with a standard deviation of about 18; allow 5.
	if got[2] < 310 || got[2] > 490 || got[1]+got[2] != n {
		t.Fatalf("split 80/20 sent %d to v1 and %d to v2", got[1], got[2])
	}
	// Named versions ignore the split.
	r, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Version: 2, Input: textIn})
	if err != nil || r.GetVersion() != 2 {
		t.Fatalf("pinned request: %v %v", r, err)
	}
	// A weighted version cannot be deleted.
	if _, err := ts.admin.DeleteVersion(waitCtx(t), &swapwirev1.DeleteVersionRequest{Model: "m", Version: 1}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("delete weighted version: %v", err)
	}
	for _, bad := range [][]*swapwirev1.VersionWeight{weights(1, -1), weights(0, 5), weights(1, 0, 2, 0), weights(9, 50), weights(1, 5, 1, 6)} {
		if _, err := ts.admin.SplitTraffic(waitCtx(t), &swapwirev1.SplitTrafficRequest{Model: "m", Weights: bad}); status.Code(err) == codes.OK {
			t.Errorf("weights %v accepted", bad)
		}
	}
	// Removing the split sends everything to the serving version again.
	if _, err := ts.admin.SplitTraffic(waitCtx(t), &swapwirev1.SplitTrafficRequest{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	for ctx := waitCtx(t); ; {
		ch := ts.eng.Changes()
		if m, _ := ts.eng.Model("m"); m.Split == nil {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("the split was never removed")
		}
	}
	for range 50 {
		r, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
		if err != nil || r.GetVersion() != 2 {
			t.Fatalf("after removing the split: %v %v", r, err)
		}
	}
}

// weights builds a split from version, weight pairs.
func weights(pairs ...int64) []*swapwirev1.VersionWeight {
	var out []*swapwirev1.VersionWeight
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, &swapwirev1.VersionWeight{Version: pairs[i], Weight: int32(pairs[i+1])})
	}
	return out
}
