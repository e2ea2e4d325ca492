package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/swapwire/swapwire/bench/chart"
)

// Report collects the results of one run.
type Report struct {
	Started  time.Time
	Elapsed  time.Duration
	Args     []string
	Pinned   bool
	Quick    bool
	CPUs     int
	CPUModel string
	Go       string
	Kernel   string
	Overhead *OverheadResult
	Swap     *SwapResult
	Batching *BatchingResult
	Workers  *WorkersResult
	Fleet    *FleetResult
	Runs     int      // runs of each benchmark, the worse published; 0 for one
	RunNotes []string // how the worse run was chosen, per benchmark
}

func newReport(c common, args []string) *Report {
	r := &Report{Started: time.Now(), Args: args, Pinned: c.pin, Quick: c.quick, CPUs: numCPUTotal(), Go: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				r.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		r.Kernel = strings.TrimSpace(string(out))
	}
	return r
}

func (r *Report) finish() { r.Elapsed = time.Since(r.Started) }

// loadAvg is the 1, 5 and 15 minute load averages, as uptime prints them.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.3f ms", float64(d)/1e6)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}

func signedMs(d time.Duration) string {
	if d >= 0 {
		return "+" + ms(d)
	}
	return "−" + ms(-d)
}

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func (o *OverheadResult) markdown() string {
	var b strings.Builder
	b.WriteString("### Overhead: bare grpc-go vs Swapwire\n\n")
	fmt.Fprintf(&b, "Same request (64 floats in, 64 floats out), %d connections, closed loop; medians of %d alternated rounds per cell. Load average before/after: %s / %s.\n\n",
		o.Conns, o.Levels[0].Bare.Rounds, o.Load[0], o.Load[1])
	b.WriteString("| streams | bare req/s | Swapwire req/s | ratio | bare p50 | Swapwire p50 | Δ p50 | bare p99 | Swapwire p99 | Δ p99 | failures |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range o.Levels {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.3f | %s | %s | %s | %s | %s | %s | %d / %d |\n",
			l.Bare.Streams, l.Bare.RPS, l.Swapwire.RPS, l.Ratio(),
			ms(l.Bare.P50), ms(l.Swapwire.P50), signedMs(l.Swapwire.P50-l.Bare.P50),
			ms(l.Bare.P99), ms(l.Swapwire.P99), signedMs(l.Swapwire.P99-l.Bare.P99),
			l.Bare.Failures, l.Swapwire.Failures)
	}
	last := o.Levels[len(o.Levels)-1]
	fmt.Fprintf(&b, "\nThroughput ratio at %d streams: **%.3f** (target ≥ 0.90, aim 0.95: %s).\n", last.Bare.Streams, last.Ratio(), verdict(last.Ratio() >= 0.90))
	return b.String()
}

func (s *SwapResult) markdown() string {
	var b strings.Builder
	b.WriteString("### Hot swap under load\n\n")
	fmt.Fprintf(&b, "%d streams over %d connections; the swap phase alternates SwitchModel between versions 1 and 2 (each version loads a fresh %d KiB weights file), at most one swap per interval, each waited for by SwitchModel with wait set (one call per swap, no polling). Load average before/after: %s / %s.\n\n",
		s.Streams, s.Conns, s.Blob>>10, s.Load[0], s.Load[1])
	b.WriteString("| phase | requests | failures | req/s | p50 | p99 |\n|---|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| steady | %d | %d | %.0f | %s | %s |\n", s.Steady.Requests, s.Steady.Failures, s.Steady.RPS, ms(s.Steady.P50), ms(s.Steady.P99))
	fmt.Fprintf(&b, "| during %d swaps (%.1f s) | %d | %d | %.0f | %s | %s |\n", s.Swaps, s.SwapPhase.Seconds(), s.During.Requests, s.During.Failures, s.During.RPS, ms(s.During.P50), ms(s.During.P99))
	ratio := float64(s.During.P99) / float64(s.Steady.P99)
	fmt.Fprintf(&b, "\nFailed requests during swaps: **%d** (target 0: %s)", s.During.Failures, verdict(s.During.Failures == 0 && s.Steady.Failures == 0))
	if len(s.During.Errors) > 0 {
		fmt.Fprintf(&b, ", by code: %v", s.During.Errors)
	}
	fmt.Fprintf(&b, ". p99 during swaps / steady: **%.2f×** (target ≤ 1.5×: %s). Swaps that failed or were not seen serving within 10 s: %d. Time from SwitchModel to serving: median %s, max %s.\n\n",
		ratio, verdict(ratio <= 1.5), s.SwapFailures, ms(s.SwapP50), ms(s.SwapMax))
	b.WriteString("| server memory (after GC + FreeOSMemory) | after steady phase | after ")
	fmt.Fprintf(&b, "%d swaps | after %d swaps | growth |\n|---|---:|---:|---:|---:|\n", s.Early, s.Swaps+s.SwapFailures)
	fmt.Fprintf(&b, "| VmRSS | %.1f MiB | %.1f MiB | %.1f MiB | %+.1f MiB |\n", kib(s.RSS0), kib(s.RSSEarly), kib(s.RSSLate), kib(s.RSSLate-s.RSSEarly))
	fmt.Fprintf(&b, "| Go heap in use | %.1f MiB | %.1f MiB | %.1f MiB | %+.1f MiB |\n", mib(s.Heap0), mib(s.HeapEarly), mib(s.HeapLate), mib(s.HeapLate-s.HeapEarly))
	growth := kib(s.RSSLate - s.RSSEarly)
	fmt.Fprintf(&b, "\nResident memory growth from %d to %d swaps: **%+.1f MiB** (target within 5 MiB: %s).\n", s.Early, s.Swaps+s.SwapFailures, growth, verdict(growth <= 5 && growth >= -5))
	if s.RefLoads > 0 {
		fmt.Fprintf(&b, "\n**Reference: the model's own Load, with no swap.** On the same server, steady windows alternated with windows in which it ran only what each swap's model Load does (read the %d KiB weights.bin into a fresh buffer and hold it) %d times at the same rate, with nothing published, verified, pinned or swapped. p99 steady %s, while loading %s: **%.2f×** (%.0f → %.0f req/s). No server can do a swap in less than this Load, so this ratio is a floor under the one above on this CPU.\n",
			s.Blob>>10, s.RefLoads, ms(s.RefSteady.P99), ms(s.RefDuring.P99), float64(s.RefDuring.P99)/float64(s.RefSteady.P99), s.RefSteady.RPS, s.RefDuring.RPS)
	}
	return b.String()
}

func us(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

func kib(kb int64) float64 { return float64(kb) / 1024 }
func mib(b int64) float64  { return float64(b) / (1 << 20) }

func (r *BatchingResult) markdown() string {
	var b strings.Builder
	b.WriteString("### Dynamic batching, Go model\n\n")
	slots := fmt.Sprint(r.Slots)
	if r.Slots <= 0 {
		slots = "one per CPU"
	}
	procs := fmt.Sprint(r.GOMAXPROCS)
	if r.GOMAXPROCS <= 0 {
		procs = "the default"
	}
	fmt.Fprintf(&b, "A Go BatchPredictor that burns %v of CPU per call plus %v per item; batching on is MaxBatchSize %d, MaxDelay %v, Slots %s; both servers run with GOMAXPROCS %s. %d connections; medians of %d alternated rounds. Load average before/after: %s / %s.\n\n",
		r.CallCost, r.ItemCost, r.BatchMax, r.BatchDelay, slots, procs, r.Conns, r.Levels[0].Off.Rounds, r.Load[0], r.Load[1])
	b.WriteString("| streams | off req/s | on req/s | ratio | mean batch | off p50 | on p50 | off p99 | on p99 | failures |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.Levels {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f | %.1f | %s | %s | %s | %s | %d / %d |\n", l.Off.Streams, l.Off.RPS, l.On.RPS, l.Ratio(), l.MeanBatch,
			ms(l.Off.P50), ms(l.On.P50), ms(l.Off.P99), ms(l.On.P99), l.Off.Failures, l.On.Failures)
	}
	return b.String()
}

func (w *WorkersResult) markdown() string {
	var b strings.Builder
	b.WriteString("### Python workers: scikit-learn digits, side by side with a one-process Python server\n\n")
	if w.Skipped != "" {
		fmt.Fprintf(&b, "Skipped: %s.\n", w.Skipped)
		return b.String()
	}
	fmt.Fprintf(&b, "The same model (examples/sklearn-digits: an SVC, `predict_proba` on one 8x8 image), the same requests (swapwire.v1 Predict with 64 ints) and the same Go load generator, in one run, %s: "+
		"**one process** is bench/pyserver/server.py, a grpcio server with a %d-thread pool calling the model in-process, the way Rekcurd serves; "+
		"**Swapwire** runs the model in examples/sklearn-digits/worker.py processes behind serving/sidecar (framed protocol over unix sockets), with GOMAXPROCS and GOGC set as `swapwire serve` sets them (the CPUs the workers leave, at least 1; GOGC 400); the load generator runs with GOGC 400 too, for every server alike. %d connections; one run per row. Load average before/after: %s / %s.\n\n",
		w.Python, w.PyThreads, w.Conns, w.Load[0], w.Load[1])
	b.WriteString("| server | workers | batching | streams | req/s | × one process | mean batch | p50 | p99 | CPU/req server | CPU/req load gen | CPU ceiling req/s | failures |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range w.Points {
		mb := "–"
		if p.Batching {
			mb = fmt.Sprintf("%.1f", p.MeanBatch)
		}
		server, workers, batching, ratio := "Swapwire", fmt.Sprint(p.Workers), onOff(p.Batching), "–"
		if p.Baseline {
			server, workers, batching = "one process", "–", "–"
		} else if base, ok := w.FindBaseline(p.Streams); ok && base.RPS > 0 {
			ratio = fmt.Sprintf("%.2f", p.RPS/base.RPS)
		}
		ceiling := "–"
		if cpu := p.ServerCPU + p.LoadCPU; cpu > 0 {
			ceiling = fmt.Sprintf("%.0f", float64(numCPUTotal())/cpu.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %d |\n", server, workers, batching, p.Streams, p.RPS, ratio, mb, ms(p.P50), ms(p.P99),
			us(p.ServerCPU), us(p.LoadCPU), ceiling, p.Failures)
	}
	fmt.Fprintf(&b, "\nCPU/req is the user+system CPU time (from /proc) of the server with its worker processes, and of the load generator, divided by the requests; the CPU ceiling is %d CPUs divided by their sum: the throughput at which this run's own processes alone would fill the machine. The machine's load average (other work included) is above.\n", numCPUTotal())
	b.WriteString("\nTargets, as ratios measured in this run:\n\n")
	for _, t := range w.Targets() {
		op := "≥"
		if t.AtMost {
			op = "≤"
		}
		if !t.Found {
			fmt.Fprintf(&b, "- %s: not measured (%s).\n", t.Name, verdict(false))
			continue
		}
		fmt.Fprintf(&b, "- %s: **%.2f×** (target %s %.2f×: %s).\n", t.Name, t.Value, op, t.Limit, verdict(t.Met()))
	}
	if one, ok := w.Find(1, false, 16); ok {
		if n, ok := w.Find(w.Workers, false, 16); ok {
			fmt.Fprintf(&b, "\nScaling: %d workers / 1 worker at 16 streams, batching off: **%.2f×** throughput.\n", w.Workers, n.RPS/one.RPS)
		}
	}
	var ratios []string
	for _, p := range w.Points {
		if !p.Baseline && p.Workers == w.Workers && p.Batching {
			if off, ok := w.Find(w.Workers, false, p.Streams); ok {
				ratios = append(ratios, fmt.Sprintf("%.2f× at %d", p.RPS/off.RPS, p.Streams))
			}
		}
	}
	if len(ratios) > 0 {
		fmt.Fprintf(&b, "Batching on / off with %d workers (MaxBatchSize %d, %s): %s streams.\n", w.Workers, w.BatchMax, delayText(w.BatchDelay), strings.Join(ratios, ", "))
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

const (
	beginMark = "<!-- BEGIN GENERATED by swapwire-bench: do not edit between these markers -->"
	endMark   = "<!-- END GENERATED -->"
)

// markdown is the generated part of docs/benchmarks.md.
func (r *Report) markdown() string {
	var b strings.Builder
	b.WriteString(beginMark + "\n\n")
	fmt.Fprintf(&b, "Run of %s (%s): `swapwire-bench %s`, %.0f s in all. Machine: %d CPUs (%s), %s, %s. ",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), map[bool]string{true: "quick run: small counts, figures indicative only", false: "default counts"}[r.Quick],
		strings.Join(r.Args, " "), r.Elapsed.Seconds(), r.CPUs, r.CPUModel, r.Kernel, r.Go)
	if r.Pinned {
		b.WriteString("Servers pinned to CPU 0 (`taskset -c 0`, so GOMAXPROCS=1), the load generator to CPU 1; the Python workers' server is not pinned.\n\n")
	} else {
		b.WriteString("Not pinned: servers and load generator share every CPU.\n\n")
	}
	if r.Runs > 1 {
		fmt.Fprintf(&b, "Each benchmark ran %d times; the tables show the **worse** run of each:\n\n", r.Runs)
		for _, n := range r.RunNotes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	b.WriteString("![latency versus throughput](benchmarks.svg)\n\n")
	var sections []interface{ markdown() string }
	if r.Overhead != nil {
		sections = append(sections, r.Overhead)
	}
	if r.Swap != nil {
		sections = append(sections, r.Swap)
	}
	if r.Batching != nil {
		sections = append(sections, r.Batching)
	}
	if r.Workers != nil {
		sections = append(sections, r.Workers)
	}
	if r.Fleet != nil {
		sections = append(sections, r.Fleet)
	}
	for _, s := range sections {
		b.WriteString(s.markdown())
		b.WriteString("\n")
	}
	b.WriteString(endMark + "\n")
	return b.String()
}

const skeleton = `# Benchmarks

Regenerate with ` + "`go run ./bench/cmd/swapwire-bench all -out docs/`" + ` from the repository root;
the text between the markers below is rewritten, the rest of this page is kept.

`

// write updates dir/benchmarks.md (only between the markers) and writes
// dir/benchmarks.svg.
func (r *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mdPath := filepath.Join(dir, "benchmarks.md")
	old, err := os.ReadFile(mdPath)
	if os.IsNotExist(err) {
		old, err = []byte(skeleton+beginMark+"\n"+endMark+"\n"), nil
	}
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(beginMark)), bytes.Index(old, []byte(endMark))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no generated section (markers %q ... %q)", mdPath, beginMark, endMark)
	}
	var md bytes.Buffer
	md.Write(old[:i])
	md.WriteString(r.markdown())
	md.Write(bytes.TrimPrefix(old[j+len(endMark):], []byte("\n")))
	if err := os.WriteFile(mdPath, md.Bytes(), 0o644); err != nil {
		return err
	}
	var svg bytes.Buffer
	if err := chart.Write(&svg, r.panels()...); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.svg"), svg.Bytes(), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %s", mdPath, filepath.Join(dir, "benchmarks.svg"))
	return nil
}

func msf(d time.Duration) float64 { return float64(d) / 1e6 }

// statSeries is one line of a chart: p50 solid, p99 dashed, in the color
// of the palette at index color.
func statSeries(name string, stats []Stat, p99 bool, color int) chart.Series {
	s := chart.Series{Name: name, Dashed: p99, Color: chart.Palette[color%len(chart.Palette)]}
	for _, st := range stats {
		y := st.P50
		if p99 {
			y = st.P99
		}
		s.Points = append(s.Points, chart.Point{X: st.RPS, Y: msf(y), Label: fmt.Sprintf("c=%d", st.Streams)})
	}
	return s
}

// panels are the latency-versus-throughput charts: one point per
// concurrency, p50 solid and p99 dashed.
func (r *Report) panels() []chart.Panel {
	var ps []chart.Panel
	if o := r.Overhead; o != nil {
		var bare, sw []Stat
		for _, l := range o.Levels {
			bare, sw = append(bare, l.Bare), append(sw, l.Swapwire)
		}
		ps = append(ps, chart.Panel{
			Title: "Overhead: bare grpc-go vs Swapwire, 64-float echo", XLabel: "requests/s", YLabel: "latency (ms, log)", LogY: true,
			Series: []chart.Series{statSeries("bare p50", bare, false, 0), statSeries("Swapwire p50", sw, false, 1),
				statSeries("bare p99", bare, true, 0), statSeries("Swapwire p99", sw, true, 1)},
		})
	}
	if bt := r.Batching; bt != nil {
		var off, on []Stat
		for _, l := range bt.Levels {
			off, on = append(off, l.Off), append(on, l.On)
		}
		ps = append(ps, chart.Panel{
			Title:  fmt.Sprintf("Batching, Go model (%v per call + %v per item)", bt.CallCost, bt.ItemCost),
			XLabel: "requests/s", YLabel: "latency (ms, log)", LogY: true,
			Series: []chart.Series{statSeries("off p50", off, false, 0), statSeries("on p50", on, false, 1),
				statSeries("off p99", off, true, 0), statSeries("on p99", on, true, 1)},
		})
	}
	if w := r.Workers; w != nil && w.Skipped == "" {
		var off, on, one, base []Stat
		for _, p := range w.Points {
			switch {
			case p.Baseline:
				base = append(base, p.Stat)
			case p.Workers == 1:
				one = append(one, p.Stat)
			case p.Batching:
				on = append(on, p.Stat)
			default:
				off = append(off, p.Stat)
			}
		}
		ps = append(ps, chart.Panel{
			Title:  fmt.Sprintf("Python workers, sklearn digits (%d workers unless noted)", w.Workers),
			XLabel: "requests/s", YLabel: "latency (ms, log)", LogY: true,
			Series: []chart.Series{statSeries("batching off p50", off, false, 0), statSeries("batching on p50", on, false, 1),
				statSeries("batching off p99", off, true, 0), statSeries("batching on p99", on, true, 1),
				statSeries("1 worker p50", one, false, 2), statSeries("1 worker p99", one, true, 2),
				statSeries("one process p50", base, false, 3), statSeries("one process p99", base, true, 3)},
		})
	}
	return ps
}

// delayText describes a batcher's MaxDelay as the workers table uses it.
func delayText(d time.Duration) string {
	if d < 0 {
		return "no MaxDelay: a partial batch goes as soon as a worker is free"
	}
	return "MaxDelay " + d.String()
}
