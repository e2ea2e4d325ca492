package serving

// Worker CPU and memory are read from /proc, so this test is built on Linux
// only rather than skipped elsewhere.

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swapwire/swapwire/serving/sidecar"
)

// TestWorkerProcessMetrics checks the CPU and memory series of a real
// Python worker, read from /proc.
func TestWorkerProcessMetrics(t *testing.T) {
	needPython(t, false)
	reg := prometheus.NewRegistry()
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	var ps pools
	ts := startServer(t, ps.factory(sidecar.Config{Command: pyModelCmd(t), Workers: 2, Model: "m"}), st, WithRegisterer(reg))
	ts.waitServing(t, "m", 1)
	pids := ps.pids()
	if len(pids) != 2 {
		t.Fatalf("worker pids %v", pids)
	}
	for _, name := range []string{"swapwire_worker_resident_memory_bytes", "swapwire_worker_cpu_seconds_total"} {
		ms := family(t, reg, name)
		if len(ms) != 2 {
			t.Fatalf("%s: %d series, want one per worker", name, len(ms))
		}
		for i, m := range ms {
			l := labelsOf(m)
			if l["model"] != "m" || l["version"] != "1" || l["worker"] != strconv.Itoa(i+1) {
				t.Errorf("%s labels %v", name, l)
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			// A Python that imported grpc and protobuf holds several MiB and
			// has used some CPU.
			if (name == "swapwire_worker_resident_memory_bytes" && v < 4<<20) || v <= 0 {
				t.Errorf("%s{worker=%s} = %v", name, l["worker"], v)
			}
		}
	}
}
