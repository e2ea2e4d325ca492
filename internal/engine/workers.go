package engine

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/swapwire/swapwire/predict"
)

// stateCollector reports what is read from the engine's state at scrape
// time rather than counted on every request: the predictions in flight
// (from the versions' reference counts) and the worker processes of every
// loaded version whose predictor reports them.
type stateCollector struct {
	eng      *Engine
	inFlight *prometheus.Desc
	restarts *prometheus.Desc
	workers  *prometheus.Desc
	retryAt  *prometheus.Desc
	cpu      *prometheus.Desc
	memory   *prometheus.Desc
}

func newStateCollector(e *Engine) *stateCollector {
	return &stateCollector{
		eng: e,
		inFlight: prometheus.NewDesc("swapwire_requests_in_flight",
			"Predictions being answered now, by model.", []string{"model"}, nil),
		restarts: prometheus.NewDesc("swapwire_worker_restarts_total",
			"Worker process restarts since the version loaded.", []string{"model", "version"}, nil),
		workers: prometheus.NewDesc("swapwire_workers",
			"Worker processes by state (starting, idle, busy, restarting, failed, stopped).", []string{"model", "version", "state"}, nil),
		retryAt: prometheus.NewDesc("swapwire_worker_retry_timestamp_seconds",
			"When a given-up worker slot is next tried (Unix time); only slots in state failed have one.", []string{"model", "version", "worker"}, nil),
		cpu: prometheus.NewDesc("swapwire_worker_cpu_seconds_total",
			"CPU time (user and system) of the worker process now running in a slot; it starts again from 0 when the worker restarts.", []string{"model", "version", "worker"}, nil),
		memory: prometheus.NewDesc("swapwire_worker_resident_memory_bytes",
			"Resident memory of the worker process running in a slot.", []string{"model", "version", "worker"}, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inFlight
	ch <- c.restarts
	ch <- c.workers
	ch <- c.retryAt
	ch <- c.cpu
	ch <- c.memory
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.eng.modelList() {
		loaded := m.snap.Load().loaded
		var inFlight int64
		for _, v := range loaded {
			inFlight += v.inFlight(true)
		}
		m.mu.Lock()
		for _, v := range m.draining {
			inFlight += v.inFlight(false)
		}
		m.mu.Unlock()
		send(ch, c.inFlight, prometheus.GaugeValue, float64(inFlight), m.name)
		for num, v := range loaded {
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
				if !w.RetryAt.IsZero() {
					send(ch, c.retryAt, prometheus.GaugeValue, float64(w.RetryAt.UnixNano())/1e9, m.name, ver, strconv.Itoa(w.ID))
				}
				if w.PID > 0 && w.ResidentBytes > 0 {
					id := strconv.Itoa(w.ID)
					send(ch, c.cpu, prometheus.CounterValue, w.CPUSeconds, m.name, ver, id)
					send(ch, c.memory, prometheus.GaugeValue, float64(w.ResidentBytes), m.name, ver, id)
				}
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
