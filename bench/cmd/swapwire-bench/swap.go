package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/swapwire/swapwire/bench/loadgen"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

type swapOpts struct {
	streams  int
	conns    int
	steady   int64
	window   time.Duration
	windows  int
	swaps    int
	every    time.Duration
	early    int
	maxTime  time.Duration
	blob     int
	warmup   int64
	refLoads int
}

func swapFlags(fs *flag.FlagSet) *swapOpts {
	o := &swapOpts{}
	fs.IntVar(&o.streams, "swap-streams", 16, "swap: concurrent streams")
	fs.IntVar(&o.conns, "swap-conns", 2, "swap: gRPC connections")
	fs.Int64Var(&o.steady, "swap-steady", 100000, "swap: request cap of each steady window")
	fs.DurationVar(&o.window, "swap-window", 2*time.Second, "swap: duration of each steady window")
	fs.IntVar(&o.windows, "swap-windows", 10, "swap: the swaps are spread over this many windows, each after a steady window")
	fs.IntVar(&o.swaps, "swaps", 1000, "swap: swaps in the swap phase")
	fs.IntVar(&o.early, "swap-early", 10, "swap: memory is also read after this many swaps")
	fs.DurationVar(&o.every, "swap-every", 20*time.Millisecond, "swap: at most one swap per this interval")
	fs.DurationVar(&o.maxTime, "swap-max-time", 90*time.Second, "swap: time cap of each phase")
	fs.IntVar(&o.blob, "swap-blob", 1<<20, "swap: bytes of weights each loaded version holds")
	fs.Int64Var(&o.warmup, "swap-warmup", 3000, "swap: warm-up requests")
	fs.IntVar(&o.refLoads, "swap-reference-loads", 300, "swap: the reference: the model's Load alone this many times at the swap rate, over 3 windows (0 for none)")
	return o
}

type SwapResult struct {
	Streams, Conns   int
	Steady, During   Stat
	Swaps            int // swaps completed (a switch seen serving)
	SwapFailures     int // switches that failed or were not seen serving in 10s
	SwapP50, SwapMax time.Duration
	SwapPhase        time.Duration
	Blob             int
	RSS0, RSSEarly   int64 // kB: after the steady phase, after Early swaps
	RSSLate          int64 // kB: after all swaps
	Heap0, HeapEarly int64 // bytes of Go heap in use
	HeapLate         int64
	Early            int
	Load             [2]string
	// The reference: the same load with the benchmark model's Load run
	// alone at the swap rate, with no swap (RefLoads loads).
	RefLoads             int
	RefSteady, RefDuring Stat
}

func runSwap(c common, o *swapOpts, rep *Report) error {
	steady, swaps, warm := o.steady, o.swaps, o.warmup
	if c.quick {
		steady, swaps, warm = 3000, 30, 500
	}
	if swaps < 1 {
		return errors.New("swap: -swaps must be positive")
	}
	cpus := ""
	if c.pin {
		cpus = serverCPU()
	}
	res := &SwapResult{Streams: o.streams, Conns: o.conns, Blob: o.blob, Early: max(min(o.early, swaps), 1)}
	res.Load[0] = loadAvg()
	logf("swap: starting a Swapwire server on a local store with versions 1 and 2 (cpus %q)", cpus)
	srv, err := startChild("swap", cpus, nil, o.conns, "-kind", "swap", "-blob", fmt.Sprint(o.blob))
	if err != nil {
		return err
	}
	defer srv.stop()
	call := predictCall(echoRequest("m"), 64)
	admin := swapwirev1.NewModelServiceClient(srv.conns[0])
	r, err := loadgen.Run(loadgen.Config{Streams: o.streams, Requests: warm, MaxTime: o.maxTime}, srv.conns, call)
	if err != nil {
		return err
	}
	if r.Failures > 0 {
		return fmt.Errorf("swap: warm-up: %d failures, first: %v", r.Failures, r.FirstErr)
	}
	if res.RSS0, res.Heap0, err = srv.mem(); err != nil {
		return fmt.Errorf("swap: read memory: %w", err)
	}

	// Steady windows and swap windows alternate, so that whatever else
	// runs on the machine weighs on both phases alike.
	var steadyRs, duringRs []loadgen.Result
	var took []time.Duration
	// The first swap window ends after Early swaps, the others share the
	// rest; memory is read between windows, with no load running.
	plan := []int{res.Early}
	rest, nw := swaps-res.Early, max(o.windows-1, 1)
	for i := range nw {
		if n := rest/nw + btoi(i < rest%nw); n > 0 {
			plan = append(plan, n)
		}
	}
	done := 0
	for w, perWindow := range plan {
		var start time.Time // of the swaps, after the steady window
		sr, r, err := steadyThenUnder(o, steady, srv, call, func() error {
			start = time.Now()
			for range perWindow {
				done++
				target := int64(1 + done%2) // the server starts on 2 (the latest): 1, 2, 1, ...
				t0 := time.Now()
				if err := switchAndWait(admin, target); err != nil {
					res.SwapFailures++
					logf("swap: swap %d to version %d: %v", done, target, err)
				} else {
					res.Swaps++
					took = append(took, time.Since(t0))
				}
				time.Sleep(time.Until(t0.Add(o.every)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.SwapPhase += time.Since(start)
		steadyRs, duringRs = append(steadyRs, sr), append(duringRs, r)
		var memErr error
		switch w {
		case 0:
			res.RSSEarly, res.HeapEarly, memErr = srv.mem()
		case len(plan) - 1:
			res.RSSLate, res.HeapLate, memErr = srv.mem()
		}
		if c.verbose {
			logf("swap: window of %d swaps: steady %v; swapping %v", perWindow, sr, r)
		}
		if memErr != nil {
			return fmt.Errorf("swap: read memory: %w", memErr)
		}
	}
	if err := runSwapReference(c, o, srv, call, res); err != nil {
		return err
	}
	sr, dr := loadgen.Merge(steadyRs...), loadgen.Merge(duringRs...)
	res.Steady = medianStat(o.streams, []loadgen.Result{sr})
	res.During = medianStat(o.streams, []loadgen.Result{dr})
	res.Steady.Rounds, res.During.Rounds = len(steadyRs), len(duringRs)
	res.SwapP50, res.SwapMax = median(took), slicesMax(took)
	logf("swap: steady: %v", sr)
	logf("swap: during %d swaps in %v: %v", res.Swaps, res.SwapPhase.Round(time.Millisecond), dr)
	if dr.Failures > 0 {
		logf("swap: first failure: %v", dr.FirstErr)
	}
	res.Load[1] = loadAvg()
	rep.Swap = res
	fmt.Println(res.markdown())
	return nil
}

// runSwapReference measures what the benchmark model's own Load costs the
// requests: steady windows alternate with windows in which the server runs
// only the model's Load (a fresh read of weights.bin, as each swap does) at
// the swap rate, with nothing published, verified, pinned or swapped. Its
// p99 ratio is a floor under the swap benchmark's on the same CPU.
func runSwapReference(c common, o *swapOpts, srv *child, call loadgen.Call, res *SwapResult) error {
	n := o.refLoads
	if c.quick {
		n = min(n, 30)
	}
	if n <= 0 {
		return nil
	}
	var steadyRs, duringRs []loadgen.Result
	const windows = 3
	for w := range windows {
		var done int
		sr, dr, err := steadyThenUnder(o, o.steady, srv, call, func() (err error) {
			done, err = srv.loads(n/windows+btoi(w < n%windows), o.every)
			return err
		})
		if err != nil {
			return fmt.Errorf("swap reference: %w", err)
		}
		steadyRs, duringRs = append(steadyRs, sr), append(duringRs, dr)
		res.RefLoads += done
	}
	sr, dr := loadgen.Merge(steadyRs...), loadgen.Merge(duringRs...)
	res.RefSteady, res.RefDuring = medianStat(o.streams, []loadgen.Result{sr}), medianStat(o.streams, []loadgen.Result{dr})
	logf("swap: reference: steady %v; during %d model loads alone: %v", sr, res.RefLoads, dr)
	return nil
}

// steadyThenUnder runs a steady window of load (at most steady requests),
// then load while work runs, and returns both results; its error is the
// steady window's or work's.
func steadyThenUnder(o *swapOpts, steady int64, srv *child, call loadgen.Call, work func() error) (sr, dr loadgen.Result, err error) {
	sr, err = loadgen.Run(loadgen.Config{Streams: o.streams, Requests: steady, MaxTime: o.window}, srv.conns, call)
	if err != nil {
		return sr, dr, err
	}
	stop := make(chan struct{})
	during := make(chan loadgen.Result, 1)
	go func() {
		r, _ := loadgen.Run(loadgen.Config{Streams: o.streams, Stop: stop, MaxTime: o.maxTime}, srv.conns, call)
		during <- r
	}()
	err = work()
	close(stop)
	return sr, <-during, err
}

// switchAndWait pins version and waits until the model serves it, in one
// SwitchModel call with wait set.
func switchAndWait(admin swapwirev1.ModelServiceClient, version int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := admin.SwitchModel(ctx, &swapwirev1.SwitchModelRequest{Model: "m", Version: version, Wait: true})
	return err
}

func slicesMax(xs []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
