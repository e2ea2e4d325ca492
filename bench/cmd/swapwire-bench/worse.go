package main

import (
	"fmt"
	"math"
)

// headlineRuns is how many times `all` runs each headline benchmark; it
// publishes the worse run (the house rule: never the lucky one).
const headlineRuns = 2

// WorkersTarget is one of the targets for the Python workers,
// measured within one run.
type WorkersTarget struct {
	Name   string
	Value  float64 // the measured ratio
	Limit  float64
	AtMost bool // Value ≤ Limit is met; else Value ≥ Limit
	Found  bool // both points were measured
}

// Met reports whether the target was met.
func (t WorkersTarget) Met() bool {
	if !t.Found {
		return false
	}
	if t.AtMost {
		return t.Value <= t.Limit
	}
	return t.Value >= t.Limit
}

// margin is Value relative to Limit, above 1 when met.
func (t WorkersTarget) margin() float64 {
	if !t.Found || t.Value <= 0 {
		return 0
	}
	if t.AtMost {
		return t.Limit / t.Value
	}
	return t.Value / t.Limit
}

// Targets are the ratios to the one-process Python gRPC server: p50 at one
// stream with 1 worker, throughput at 16 streams with N workers and no
// batching, throughput at 64 streams with N workers and batching.
func (w *WorkersResult) Targets() []WorkersTarget {
	var ts []WorkersTarget
	base1, ok1 := w.FindBaseline(1)
	one, ok2 := w.Find(1, false, 1)
	t := WorkersTarget{Name: "p50 at 1 stream, Swapwire 1 worker / one process", Limit: 1.10, AtMost: true, Found: ok1 && ok2}
	if t.Found && base1.P50 > 0 {
		t.Value = float64(one.P50) / float64(base1.P50)
	}
	ts = append(ts, t)
	base16, ok1 := w.FindBaseline(16)
	n16, ok2 := w.Find(w.Workers, false, 16)
	t = WorkersTarget{Name: fmt.Sprintf("req/s at 16 streams, Swapwire %d workers, no batching / one process", w.Workers), Limit: 1.6, Found: ok1 && ok2}
	if t.Found && base16.RPS > 0 {
		t.Value = n16.RPS / base16.RPS
	}
	ts = append(ts, t)
	base64, ok1 := w.FindBaseline(64)
	b64, ok2 := w.Find(w.Workers, true, 64)
	t = WorkersTarget{Name: fmt.Sprintf("req/s at 64 streams, Swapwire %d workers, batching / one process", w.Workers), Limit: 8, Found: ok1 && ok2}
	if t.Found && base64.RPS > 0 {
		t.Value = b64.RPS / base64.RPS
	}
	ts = append(ts, t)
	return ts
}

// score is how well a run did: its worst target margin (lower is worse).
func (w *WorkersResult) score() float64 {
	if w == nil || w.Skipped != "" {
		return math.Inf(1)
	}
	s := math.Inf(1)
	for _, t := range w.Targets() {
		s = math.Min(s, t.margin())
	}
	return s
}

func (o *OverheadResult) score() float64 {
	if o == nil || len(o.Levels) == 0 {
		return math.Inf(1)
	}
	return o.Levels[len(o.Levels)-1].Ratio()
}

func (b *BatchingResult) score() float64 {
	if b == nil || len(b.Levels) == 0 {
		return math.Inf(1)
	}
	return b.Levels[len(b.Levels)-1].Ratio()
}

// score of a swap run: fewer failures first, then a lower p99 ratio.
func (s *SwapResult) score() float64 {
	if s == nil {
		return math.Inf(1)
	}
	p99 := 1.0
	if s.During.P99 > 0 {
		p99 = float64(s.Steady.P99) / float64(s.During.P99)
	}
	return -float64(s.During.Failures+s.Steady.Failures+int64(s.SwapFailures))*1e6 + p99
}

// runWorse runs one benchmark headlineRuns times, each into its own
// report, and returns the reports and the index of the worse one by score.
func runWorse(c common, name string, run func(common, *Report) error, score func(*Report) float64) ([]*Report, int, error) {
	var reps []*Report
	worst := 0
	for i := range headlineRuns {
		logf("%s: run %d of %d", name, i+1, headlineRuns)
		r := &Report{}
		if err := run(c, r); err != nil {
			return nil, 0, err
		}
		reps = append(reps, r)
		if score(r) < score(reps[worst]) {
			worst = i
		}
	}
	return reps, worst, nil
}

// runAll runs every benchmark headlineRuns times and keeps the worse run of
// each in r, noting the scores of every run.
func runAll(c common, r *Report, oo *overheadOpts, so *swapOpts, bo *batchingOpts, wo *workersOpts) error {
	r.Runs = headlineRuns
	type bench struct {
		name  string
		run   func(common, *Report) error
		score func(*Report) float64
		keep  func(from *Report)
		what  string
		// headline, when set, is a run's headline figures, listed for
		// every run so that the other run's figures can be quoted too.
		headline func(*Report) string
	}
	benches := []bench{
		{"overhead", func(c common, r *Report) error { return runOverhead(c, oo, r) },
			func(r *Report) float64 { return r.Overhead.score() }, func(f *Report) { r.Overhead = f.Overhead },
			"throughput ratio at the highest concurrency", nil},
		{"swap", func(c common, r *Report) error { return runSwap(c, so, r) },
			func(r *Report) float64 { return r.Swap.score() }, func(f *Report) { r.Swap = f.Swap },
			"failed requests, then steady p99 / p99 during swaps", func(r *Report) string { return r.Swap.headline() }},
		{"batching", func(c common, r *Report) error { return runBatching(c, bo, r) },
			func(r *Report) float64 { return r.Batching.score() }, func(f *Report) { r.Batching = f.Batching },
			"on/off throughput ratio at the highest concurrency", nil},
		{"workers", func(c common, r *Report) error { return runWorkers(c, wo, r) },
			func(r *Report) float64 { return r.Workers.score() }, func(f *Report) { r.Workers = f.Workers },
			"the smallest margin over the three targets (measured / target)", func(r *Report) string { return r.Workers.headline() }},
		{"fleet", runFleet,
			func(r *Report) float64 { return r.Fleet.score() }, func(f *Report) { r.Fleet = f.Fleet },
			"failed requests, then the slowest convergence", nil},
	}
	for _, b := range benches {
		reps, worst, err := runWorse(c, b.name, b.run, b.score)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		b.keep(reps[worst])
		var scores []string
		for _, rr := range reps {
			scores = append(scores, fmt.Sprintf("%.3f", b.score(rr)))
		}
		note := fmt.Sprintf("%s: %s per run %v; published run %d", b.name, b.what, scores, worst+1)
		if b.headline != nil {
			for i, rr := range reps {
				note += fmt.Sprintf("; run %d: %s", i+1, b.headline(rr))
			}
		}
		r.RunNotes = append(r.RunNotes, note)
	}
	return nil
}

// headline is a swap run's p99 ratios: during swaps, and with the model's
// Load alone when the reference ran.
func (s *SwapResult) headline() string {
	if s == nil || s.Steady.P99 <= 0 {
		return "not measured"
	}
	h := fmt.Sprintf("p99 during swaps %.2f× steady, %d failed", float64(s.During.P99)/float64(s.Steady.P99), s.During.Failures+s.Steady.Failures)
	if s.RefLoads > 0 && s.RefSteady.P99 > 0 {
		h += fmt.Sprintf(", model Load alone %.2f×", float64(s.RefDuring.P99)/float64(s.RefSteady.P99))
	}
	return h
}

// headline is a workers run's three target ratios.
func (w *WorkersResult) headline() string {
	if w == nil || w.Skipped != "" {
		return "not measured"
	}
	var parts []string
	for _, t := range w.Targets() {
		if !t.Found {
			parts = append(parts, "–")
			continue
		}
		parts = append(parts, fmt.Sprintf("%.2f×", t.Value))
	}
	return "p50 at 1 stream " + parts[0] + ", req/s at 16 streams " + parts[1] + ", req/s at 64 streams with batching " + parts[2]
}
