package serving

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// storeFault returns the swapwire_model_store_fault gauge of model.
func storeFault(t *testing.T, s *Server, model string) float64 {
	t.Helper()
	mfs, err := s.gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "swapwire_model_store_fault" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "model" && l.GetValue() == model {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// listModel returns the admin status of model.
func listModel(t *testing.T, ts *testServer, model string) *swapwirev1.ModelStatus {
	t.Helper()
	resp, err := ts.admin.ListModels(waitCtx(t), &swapwirev1.ListModelsRequest{Model: model})
	if err != nil || len(resp.GetModels()) != 1 {
		t.Fatalf("ListModels: %v %v", resp, err)
	}
	return resp.GetModels()[0]
}

// waitStoreError polls the model's status until its store error contains
// want ("" waits for no error).
func waitStoreError(t *testing.T, ts *testServer, model, want string) *swapwirev1.ModelStatus {
	t.Helper()
	ctx := waitCtx(t)
	for {
		ts.eng.Refresh()
		st := listModel(t, ts, model)
		got := st.GetStoreError()
		if (want == "" && got == "") || (want != "" && strings.Contains(got, want)) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("store error of %s is %q, want %q", model, got, want)
		case <-time.After(20 * time.Millisecond): // polling the status; the engine sends no event for it
		}
	}
}

func predictText(t *testing.T, ts *testServer, model string) (string, int64) {
	t.Helper()
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: model, Input: textIn})
	if err != nil {
		t.Fatalf("Predict %s: %v", model, err)
	}
	return resp.GetOutput().GetText(), resp.GetVersion()
}

// TestEmptiedStoreKeepsServing replaces the store's content by nothing (a
// volume that did not mount): the serving version keeps serving, the fault
// shows in the status and the metric, and clears when the store returns.
// Before the fix every model was unloaded.
func TestEmptiedStoreKeepsServing(t *testing.T) {
	root := t.TempDir()
	st := newLocal(t, root, modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "one")
	ts := startServer(t, answerFactory(newStats(), 0), st)
	ts.waitServing(t, "m", 1)

	aside := t.TempDir()
	if err := os.Rename(filepath.Join(root, "m"), filepath.Join(aside, "m")); err != nil {
		t.Fatal(err)
	}
	s := waitStoreError(t, ts, "m", "the store lists no version of m; version 1 keeps serving")
	if s.GetServingVersion() != 1 {
		t.Errorf("serving version %d after the store emptied, want 1", s.GetServingVersion())
	}
	if got, v := predictText(t, ts, "m"); got != "one" || v != 1 {
		t.Errorf("Predict after the store emptied: %q from version %d, want one from 1", got, v)
	}
	if f := storeFault(t, ts.Server, "m"); f != 1 {
		t.Errorf("swapwire_model_store_fault = %v, want 1", f)
	}

	if err := os.Rename(filepath.Join(aside, "m"), filepath.Join(root, "m")); err != nil {
		t.Fatal(err)
	}
	waitStoreError(t, ts, "m", "")
	if f := storeFault(t, ts.Server, "m"); f != 0 {
		t.Errorf("swapwire_model_store_fault = %v after recovery, want 0", f)
	}
}

// TestGarbagePolicyKeepsThePin pins version 1 of two, garbles POLICY.json
// and restarts: the new server still serves version 1 (before the fix it
// served 2), shows the fault, and an admin write repairs the policy (before
// the fix it failed with INTERNAL).
func TestGarbagePolicyKeepsThePin(t *testing.T) {
	root := t.TempDir()
	st := newLocal(t, root, modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "one")
	publish(t, st, "m", 2, "two")
	first := startServer(t, answerFactory(newStats(), 0), st)
	if _, err := first.admin.SwitchModel(waitCtx(t), &swapwirev1.SwitchModelRequest{Model: "m", Version: 1, Wait: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "m", modelstore.PolicyName), []byte(`{"pinned": "one"`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := waitStoreError(t, first, "m", "read policy")
	if s.GetServingVersion() != 1 || s.GetPinnedVersion() != 1 {
		t.Errorf("running server: serving %d pinned %d, want 1 and 1", s.GetServingVersion(), s.GetPinnedVersion())
	}
	first.Close()

	second := startServer(t, answerFactory(newStats(), 0), newLocal(t, root, modelstore.WithPollInterval(0)))
	second.waitServing(t, "m", 1)
	s = waitStoreError(t, second, "m", "invalid")
	if s.GetServingVersion() != 1 || s.GetPinnedVersion() != 1 {
		t.Errorf("restarted server: serving %d pinned %d, want 1 and 1", s.GetServingVersion(), s.GetPinnedVersion())
	}
	if got, v := predictText(t, second, "m"); got != "one" || v != 1 {
		t.Errorf("Predict after the restart: %q from version %d, want one from 1", got, v)
	}
	// A label write repairs the file from the last good policy: the pin
	// stays, the label is added.
	resp, err := second.admin.SetLabel(waitCtx(t), &swapwirev1.SetLabelRequest{Model: "m", Label: "canary", Version: 2})
	if err != nil {
		t.Fatalf("SetLabel on an invalid policy: %v (code %v), want a repair", err, status.Code(err))
	}
	if resp.GetStatus().GetPinnedVersion() != 1 || resp.GetStatus().GetLabels()["canary"] != 2 {
		t.Errorf("SetLabel wrote %v, want pinned 1 and canary 2", resp.GetStatus())
	}
	p, err := st.Policy(context.Background(), "m")
	if err != nil || p.Pinned != 1 || p.Labels["canary"] != 2 {
		t.Errorf("POLICY.json after the repair: %+v, %v", p, err)
	}
	waitStoreError(t, second, "m", "")
}

// TestGarbagePolicyWithoutLastGoodLoadsNothing starts on a POLICY.json
// that was never valid: nothing is known of what should serve, so the
// server loads nothing and says why, rather than guess the latest.
func TestGarbagePolicyWithoutLastGoodLoadsNothing(t *testing.T) {
	root := t.TempDir()
	st := newLocal(t, root, modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "one")
	os.WriteFile(filepath.Join(root, "m", modelstore.PolicyName), []byte("garbage"), 0o644)
	ts := startServer(t, answerFactory(newStats(), 0), st)
	s := waitStoreError(t, ts, "m", "no last good policy is known")
	if s.GetServingVersion() != 0 {
		t.Errorf("serving %d on a never-valid policy, want none", s.GetServingVersion())
	}
	_, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Predict: %v, want Unavailable", err)
	}
}

// TestPinnedFailureFallsBackOnlyToOlder pins a version that fails to load
// on a fresh server: it serves the newest older version, never the newer
// one (before the fix it served 3).
func TestPinnedFailureFallsBackOnlyToOlder(t *testing.T) {
	st := newLocal(t, t.TempDir(), modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "one")
	publish(t, st, "m", 2, "fail-load")
	publish(t, st, "m", 3, "three")
	if err := st.SetPolicy(context.Background(), "m", modelstore.Policy{Pinned: 2}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, answerFactory(newStats(), 0), st)
	ts.waitServing(t, "m", 0)
	if got, v := predictText(t, ts, "m"); got != "one" || v != 1 {
		t.Errorf("pinned 2 failing: %q from version %d, want one from 1", got, v)
	}
	// With no older version, nothing serves rather than the newer one.
	st2 := newLocal(t, t.TempDir(), modelstore.WithPollInterval(0))
	publish(t, st2, "m", 1, "fail-load")
	publish(t, st2, "m", 2, "two")
	st2.SetPolicy(context.Background(), "m", modelstore.Policy{Pinned: 1})
	ts2 := startServer(t, answerFactory(newStats(), 0), st2)
	if err := ts2.waitFailed(waitCtx(t), "m", 1); err == nil {
		t.Fatal("version 1 did not fail")
	}
	ts2.eng.Refresh()
	if s := listModel(t, ts2, "m"); s.GetServingVersion() != 0 {
		t.Errorf("pinned 1 failing with only 2 newer: serving %d, want none", s.GetServingVersion())
	}
}

// hungModel's Load ignores its context until release is closed.
type hungModel struct {
	release chan struct{}
	closed  chan struct{}
}

func (h *hungModel) Load(context.Context, string) error { <-h.release; return nil }

func (h *hungModel) Predict(context.Context, predict.Value, predict.Option) (predict.Result, error) {
	return predict.Result{Label: predict.Text("hung")}, nil
}

func (h *hungModel) Close() error { close(h.closed); return nil }

// TestHungLoadIsAbandoned loads a version whose Load ignores its context:
// the load timeout fails it (before the fix the model was blocked forever),
// and the predictor is closed once its Load returns.
func TestHungLoadIsAbandoned(t *testing.T) {
	st := newLocal(t, t.TempDir(), modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "one")
	h := &hungModel{release: make(chan struct{}), closed: make(chan struct{})}
	ts := startServer(t, func() predict.Predictor { return h }, st, WithLoadTimeout(200*time.Millisecond))
	err := ts.waitFailed(waitCtx(t), "m", 1)
	if err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Fatalf("hung load: %v, want a failure saying it was abandoned", err)
	}
	close(h.release)
	select {
	case <-h.closed:
	case <-waitCtx(t).Done():
		t.Fatal("the abandoned predictor was not closed after its Load returned")
	}
}
