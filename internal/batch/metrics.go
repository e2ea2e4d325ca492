package batch

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the batching metrics of any number of Batchers, told apart
// by the labels model and version. Make one per registry with [NewMetrics]
// and pass it in [Config.Metrics]; each (model, version) pair should belong
// to one Batcher at a time. To add constant labels, register through
// prometheus.WrapRegistererWith.
type Metrics struct {
	batchSize   *prometheus.HistogramVec
	queueTime   *prometheus.HistogramVec
	queueLength *prometheus.GaugeVec
}

// NewMetrics creates the batching metrics and registers them with reg:
//
//   - swapwire_batch_size: histogram of requests per PredictBatch call;
//   - swapwire_batch_queue_seconds: histogram of the time each request spent
//     queued before its batch started (zero when sent at once);
//   - swapwire_batch_queue_length: gauge of the requests queued now.
//
// All three have the labels model and version. When reg already holds
// equal collectors, as when a second server shares a registry, NewMetrics
// uses those. A nil reg registers nothing.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	labels := []string{"model", "version"}
	m := &Metrics{
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swapwire_batch_size",
			Help:    "Requests per PredictBatch call made by dynamic batching.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, labels),
		queueTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "swapwire_batch_queue_seconds",
			Help:    "Time a request waited in the batching queue before its batch started.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}, labels),
		queueLength: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "swapwire_batch_queue_length",
			Help: "Requests waiting in the batching queue.",
		}, labels),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.batchSize, err = register(reg, m.batchSize); err != nil {
		return nil, err
	}
	if m.queueTime, err = register(reg, m.queueTime); err != nil {
		return nil, err
	}
	if m.queueLength, err = register(reg, m.queueLength); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the equal collector reg already has.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	var zero C
	return zero, err
}

// Forget deletes the series of one model version, for when that version is
// gone for good.
func (m *Metrics) Forget(model, version string) {
	m.batchSize.DeleteLabelValues(model, version)
	m.queueTime.DeleteLabelValues(model, version)
	m.queueLength.DeleteLabelValues(model, version)
}

func (m *Metrics) observers(model, version string) observers {
	return observers{
		size:   m.batchSize.WithLabelValues(model, version),
		wait:   m.queueTime.WithLabelValues(model, version),
		length: m.queueLength.WithLabelValues(model, version),
	}
}

// observers are one Batcher's series; the zero value observes nothing.
type observers struct {
	size, wait prometheus.Observer
	length     prometheus.Gauge
}

func (o observers) batch(n int) {
	if o.size != nil {
		o.size.Observe(float64(n))
	}
}

func (o observers) queued(d time.Duration) {
	if o.wait != nil {
		o.wait.Observe(d.Seconds())
	}
}

func (o observers) queueLen(n int) {
	if o.length != nil {
		o.length.Set(float64(n))
	}
}
