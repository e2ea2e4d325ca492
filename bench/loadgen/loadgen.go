// Package loadgen is a closed-loop gRPC load generator for Swapwire's
// benchmarks: N streams (goroutines) share M client connections, each
// stream sends its next request as soon as the previous one is answered,
// and the run stops after a fixed number of requests, a time cap, or a stop
// signal, whichever comes first. Every latency is kept, so percentiles are
// exact.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Call sends one request on conn. stream is the caller's stream number and
// seq the request's number within the run, both from 0.
type Call func(ctx context.Context, conn grpc.ClientConnInterface, stream int, seq int64) error

// Config describes one run.
type Config struct {
	// Streams is the number of concurrent closed-loop streams. Default 1.
	Streams int
	// Requests is how many requests the run sends in all; 0 means no cap
	// (then MaxTime or Stop must end the run).
	Requests int64
	// MaxTime caps the run's duration; 0 means no cap.
	MaxTime time.Duration
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration
	// Stop, when closed, ends the run: no new request is sent, those in
	// flight finish.
	Stop <-chan struct{}
}

// Result is what a run measured.
type Result struct {
	Requests  int64           // requests answered or failed
	Failures  int64           // requests that returned an error
	Elapsed   time.Duration   // from the first request sent to the last answer
	Latencies []time.Duration // every latency (failures too), sorted
	Errors    map[string]int  // failures by gRPC code name
	FirstErr  error           // the first failure, for the log
}

// Throughput is requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the latency at quantile q in [0, 1] (nearest rank).
func (r Result) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.5) - 1
	i = max(0, min(n-1, i))
	return r.Latencies[i]
}

// P50 is the median latency.
func (r Result) P50() time.Duration { return r.Percentile(0.50) }

// P99 is the 99th percentile latency.
func (r Result) P99() time.Duration { return r.Percentile(0.99) }

// String is a one-line summary.
func (r Result) String() string {
	return fmt.Sprintf("%d requests in %v: %.0f req/s, p50 %v, p99 %v, %d failures",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput(),
		Round(r.P50()), Round(r.P99()), r.Failures)
}

// Round rounds a latency for display: to 1µs under 10ms, else to 0.1ms.
func Round(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Microsecond)
}

// Run runs cfg against conns (stream i uses conns[i%len(conns)]) and
// returns what it measured. It returns an error only when it cannot start.
func Run(cfg Config, conns []*grpc.ClientConn, call Call) (Result, error) {
	if len(conns) == 0 {
		return Result{}, errors.New("loadgen: no connections")
	}
	if call == nil {
		return Result{}, errors.New("loadgen: nil call")
	}
	if cfg.Requests <= 0 && cfg.MaxTime <= 0 && cfg.Stop == nil {
		return Result{}, errors.New("loadgen: the run has no end: set Requests, MaxTime or Stop")
	}
	streams := max(cfg.Streams, 1)
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var deadline <-chan time.Time
	if cfg.MaxTime > 0 {
		t := time.NewTimer(cfg.MaxTime)
		defer t.Stop()
		deadline = t.C
	}
	var done atomic.Bool
	stopWatch := make(chan struct{})
	defer close(stopWatch)
	go func() {
		select {
		case <-deadline:
		case <-cfg.Stop:
		case <-stopWatch:
			return
		}
		done.Store(true)
	}()

	var seq atomic.Int64
	type streamResult struct {
		lat      []time.Duration
		failures int64
		errs     map[string]int
		firstErr error
	}
	results := make([]streamResult, streams)
	var wg sync.WaitGroup
	start := time.Now()
	for s := range streams {
		wg.Go(func() {
			res := &results[s]
			if cfg.Requests > 0 {
				res.lat = make([]time.Duration, 0, cfg.Requests/int64(streams)+1)
			}
			conn := conns[s%len(conns)]
			for !done.Load() {
				n := seq.Add(1) - 1
				if cfg.Requests > 0 && n >= cfg.Requests {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				t0 := time.Now()
				err := call(ctx, conn, s, n)
				res.lat = append(res.lat, time.Since(t0))
				cancel()
				if err != nil {
					res.failures++
					if res.errs == nil {
						res.errs = make(map[string]int)
					}
					res.errs[status.Code(err).String()]++
					if res.firstErr == nil {
						res.firstErr = err
					}
				}
			}
		})
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(start), Errors: map[string]int{}}
	total := 0
	for _, sr := range results {
		total += len(sr.lat)
	}
	r.Latencies = make([]time.Duration, 0, total)
	for _, sr := range results {
		r.Latencies = append(r.Latencies, sr.lat...)
		r.Failures += sr.failures
		for k, v := range sr.errs {
			r.Errors[k] += v
		}
		if r.FirstErr == nil {
			r.FirstErr = sr.firstErr
		}
	}
	r.Requests = int64(len(r.Latencies))
	slices.Sort(r.Latencies)
	return r, nil
}

// Dial opens m plaintext connections to addr (a loopback benchmark server)
// and waits until each is ready.
func Dial(ctx context.Context, addr string, m int, opts ...grpc.DialOption) ([]*grpc.ClientConn, error) {
	m = max(m, 1)
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conns := make([]*grpc.ClientConn, 0, m)
	for range m {
		c, err := grpc.NewClient(addr, opts...)
		if err != nil {
			Close(conns)
			return nil, err
		}
		c.Connect()
		conns = append(conns, c)
	}
	for _, c := range conns {
		for st := c.GetState(); st != connectivity.Ready; st = c.GetState() {
			if !c.WaitForStateChange(ctx, st) {
				Close(conns)
				return nil, fmt.Errorf("loadgen: connect %s: %w", addr, ctx.Err())
			}
		}
	}
	return conns, nil
}

// Close closes every connection.
func Close(conns []*grpc.ClientConn) {
	for _, c := range conns {
		c.Close()
	}
}

// Merge combines the results of several runs of the same kind, such as
// windows of one phase interleaved with another: counts and elapsed times
// add up and the latencies are merged.
func Merge(rs ...Result) Result {
	m := Result{Errors: map[string]int{}}
	n := 0
	for _, r := range rs {
		n += len(r.Latencies)
	}
	m.Latencies = make([]time.Duration, 0, n)
	for _, r := range rs {
		m.Requests += r.Requests
		m.Failures += r.Failures
		m.Elapsed += r.Elapsed
		m.Latencies = append(m.Latencies, r.Latencies...)
		for k, v := range r.Errors {
			m.Errors[k] += v
		}
		if m.FirstErr == nil {
			m.FirstErr = r.FirstErr
		}
	}
	slices.Sort(m.Latencies)
	return m
}
