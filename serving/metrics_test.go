package serving

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

func family(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestFreshServerMetrics checks swapwire_build_info and that a fresh server
// pre-creates gRPC series only for the prediction methods: 17 codes for
// each of Predict, PredictStream, ModelInfer and ModelStreamInfer.
func TestFreshServerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	ts := startServer(t, answerFactory(newStats(), 0), st, WithRegisterer(reg))
	ts.waitServing(t, "m", 1)

	bi := family(t, reg, "swapwire_build_info")
	if len(bi) != 1 || bi[0].GetGauge().GetValue() != 1 {
		t.Fatalf("swapwire_build_info: %v", bi)
	}
	l := labelsOf(bi[0])
	if l["version"] != Version || l["goversion"] != runtime.Version() || l["revision"] == "" {
		t.Errorf("swapwire_build_info labels %v", l)
	}

	handled := family(t, reg, "grpc_server_handled_total")
	methods := map[string]int{}
	for _, m := range handled {
		l := labelsOf(m)
		methods[l["grpc_service"]+"/"+l["grpc_method"]]++
	}
	want := map[string]int{
		"swapwire.v1.PredictionService/Predict":           17,
		"swapwire.v1.PredictionService/PredictStream":     17,
		"inference.GRPCInferenceService/ModelInfer":       17,
		"inference.GRPCInferenceService/ModelStreamInfer": 17,
	}
	if len(handled) != 68 || len(methods) != len(want) {
		t.Errorf("%d grpc_server_handled_total series over %v; want 68 over %v", len(handled), methods, want)
	}
	for k, n := range want {
		if methods[k] != n {
			t.Errorf("%s: %d series, want %d", k, methods[k], n)
		}
	}
	// Another method gets its series on its first call.
	if _, err := ts.predict.ServiceInfo(waitCtx(t), &swapwirev1.ServiceInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range family(t, reg, "grpc_server_handled_total") {
		if l := labelsOf(m); l["grpc_method"] == "ServiceInfo" && l["grpc_code"] == "OK" && m.GetCounter().GetValue() == 1 {
			found = true
		}
	}
	if !found {
		t.Error("no grpc_server_handled_total series for ServiceInfo after a call")
	}
}
