package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// Defaults used by [New] for zero fields of a [Config].
const (
	DefaultMaxBatchSize = 8
	DefaultMaxDelay     = 2 * time.Millisecond
	DefaultSlots        = 1
	DefaultMaxQueue     = 1024
)

// Config tunes a [Batcher]. The zero Config is usable: each zero field takes
// its default.
type Config struct {
	// MaxBatchSize is the largest number of requests in one PredictBatch
	// call. Zero or less means DefaultMaxBatchSize.
	MaxBatchSize int
	// MaxDelay is how long, from its arrival, a queued request may wait for
	// its batch to fill once a slot is free. It never delays a request on an
	// idle Batcher. Zero means DefaultMaxDelay; a negative value means a
	// partial batch goes as soon as a slot is free.
	MaxDelay time.Duration
	// Slots is how many batches may run at once, such as the number of
	// model instances or cores that can each run a batch. Zero or less means
	// DefaultSlots.
	Slots int
	// MaxQueue bounds the requests waiting for a slot, over all kinds.
	// Zero or less means DefaultMaxQueue.
	MaxQueue int
	// Metrics, when not nil, receives the batch size, queue time and queue
	// length of this Batcher under the labels Model and Version.
	Metrics *Metrics
	// Model and Version label this Batcher's metrics.
	Model, Version string
	// Tracer, when not nil, records each request's wait for its batch as a
	// span (SpanWait) under the request's span, and sets AttrBatchSize and
	// AttrQueueTime on the request's span. Nil costs nothing per request.
	Tracer trace.Tracer
}

// The names of the batcher's spans: a request's wait for its batch, and
// the run of a batch of many requests (a batch of one runs in its
// request's span).
const (
	SpanWait = "swapwire.batch.wait"
	SpanRun  = "swapwire.batch.run"
)

// The attributes set on a request's span when tracing: the size of the
// batch it ran in and the seconds it waited in the queue.
const (
	AttrBatchSize = "swapwire.batch.size"
	AttrQueueTime = "swapwire.queue.seconds"
)

// numKinds is the number of predict.Kind values, KindNone included.
const numKinds = int(predict.KindTensors) + 1

// Batcher is a [predict.Predictor] that gathers concurrent Predict calls into
// PredictBatch calls on a [predict.BatchPredictor]; see the package doc for
// the rules. Its methods are safe for concurrent use. Close it to stop it.
type Batcher struct {
	bp       predict.BatchPredictor
	maxBatch int
	maxDelay time.Duration
	slots    int
	maxQueue int
	obs      observers
	tracer   trace.Tracer

	mu      sync.Mutex
	queues  [numKinds][]*call // FIFO per input kind
	queued  int               // requests in queues
	busy    int               // batches running
	closed  bool
	timer   *time.Timer // wakes a free slot when a partial batch is due
	drained chan struct{}
	done    bool // drained is closed
}

// New returns a Batcher that sends batches to bp. The caller keeps owning
// bp: it has loaded it before, and closes it after closing the Batcher.
func New(bp predict.BatchPredictor, cfg Config) *Batcher {
	b := &Batcher{
		bp:       bp,
		maxBatch: cfg.MaxBatchSize,
		maxDelay: cfg.MaxDelay,
		slots:    cfg.Slots,
		maxQueue: cfg.MaxQueue,
		drained:  make(chan struct{}),
		tracer:   cfg.Tracer,
	}
	if b.maxBatch <= 0 {
		b.maxBatch = DefaultMaxBatchSize
	}
	switch {
	case b.maxDelay == 0:
		b.maxDelay = DefaultMaxDelay
	case b.maxDelay < 0:
		b.maxDelay = 0
	}
	if b.slots <= 0 {
		b.slots = DefaultSlots
	}
	if b.maxQueue <= 0 {
		b.maxQueue = DefaultMaxQueue
	}
	if cfg.Metrics != nil {
		b.obs = cfg.Metrics.observers(cfg.Model, cfg.Version)
	}
	return b
}

// call is one queued Predict waiting for its answer.
type call struct {
	ctx   context.Context
	req   predict.Request
	enq   time.Time
	state callState
	taken time.Time    // when its batch was taken
	size  int          // the size of its batch
	fl    *flight      // set when the call's batch is taken; nil in a batch of one
	done  chan outcome // buffered; receives exactly one outcome unless gone
}

type callState uint8

const (
	stateQueued  callState = iota // in a queue
	stateRunning                  // in a batch
	stateGone                     // dropped from the queue, its context ended
)

type outcome struct {
	res predict.Result
	err error
}

// flight is one running batch, as the calls in it see it.
type flight struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiting int // callers still waiting for this batch
}

// Load calls Load on the BatchPredictor. Usually the serving layer loads
// the model itself before wrapping it in a Batcher, and never calls this.
func (b *Batcher) Load(ctx context.Context, dir string) error {
	return b.bp.Load(ctx, dir)
}

// Predict queues in with opt, waits for its batch to run and returns this
// request's own result. It returns at once with ctx's error when ctx ends,
// with ResourceExhausted when the queue is full, and with Unavailable once
// the Batcher is closed.
func (b *Batcher) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	if err := ctx.Err(); err != nil {
		return predict.Result{}, err
	}
	k := int(in.Kind())
	if k >= numKinds {
		return predict.Result{}, predict.InvalidArgument("batch: unknown input kind %v", in.Kind())
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return predict.Result{}, predict.Errorf(codes.Unavailable, "batch: closed")
	}
	if b.busy < b.slots && len(b.queues[k]) == 0 {
		// Idle: nothing of this kind to wait for, and a slot to run on.
		b.busy++
		b.mu.Unlock()
		if b.tracer != nil {
			now := time.Now()
			b.traceWait(ctx, now, now, 1)
		}
		return b.runAlone(ctx, predict.Request{Input: in, Option: opt})
	}
	if b.queued >= b.maxQueue {
		b.mu.Unlock()
		return predict.Result{}, predict.Errorf(codes.ResourceExhausted, "batch: queue full (%d requests)", b.maxQueue)
	}
	c := &call{ctx: ctx, req: predict.Request{Input: in, Option: opt}, enq: time.Now(), done: make(chan outcome, 1)}
	b.queues[k] = append(b.queues[k], c)
	b.queued++
	b.obs.queueLen(b.queued)
	b.dispatchLocked()
	b.mu.Unlock()

	select {
	case o := <-c.done:
		if b.tracer != nil {
			b.traceWait(ctx, c.enq, c.taken, c.size)
		}
		return o.res, o.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	switch c.state {
	case stateQueued:
		q := b.queues[k]
		if i := slices.Index(q, c); i >= 0 {
			b.queues[k] = slices.Delete(q, i, i+1)
			b.queued--
			b.obs.queueLen(b.queued)
		}
		c.state = stateGone
	case stateRunning:
		if c.fl != nil {
			c.fl.waiting--
			if c.fl.waiting == 0 {
				c.fl.cancel()
			}
		}
	}
	b.mu.Unlock()
	return predict.Result{}, ctx.Err()
}

// traceWait records a request's wait for its batch, from start to end, as
// a span under the request's span, and the batch's size and the wait on
// the request's span.
func (b *Batcher) traceWait(ctx context.Context, start, end time.Time, size int) {
	wait := end.Sub(start).Seconds()
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int(AttrBatchSize, size), attribute.Float64(AttrQueueTime, wait))
	_, span := b.tracer.Start(ctx, SpanWait, trace.WithTimestamp(start),
		trace.WithAttributes(attribute.Int(AttrBatchSize, size), attribute.Float64(AttrQueueTime, wait)))
	span.End(trace.WithTimestamp(end))
}

// startRun starts the span of a batch of many (SpanRun): its parent is
// the first request's span, as its context is the batch's, and it links
// to every request's span, so that each request's trace leads to the
// batch that answered it and to the worker call under it.
func (b *Batcher) startRun(ctx context.Context, batch []*call) (context.Context, trace.Span) {
	links := make([]trace.Link, 0, len(batch))
	for _, c := range batch {
		if sc := trace.SpanContextFromContext(c.ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	return b.tracer.Start(ctx, SpanRun, trace.WithLinks(links...), trace.WithAttributes(attribute.Int(AttrBatchSize, len(batch))))
}

// runAlone runs one request that found the Batcher idle, in the caller's
// goroutine and with the caller's context, as a batch of one. The caller
// has taken a slot.
func (b *Batcher) runAlone(ctx context.Context, req predict.Request) (predict.Result, error) {
	b.obs.queued(0)
	b.obs.batch(1)
	res, err := b.predictBatch(ctx, []predict.Request{req})
	o := split(1, res, err).of(0)
	b.mu.Lock()
	b.busy--
	b.dispatchLocked()
	b.checkDrainedLocked()
	b.mu.Unlock()
	return o.res, o.err
}

// startLocked marks batch as running on a slot and starts a goroutine to
// run it.
func (b *Batcher) startLocked(batch []*call) {
	b.busy++
	prepareLocked(batch)
	go b.run(batch)
}

// prepareLocked gives a batch of many its flight: a context without the
// callers' cancellation, ending at the latest of their deadlines. A batch of
// one simply uses its caller's context.
func prepareLocked(batch []*call) {
	if len(batch) == 1 {
		return
	}
	base := context.WithoutCancel(batch[0].ctx)
	var latest time.Time
	for _, c := range batch {
		d, ok := c.ctx.Deadline()
		if !ok {
			latest = time.Time{}
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	fl := &flight{waiting: len(batch)}
	if latest.IsZero() {
		fl.ctx, fl.cancel = context.WithCancel(base)
	} else {
		fl.ctx, fl.cancel = context.WithDeadline(base, latest)
	}
	for _, c := range batch {
		c.fl = fl
	}
}

// dispatchLocked starts every batch that is ready while slots are free, and
// arms the timer for the earliest partial batch otherwise.
func (b *Batcher) dispatchLocked() {
	for b.busy < b.slots {
		batch, ok := b.takeLocked(time.Now())
		if !ok {
			return
		}
		if len(batch) > 0 {
			b.startLocked(batch)
		}
	}
}

// takeLocked removes the next ready batch from the queues. It reports false
// when no queue is ready, after arming the timer for the earliest one that
// will be; a ready queue whose requests had all gone yields an empty batch.
func (b *Batcher) takeLocked(now time.Time) ([]*call, bool) {
	best := -1
	var wake time.Time
	for k := range b.queues {
		q := b.queues[k]
		if len(q) == 0 {
			continue
		}
		head := q[0].enq
		if b.closed || len(q) >= b.maxBatch || now.Sub(head) >= b.maxDelay {
			if best < 0 || head.Before(b.queues[best][0].enq) {
				best = k
			}
		} else if due := head.Add(b.maxDelay); wake.IsZero() || due.Before(wake) {
			wake = due
		}
	}
	if best < 0 {
		if !wake.IsZero() {
			b.armLocked(wake.Sub(now))
		}
		return nil, false
	}
	q := b.queues[best]
	batch := make([]*call, 0, min(len(q), b.maxBatch))
	i := 0
	for ; i < len(q) && len(batch) < b.maxBatch; i++ {
		c := q[i]
		if c.ctx.Err() != nil {
			c.state = stateGone // its Predict answers with the context's error
			continue
		}
		c.state = stateRunning
		c.taken = now
		b.obs.queued(now.Sub(c.enq))
		batch = append(batch, c)
	}
	for _, c := range batch {
		c.size = len(batch)
	}
	n := copy(q, q[i:])
	clear(q[n:])
	b.queues[best] = q[:n]
	b.queued -= i
	b.obs.queueLen(b.queued)
	return batch, true
}

func (b *Batcher) armLocked(d time.Duration) {
	if b.closed {
		return
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(d, b.wake)
		return
	}
	b.timer.Reset(d)
}

// wake runs when a partial batch is due.
func (b *Batcher) wake() {
	b.mu.Lock()
	if !b.closed {
		b.dispatchLocked()
	}
	b.mu.Unlock()
}

// run executes batch on its slot, then keeps the slot and runs ready
// batches until none is left.
func (b *Batcher) run(batch []*call) {
	for {
		b.exec(batch)
		b.mu.Lock()
		b.busy--
		batch = nil
		for {
			next, ok := b.takeLocked(time.Now())
			if !ok {
				break
			}
			if len(next) > 0 {
				batch = next
				b.busy++
				prepareLocked(batch)
				break
			}
		}
		if batch == nil {
			b.checkDrainedLocked()
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
}

// exec calls PredictBatch and delivers each request its outcome.
func (b *Batcher) exec(batch []*call) {
	ctx, cancel := batch[0].ctx, context.CancelFunc(nil)
	if fl := batch[0].fl; fl != nil {
		ctx, cancel = fl.ctx, fl.cancel
	}
	reqs := make([]predict.Request, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	b.obs.batch(len(batch))
	var span trace.Span
	if b.tracer != nil && len(batch) > 1 {
		ctx, span = b.startRun(ctx, batch)
	}
	res, err := b.predictBatch(ctx, reqs)
	if span != nil {
		span.End()
	}
	if cancel != nil {
		cancel()
	}
	a := split(len(batch), res, err)
	for i, c := range batch {
		c.done <- a.of(i)
	}
}

// answer is PredictBatch's answer, checked.
type answer struct {
	res    []predict.Result
	whole  error              // fails every request
	items  predict.ItemErrors // per request, when not nil
	resErr error              // fails the requests without an item error
}

// split checks PredictBatch's answer for n requests.
func split(n int, res []predict.Result, err error) answer {
	a := answer{res: res}
	var items predict.ItemErrors
	switch {
	case err == nil:
		if len(res) != n {
			a.whole = wrongCount("results", len(res), n)
		}
	case errors.As(err, &items):
		if len(items) != n {
			a.whole = wrongCount("item errors", len(items), n)
			break
		}
		a.items = items
		if len(res) != n {
			a.resErr = wrongCount("results", len(res), n)
		}
	default:
		a.whole = err
	}
	return a
}

func wrongCount(what string, got, want int) error {
	return predict.Errorf(codes.Internal, "batch: PredictBatch returned %d %s for %d requests", got, what, want)
}

// of returns request i's outcome.
func (a answer) of(i int) outcome {
	switch {
	case a.whole != nil:
		return outcome{err: a.whole}
	case a.items != nil && a.items[i] != nil:
		return outcome{err: a.items[i]}
	case a.resErr != nil:
		return outcome{err: a.resErr}
	}
	return outcome{res: a.res[i]}
}

// predictBatch calls PredictBatch, turning a panic into an Internal error.
func (b *Batcher) predictBatch(ctx context.Context, reqs []predict.Request) (res []predict.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, predict.Errorf(codes.Internal, "batch: PredictBatch panicked: %v", r)
		}
	}()
	return b.bp.PredictBatch(ctx, reqs)
}

func (b *Batcher) checkDrainedLocked() {
	if b.closed && b.busy == 0 && b.queued == 0 && !b.done {
		b.done = true
		close(b.drained)
	}
}

// Shutdown stops accepting requests (Predict then answers Unavailable),
// sends every queued request without waiting for its batch to fill, and
// waits until every batch has finished or ctx ends, whichever is first. It
// returns ctx's error in the second case; the batches then still finish in
// the background. It does not close the BatchPredictor. It is safe to call
// more than once.
func (b *Batcher) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		if b.timer != nil {
			b.timer.Stop()
		}
		b.dispatchLocked()
		b.checkDrainedLocked()
	}
	b.mu.Unlock()
	select {
	case <-b.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close is Shutdown without a time limit: it returns once every queued and
// running batch has finished. It always returns nil and is safe to call more
// than once.
func (b *Batcher) Close() error {
	return b.Shutdown(context.Background())
}
