package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/bench/loadgen"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

type overheadOpts struct {
	streams  string
	conns    int
	requests int64
	rounds   int
	warmup   int64
	maxTime  time.Duration
}

func overheadFlags(fs *flag.FlagSet) *overheadOpts {
	o := &overheadOpts{}
	fs.StringVar(&o.streams, "overhead-streams", "1,4,16,64", "overhead: concurrent streams per level; the last level gives the headline ratio")
	fs.IntVar(&o.conns, "overhead-conns", 4, "overhead: gRPC connections")
	fs.Int64Var(&o.requests, "overhead-requests", 20000, "overhead: requests per round (a quarter of it at 1 stream)")
	fs.IntVar(&o.rounds, "overhead-rounds", 5, "overhead: rounds per server and level, alternated; medians reported")
	fs.Int64Var(&o.warmup, "overhead-warmup", 5000, "overhead: warm-up requests per server")
	fs.DurationVar(&o.maxTime, "overhead-max-time", 20*time.Second, "overhead: time cap per round")
	return o
}

// echoRequest is the overhead payload: 64 floats.
func echoRequest(model string) *swapwirev1.PredictRequest {
	v := make([]float64, 64)
	for i := range v {
		v[i] = float64(i) / 64
	}
	return &swapwirev1.PredictRequest{Model: model, Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: v}}}}
}

// predictCall sends req and checks that the answer echoes n floats.
func predictCall(req *swapwirev1.PredictRequest, n int) loadgen.Call {
	return func(ctx context.Context, conn grpc.ClientConnInterface, _ int, _ int64) error {
		resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(ctx, req)
		if err != nil {
			return err
		}
		if n >= 0 && len(resp.GetOutput().GetFloats().GetValues()) != n {
			return fmt.Errorf("answer has %d floats, want %d", len(resp.GetOutput().GetFloats().GetValues()), n)
		}
		return nil
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// Stat is the median of some rounds of one configuration.
type Stat struct {
	Streams  int
	RPS      float64
	P50, P99 time.Duration
	Requests int64
	Failures int64
	Rounds   int
	Errors   map[string]int `json:",omitempty"`
}

func medianStat(streams int, rs []loadgen.Result) Stat {
	st := Stat{Streams: streams, Rounds: len(rs), Errors: map[string]int{}}
	var rps []float64
	var p50, p99 []time.Duration
	for _, r := range rs {
		rps = append(rps, r.Throughput())
		p50 = append(p50, r.P50())
		p99 = append(p99, r.P99())
		st.Requests += r.Requests
		st.Failures += r.Failures
		for k, v := range r.Errors {
			st.Errors[k] += v
		}
	}
	st.RPS, st.P50, st.P99 = median(rps), median(p50), median(p99)
	return st
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// OverheadLevel compares the two servers at one concurrency.
type OverheadLevel struct {
	Bare, Swapwire Stat
}

// Ratio is Swapwire's throughput over the bare server's.
func (l OverheadLevel) Ratio() float64 { return l.Swapwire.RPS / l.Bare.RPS }

type OverheadResult struct {
	Conns  int
	Levels []OverheadLevel
	Load   [2]string // load average before and after
}

func runOverhead(c common, o *overheadOpts, rep *Report) error {
	levels, err := parseInts(o.streams)
	if err != nil {
		return err
	}
	rounds, reqs, warm := o.rounds, o.requests, o.warmup
	if c.quick {
		rounds, reqs, warm = 1, 2000, 500
	}
	cpus := ""
	if c.pin {
		cpus = serverCPU()
	}
	res := &OverheadResult{Conns: o.conns}
	res.Load[0] = loadAvg()
	logf("overhead: starting a bare grpc-go server and a Swapwire server (cpus %q)", cpus)
	bare, err := startChild("bare", cpus, nil, o.conns, "-kind", "bare")
	if err != nil {
		return err
	}
	defer bare.stop()
	sw, err := startChild("swapwire", cpus, nil, o.conns, "-kind", "swapwire")
	if err != nil {
		return err
	}
	defer sw.stop()
	servers := []*child{bare, sw}
	calls := []loadgen.Call{predictCall(echoRequest("echo"), 64), predictCall(echoRequest("echo"), 64)}
	for i, s := range servers {
		r, err := loadgen.Run(loadgen.Config{Streams: levels[len(levels)-1], Requests: warm, MaxTime: o.maxTime}, s.conns, calls[i])
		if err != nil {
			return err
		}
		if r.Failures > 0 {
			return fmt.Errorf("overhead: warm-up against %s: %d failures, first: %v", s.name, r.Failures, r.FirstErr)
		}
	}
	for _, streams := range levels {
		n := reqs
		if streams == 1 {
			n = max(reqs/4, 1)
		}
		results := [2][]loadgen.Result{}
		for round := range rounds {
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				r, err := loadgen.Run(loadgen.Config{Streams: streams, Requests: n, MaxTime: o.maxTime}, servers[i].conns, calls[i])
				if err != nil {
					return err
				}
				if c.verbose {
					logf("overhead: %s, %d streams, round %d: %v", servers[i].name, streams, round+1, r)
				}
				results[i] = append(results[i], r)
			}
		}
		lvl := OverheadLevel{Bare: medianStat(streams, results[0]), Swapwire: medianStat(streams, results[1])}
		logf("overhead: %d streams: bare %.0f req/s p99 %v; swapwire %.0f req/s p99 %v; ratio %.3f",
			streams, lvl.Bare.RPS, loadgen.Round(lvl.Bare.P99), lvl.Swapwire.RPS, loadgen.Round(lvl.Swapwire.P99), lvl.Ratio())
		res.Levels = append(res.Levels, lvl)
	}
	res.Load[1] = loadAvg()
	rep.Overhead = res
	fmt.Println(res.markdown())
	return nil
}
