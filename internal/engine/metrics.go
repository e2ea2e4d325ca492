package engine

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/batch"
)

// metrics are Swapwire's per-model series. Per-version series are deleted
// when their version is unloaded, so a server that swaps a thousand times
// keeps a bounded number of series.
type metrics struct {
	requests    *prometheus.CounterVec   // model, version, code
	latency     *prometheus.HistogramVec // model, version
	loads       *prometheus.CounterVec   // model, result
	loadSeconds *prometheus.HistogramVec // model
	swaps       *prometheus.CounterVec   // model
	serving     *prometheus.GaugeVec     // model
	storeFault  *prometheus.GaugeVec     // model
	batch       *batch.Metrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "swapwire", Name: "requests_total",
			Help: "Predictions answered, by model, version and gRPC code.",
		}, []string{"model", "version", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "swapwire", Name: "request_duration_seconds",
			Help:    "Time spent in the model per prediction, by model and version.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"model", "version"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "swapwire", Name: "model_loads_total",
			Help: "Model version loads, by model and result (ok or error).",
		}, []string{"model", "result"}),
		loadSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "swapwire", Name: "model_load_seconds",
			Help:    "Time to load and warm a model version.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"model"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "swapwire", Name: "model_swaps_total",
			Help: "Times a model's serving version changed.",
		}, []string{"model"}),
		serving: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "swapwire", Name: "model_serving_version",
			Help: "The version a model is serving; 0 when none.",
		}, []string{"model"}),
	}
	m.storeFault = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "swapwire", Name: "model_store_fault",
		Help: "1 while the store fails a model (an error, no versions, an invalid policy) and the server keeps its last good state; else 0.",
	}, []string{"model"})
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.loads, m.loadSeconds, m.swaps, m.serving, m.storeFault} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	b, err := batch.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	m.batch = b
	return m, nil
}

// versionMetrics holds the series one version touches on every request, looked
// up once at load so the hot path does no label hashing.
type versionMetrics struct {
	ok      prometheus.Counter
	latency prometheus.Observer
}

func (m *metrics) forVersion(model string, version int64) versionMetrics {
	v := strconv.FormatInt(version, 10)
	return versionMetrics{
		ok:      m.requests.WithLabelValues(model, v, codes.OK.String()),
		latency: m.latency.WithLabelValues(model, v),
	}
}

func (m *metrics) countError(model string, version int64, code codes.Code) {
	m.requests.WithLabelValues(model, strconv.FormatInt(version, 10), code.String()).Inc()
}

// forget deletes a version's series after it was unloaded.
func (m *metrics) forget(model string, version int64) {
	v := strconv.FormatInt(version, 10)
	m.requests.DeletePartialMatch(prometheus.Labels{"model": model, "version": v})
	m.latency.DeleteLabelValues(model, v)
	m.batch.Forget(model, v)
}
