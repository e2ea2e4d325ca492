package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// version is one loaded model version. It is reference counted: the model
// holds one reference while the version is in its snapshot, and every
// request holds one while it runs. The last release closes the predictor.
type version struct {
	eng      *Engine
	model    string
	num      int64
	dir      string
	p        predict.Predictor // as loaded
	call     predict.Predictor // p, or a batcher around it
	batcher  io.Closer         // the batcher, when batching
	loadedAt time.Time
	loadDur  time.Duration
	m        versionMetrics
	stats    versionStats

	refs   atomic.Int64
	closed chan struct{} // closed once the predictor is closed
}

// acquire takes a reference. It fails once the count has reached zero, so
// a version that is being closed is never resurrected.
func (v *version) acquire() bool {
	for {
		n := v.refs.Load()
		if n <= 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the version.
func (v *version) release() {
	if v.refs.Add(-1) == 0 {
		v.eng.unload(v)
	}
}

// inFlight returns the requests running on v (its references less the
// model's own, while it is in the snapshot).
func (v *version) inFlight(owned bool) int64 {
	n := v.refs.Load()
	if owned {
		n--
	}
	return max(n, 0)
}

// predict runs one prediction with metrics and panic recovery.
func (v *version) predict(ctx context.Context, in predict.Value, opt predict.Option) (res predict.Result, err error) {
	if err := ctx.Err(); err != nil {
		return res, err
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			// The panic's text may hold anything the model had: it goes to
			// the log, and the client gets an id to find it there.
			attrs := v.eng.requestAttrs(ctx)
			err = predict.Errorf(codes.Internal, "model %s version %d failed with an internal error (request id %s)", v.model, v.num, attrs[1])
			v.eng.log.Error("predictor panicked", append([]any{"model", v.model, "version", v.num, "panic", fmt.Sprint(r)}, attrs...)...)
		}
		if err == nil && ctx.Err() != nil {
			// The predictor ignored its context and answered late.
			err = ctx.Err()
		}
		if err == nil {
			v.m.ok.Inc()
			v.m.latency.Observe(time.Since(start).Seconds())
		} else {
			v.eng.metrics.countError(v.model, v.num, predict.CodeOf(err))
		}
		v.stats.record(start, 1, err)
	}()
	return v.call.Predict(ctx, in, opt)
}

// predictBatch runs inputs through bp's PredictBatch in one call, with the
// metrics and panic recovery of predict. It returns one result or error per
// input.
func (v *version) predictBatch(ctx context.Context, bp predict.BatchPredictor, inputs []predict.Value, opt predict.Option) (res []predict.Result, errs []error) {
	errs = make([]error, len(inputs))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return make([]predict.Result, len(inputs)), errs
	}
	reqs := make([]predict.Request, len(inputs))
	for i, in := range inputs {
		reqs[i] = predict.Request{Input: in, Option: opt}
	}
	start := time.Now()
	var err error
	defer func() {
		if r := recover(); r != nil {
			id := newRequestID()
			err = predict.Errorf(codes.Internal, "model %s version %d failed with an internal error (request id %s)", v.model, v.num, id)
			v.eng.log.Error("predictor panicked", "model", v.model, "version", v.num, "request_id", id, "panic", fmt.Sprint(r))
		}
		if err == nil && len(res) != len(inputs) {
			err = predict.Errorf(codes.Internal, "model %s version %d answered %d results for a batch of %d", v.model, v.num, len(res), len(inputs))
		}
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		var items predict.ItemErrors
		if err != nil && !errors.As(err, &items) {
			for i := range errs {
				errs[i] = err
			}
		} else if err != nil {
			copy(errs, items)
		}
		if len(res) != len(inputs) {
			res = make([]predict.Result, len(inputs))
		}
		ok := 0
		for _, e := range errs {
			if e == nil {
				ok++
				v.m.ok.Inc()
				v.m.latency.Observe(time.Since(start).Seconds())
			} else {
				v.eng.metrics.countError(v.model, v.num, predict.CodeOf(e))
			}
		}
		d := time.Since(start).Nanoseconds()
		v.stats.okCount.Add(int64(ok))
		v.stats.failCount.Add(int64(len(inputs) - ok))
		if ok > 0 {
			v.stats.okNanos.Add(d)
		}
		if ok < len(inputs) {
			v.stats.failNanos.Add(d)
		}
		v.stats.executions.Add(1)
		v.stats.lastMillis.Store(time.Now().UnixMilli())
	}()
	res, err = bp.PredictBatch(ctx, reqs)
	return res, errs
}
