package engine

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// versionStats are a version's cumulative inference counters, read by
// [Engine.Statistics] (the Open Inference Protocol's ModelStatistics).
type versionStats struct {
	okCount, okNanos     atomic.Int64
	failCount, failNanos atomic.Int64
	executions           atomic.Int64 // calls into the predictor (or its batcher)
	lastMillis           atomic.Int64 // the last inference, in ms since the epoch
}

func (s *versionStats) record(start time.Time, n int, err error) {
	now := time.Now()
	d := now.Sub(start).Nanoseconds()
	if err == nil {
		s.okCount.Add(int64(n))
		s.okNanos.Add(d)
	} else {
		s.failCount.Add(int64(n))
		s.failNanos.Add(d)
	}
	s.executions.Add(1)
	s.lastMillis.Store(now.UnixMilli())
}

// VersionStats are one loaded version's cumulative inference statistics
// since it was loaded.
type VersionStats struct {
	Model         string
	Version       int64
	Success       int64         // inferences answered (each item of a batch counts)
	SuccessTime   time.Duration // time they took in all
	Fail          int64         // inferences that failed
	FailTime      time.Duration
	Executions    int64     // calls into the model: a PredictBatch call counts once
	LastInference time.Time // zero when none ran
}

// Statistics returns the statistics of every loaded version of model, or
// with version > 0 only that one's, in version order. An unknown model is
// NotFound, as is a version that is not loaded.
func (e *Engine) Statistics(model string, num int64) ([]VersionStats, error) {
	m, err := e.lookup(model)
	if err != nil {
		return nil, err
	}
	snap := m.snap.Load()
	var nums []int64
	for n := range snap.loaded {
		if num == 0 || n == num {
			nums = append(nums, n)
		}
	}
	if num > 0 && len(nums) == 0 {
		return nil, predict.Errorf(codes.NotFound, "model %q version %d is not loaded", m.name, num)
	}
	slices.Sort(nums)
	out := make([]VersionStats, 0, len(nums))
	for _, n := range nums {
		s := &snap.loaded[n].stats
		vs := VersionStats{
			Model: m.name, Version: n,
			Success: s.okCount.Load(), SuccessTime: time.Duration(s.okNanos.Load()),
			Fail: s.failCount.Load(), FailTime: time.Duration(s.failNanos.Load()),
			Executions: s.executions.Load(),
		}
		if ms := s.lastMillis.Load(); ms > 0 {
			vs.LastInference = time.UnixMilli(ms)
		}
		out = append(out, vs)
	}
	return out, nil
}

// Signature returns what the version that would answer a request for model
// and version (0: the serving one) declares through [predict.Signer], and
// whether it declares one. An unknown model is NotFound; a model with no
// version loaded is Unavailable.
func (e *Engine) Signature(model string, num int64) (predict.Signature, bool, error) {
	m, err := e.lookup(model)
	if err != nil {
		return predict.Signature{}, false, err
	}
	v, err := m.acquire(num, "")
	if err != nil {
		return predict.Signature{}, false, err
	}
	defer v.release()
	s, ok := v.p.(predict.Signer)
	if !ok {
		return predict.Signature{}, false, nil
	}
	sig := s.Signature()
	if len(sig.Inputs) == 0 && len(sig.Outputs) == 0 && sig.MaxBatchSize == 0 {
		return predict.Signature{}, false, nil // a worker that declared nothing
	}
	return sig, true, nil
}

// BatchAnswer is the answer to [Engine.PredictBatch]: one result or error
// per input, and the version that produced them.
type BatchAnswer struct {
	Model   string
	Version int64
	Results []predict.Result
	Errs    []error // Errs[i] is nil when Results[i] holds the answer
}

// PredictBatch runs many inputs of one request (the items of a batched
// tensor) on one version of the model, taken once, so all are answered by
// the same version. With dynamic batching on, the inputs go through the
// batcher together; else a [predict.BatchPredictor] gets them in one
// PredictBatch call; else they run one by one, concurrently. r.Input is
// ignored. The error is for the request as a whole (no such model, bad
// version); an item's failure is in Errs.
func (e *Engine) PredictBatch(ctx context.Context, r Request, inputs []predict.Value) (BatchAnswer, error) {
	if r.Version < 0 {
		return BatchAnswer{}, predict.InvalidArgument("version %d: versions are positive", r.Version)
	}
	if d := optionDepth(map[string]any(r.Option), 0); d > MaxOptionDepth {
		return BatchAnswer{}, predict.InvalidArgument("option nests deeper than %d levels", MaxOptionDepth)
	}
	m, err := e.lookup(r.Model)
	if err != nil {
		return BatchAnswer{}, err
	}
	v, err := m.acquire(r.Version, r.Label)
	if err != nil {
		return BatchAnswer{Model: m.name}, err
	}
	defer v.release()
	a := BatchAnswer{Model: m.name, Version: v.num, Results: make([]predict.Result, len(inputs)), Errs: make([]error, len(inputs))}
	for i, in := range inputs {
		if in.IsZero() {
			return a, predict.InvalidArgument("batch item %d has no input", i)
		}
	}
	if bp, ok := v.call.(predict.BatchPredictor); ok && v.batcher == nil && len(inputs) > 1 {
		a.Results, a.Errs = v.predictBatch(ctx, bp, inputs, r.Option)
		return a, nil
	}
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.Results[i], a.Errs[i] = v.predict(ctx, in, r.Option)
		}()
	}
	wg.Wait()
	return a, nil
}
