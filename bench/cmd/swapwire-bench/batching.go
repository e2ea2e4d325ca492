package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/swapwire/swapwire/bench/loadgen"
)

type batchingOpts struct {
	streams    string
	conns      int
	requests   int64
	rounds     int
	callCost   time.Duration
	itemCost   time.Duration
	batchMax   int
	batchDelay time.Duration
	maxTime    time.Duration
	slots      int
	gomaxprocs int
}

func batchingFlags(fs *flag.FlagSet) *batchingOpts {
	o := &batchingOpts{}
	fs.StringVar(&o.streams, "batching-streams", "1,16,64", "batching: concurrent streams per level")
	fs.IntVar(&o.conns, "batching-conns", 4, "batching: gRPC connections")
	fs.Int64Var(&o.requests, "batching-requests", 10000, "batching: requests per round (a quarter of it at 1 stream)")
	fs.IntVar(&o.rounds, "batching-rounds", 2, "batching: rounds per setting and level, alternated; medians reported")
	fs.DurationVar(&o.callCost, "batching-call-cost", 200*time.Microsecond, "batching: the model's busy work per call")
	fs.DurationVar(&o.itemCost, "batching-item-cost", 5*time.Microsecond, "batching: the model's busy work per item")
	fs.IntVar(&o.batchMax, "batching-max", 32, "batching: BatchConfig.MaxBatchSize when on")
	fs.DurationVar(&o.batchDelay, "batching-delay", time.Millisecond, "batching: BatchConfig.MaxDelay when on")
	fs.DurationVar(&o.maxTime, "batching-max-time", 15*time.Second, "batching: time cap per round")
	fs.IntVar(&o.slots, "batching-slots", 1, "batching: BatchConfig.Slots when on (0: one per CPU)")
	fs.IntVar(&o.gomaxprocs, "batching-gomaxprocs", 2, "batching: GOMAXPROCS of the server (0: the runtime's default, 1 when pinned)")
	return o
}

// BatchLevel compares batching off and on at one concurrency.
type BatchLevel struct {
	Off, On   Stat
	MeanBatch float64 // requests per batch with batching on
}

// Ratio is the throughput with batching over without.
func (l BatchLevel) Ratio() float64 { return l.On.RPS / l.Off.RPS }

type BatchingResult struct {
	Conns              int
	CallCost, ItemCost time.Duration
	BatchMax           int
	BatchDelay         time.Duration
	Slots, GOMAXPROCS  int
	Levels             []BatchLevel
	Load               [2]string
}

func runBatching(c common, o *batchingOpts, rep *Report) error {
	levels, err := parseInts(o.streams)
	if err != nil {
		return err
	}
	rounds, reqs := o.rounds, o.requests
	if c.quick {
		rounds, reqs = 1, 1000
	}
	cpus := ""
	if c.pin {
		cpus = serverCPU()
	}
	res := &BatchingResult{Conns: o.conns, CallCost: o.callCost, ItemCost: o.itemCost, BatchMax: o.batchMax, BatchDelay: o.batchDelay, Slots: o.slots, GOMAXPROCS: o.gomaxprocs}
	res.Load[0] = loadAvg()
	var env []string
	if o.gomaxprocs > 0 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", o.gomaxprocs))
	}
	cost := []string{"-kind", "batch", "-batch-slots", fmt.Sprint(o.slots), "-call-cost", o.callCost.String(), "-item-cost", o.itemCost.String()}
	logf("batching: starting two Swapwire servers, batching off and on (cpus %q)", cpus)
	off, err := startChild("batching off", cpus, env, o.conns, cost...)
	if err != nil {
		return err
	}
	defer off.stop()
	on, err := startChild("batching on", cpus, env, o.conns, append(cost, "-batching", "-batch-max", fmt.Sprint(o.batchMax), "-batch-delay", o.batchDelay.String())...)
	if err != nil {
		return err
	}
	defer on.stop()
	servers := []*child{off, on}
	call := predictCall(echoRequest("busy"), 64)
	for _, s := range servers {
		if _, err := loadgen.Run(loadgen.Config{Streams: levels[len(levels)-1], Requests: max(reqs/10, 100), MaxTime: o.maxTime}, s.conns, call); err != nil {
			return err
		}
	}
	for _, streams := range levels {
		n := reqs
		if streams == 1 {
			n = max(reqs/4, 1)
		}
		var results [2][]loadgen.Result
		n0, items0, _ := on.batches()
		for round := range rounds {
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				r, err := loadgen.Run(loadgen.Config{Streams: streams, Requests: n, MaxTime: o.maxTime}, servers[i].conns, call)
				if err != nil {
					return err
				}
				if c.verbose {
					logf("batching: %s, %d streams, round %d: %v", servers[i].name, streams, round+1, r)
				}
				results[i] = append(results[i], r)
			}
		}
		lvl := BatchLevel{Off: medianStat(streams, results[0]), On: medianStat(streams, results[1])}
		if n1, items1, err := on.batches(); err == nil && n1 > n0 {
			lvl.MeanBatch = (items1 - items0) / float64(n1-n0)
		}
		logf("batching: %d streams: off %.0f req/s p99 %v; on %.0f req/s p99 %v, mean batch %.1f; ratio %.2f",
			streams, lvl.Off.RPS, loadgen.Round(lvl.Off.P99), lvl.On.RPS, loadgen.Round(lvl.On.P99), lvl.MeanBatch, lvl.Ratio())
		res.Levels = append(res.Levels, lvl)
	}
	res.Load[1] = loadAvg()
	rep.Batching = res
	fmt.Println(res.markdown())
	return nil
}
