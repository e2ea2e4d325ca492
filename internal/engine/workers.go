package engine

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swapwire/swapwire/predict"
)

// workerCollector reports the worker processes of every loaded version
// whose predictor is a worker pool, read at scrape time.
type workerCollector struct {
	eng      *Engine
	restarts *prometheus.Desc
	workers  *prometheus.Desc
}

func newWorkerCollector(e *Engine) *workerCollector {
	return &workerCollector{
		eng: e,
		restarts: prometheus.NewDesc("swapwire_worker_restarts_total",
			"Worker process restarts since the version loaded.", []string{"model", "version"}, nil),
		workers: prometheus.NewDesc("swapwire_workers",
			"Worker processes by state (starting, idle, busy, restarting, failed, stopped).", []string{"model", "version", "state"}, nil),
	}
}

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.restarts
	ch <- c.workers
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.eng.modelList() {
		for num, v := range m.snap.Load().loaded {
			wp, ok := v.p.(predict.WorkerReporter)
			if !ok {
				continue
			}
			ver := strconv.FormatInt(num, 10)
			restarts := 0
			states := map[string]int{}
			for _, w := range wp.Workers() {
				restarts += w.Restarts
				states[w.State.String()]++
			}
			send(ch, c.restarts, prometheus.CounterValue, float64(restarts), m.name, ver)
			for st, n := range states {
				send(ch, c.workers, prometheus.GaugeValue, float64(n), m.name, ver, st)
			}
		}
	}
}

func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, t, v, labels...); err == nil {
		ch <- m
	}
}
