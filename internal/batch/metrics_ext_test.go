package batch_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// series returns the metric name with the labels model and version from reg.
func series(t *testing.T, reg *prometheus.Registry, name, model, version string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["model"] == model && labels["version"] == version {
				return m
			}
		}
	}
	return nil
}

func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m, err := batch.NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := batch.NewMetrics(reg) // a second server on the same registry
		if err != nil {
			t.Fatalf("second NewMetrics on one registry: %v", err)
		}
		f := newFake()
		b := batch.New(f, batch.Config{Metrics: m, Model: "digits", Version: "1", MaxDelay: -1})
		defer b.Close()
		other := batch.New(newFake(), batch.Config{Metrics: again, Model: "digits", Version: "2"})
		defer other.Close()

		startText(b, "block") // batch of 1, no queue time
		synctest.Wait()
		queued := startText(b, "a", "b", "c")
		synctest.Wait()
		if g := series(t, reg, "swapwire_batch_queue_length", "digits", "1"); g.GetGauge().GetValue() != 3 {
			t.Fatalf("queue length %v while 3 queued", g.GetGauge().GetValue())
		}
		time.Sleep(3 * time.Millisecond)
		f.block <- struct{}{}
		synctest.Wait()
		for _, p := range queued {
			if !p.finished() {
				t.Fatal("queued request not answered")
			}
		}
		if _, err := other.Predict(context.Background(), predict.Text("x"), nil); err != nil {
			t.Fatal(err)
		}

		size := series(t, reg, "swapwire_batch_size", "digits", "1").GetHistogram()
		if size.GetSampleCount() != 2 || size.GetSampleSum() != 4 {
			t.Fatalf("batch size: %d batches summing %v, want 2 summing 4", size.GetSampleCount(), size.GetSampleSum())
		}
		wait := series(t, reg, "swapwire_batch_queue_seconds", "digits", "1").GetHistogram()
		if wait.GetSampleCount() != 4 || math.Abs(wait.GetSampleSum()-0.009) > 1e-12 {
			t.Fatalf("queue time: %d samples summing %v, want 4 summing 0.009", wait.GetSampleCount(), wait.GetSampleSum())
		}
		if g := series(t, reg, "swapwire_batch_queue_length", "digits", "1"); g.GetGauge().GetValue() != 0 {
			t.Fatalf("queue length %v after draining", g.GetGauge().GetValue())
		}
		if v2 := series(t, reg, "swapwire_batch_size", "digits", "2").GetHistogram(); v2.GetSampleCount() != 1 {
			t.Fatalf("version 2 batch count %d, want 1", v2.GetSampleCount())
		}

		m.Forget("digits", "1")
		if s := series(t, reg, "swapwire_batch_size", "digits", "1"); s != nil {
			t.Fatal("Forget left the version's series")
		}
	})
}

func TestNewMetricsWithoutRegistry(t *testing.T) {
	m, err := batch.NewMetrics(nil)
	if err != nil || m == nil {
		t.Fatalf("NewMetrics(nil) = %v, %v", m, err)
	}
}
