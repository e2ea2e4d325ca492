package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// ErrClosed is returned by Load on a closed Pool and wrapped by requests
// that a Close interrupted.
var ErrClosed = errors.New("sidecar: pool is closed")

// exitGrace is how long a request whose worker connection failed waits
// for the process exit to be confirmed, to say so in its error.
const exitGrace = 100 * time.Millisecond

type poolState int

const (
	poolNew poolState = iota
	poolLoading
	poolLoaded
	poolFailed
	poolClosed
)

// Pool is a [predict.Predictor] backed by a pool of worker processes that
// speak the worker protocol (swapwire.worker.v1). It also implements
// [predict.BatchPredictor], [predict.Checker] and io.Closer. Create it with
// [New]; one Pool serves one model version.
type Pool struct {
	cfg    Config
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	tokens chan *slot // slots with an idle worker; at most one token per slot
	queue  *slotQueue // bounds the requests waiting for a token

	noBatch atomic.Bool // workers do not implement PredictBatch

	mu      sync.Mutex
	state   poolState
	log     *slog.Logger
	slots   []*slot
	gaveUp  int
	dead    chan struct{} // closed while every slot is given up
	retry   chan struct{} // closed by Retry to wake given-up slots, then replaced
	lastErr error         // the last failure of any slot
	dir     string
	sockDir string

	wg        sync.WaitGroup // Load, supervisors and probes
	procs     sync.WaitGroup // process watchers and output readers
	closeOnce sync.Once
}

// slot is one place of the pool, filled by successive worker processes.
type slot struct {
	id       int
	gen      int
	w        *worker // the current worker; nil while none is ready
	state    WorkerState
	since    time.Time
	queued   bool // a token for the slot is in Pool.tokens
	restarts int
	recent   []time.Time // restart times within the window
	err      error
	giveUps  int       // consecutive give-ups, for the cool-down backoff
	retryAt  time.Time // when a given-up slot is tried again
}

// New returns a Pool for cfg. It starts nothing: Load starts the workers.
// cfg is copied; zero fields take the defaults documented on [Config].
func New(cfg Config) *Pool {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		cfg:    cfg,
		ctx:    ctx,
		cancel: cancel,
		tokens: make(chan *slot, cfg.Workers),
		queue:  newSlotQueue(cfg.MaxQueue, cfg.QueueTimeout),
		retry:  make(chan struct{}),
		dead:   make(chan struct{}),
		log:    cfg.Logger.With("model", cfg.Model),
	}
	for i := range cfg.Workers {
		p.slots = append(p.slots, &slot{id: i + 1, state: WorkerStopped})
	}
	return p
}

// Factory returns a function that creates a fresh Pool for cfg, one per
// model version, as the server's model manager expects.
func Factory(cfg Config) func() predict.Predictor {
	return func() predict.Predictor { return New(cfg) }
}

// Load starts the workers, each with SWAPWIRE_WORKER_PROTOCOL=1 and
// SWAPWIRE_WORKER_ADDR=unix://<socket in a private directory>, waits for
// each ready line, connects, and calls Info and Load(dir). It returns once
// every worker is ready. If a worker fails, or is not ready within
// StartTimeout, Load stops all of them and returns the first failure, a
// *[WorkerError] carrying the worker's exit and stderr tail; the error keeps
// the gRPC code of a failed Load RPC. The base name of dir is the version in log records. Load may
// be called once.
func (p *Pool) Load(ctx context.Context, dir string) error {
	if len(p.cfg.Command) == 0 {
		return predict.Errorf(codes.InvalidArgument, "sidecar: Config.Command is empty")
	}
	p.mu.Lock()
	switch p.state {
	case poolClosed:
		p.mu.Unlock()
		return ErrClosed
	case poolNew:
	default:
		p.mu.Unlock()
		return predict.Errorf(codes.FailedPrecondition, "sidecar: Load called twice")
	}
	p.state = poolLoading
	p.wg.Add(1)
	defer p.wg.Done()
	sockDir, err := os.MkdirTemp(p.cfg.SocketDir, "swapwire-")
	if err != nil {
		p.state = poolFailed
		p.mu.Unlock()
		return fmt.Errorf("sidecar: socket directory: %w", err)
	}
	p.dir, p.sockDir = dir, sockDir
	p.log = p.log.With(versionAttr(dir))
	log := p.log
	p.mu.Unlock()

	log.Info("starting workers", "workers", p.cfg.Workers, "command", p.cfg.Command, "dir", dir)
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()

	// The first failure stops the other starts.
	workers := make([]*worker, len(p.slots))
	var first error
	var firstMu sync.Mutex
	var wg sync.WaitGroup
	for i := range p.slots {
		wg.Go(func() {
			w, err := p.startWorker(ctx, i+1, 0)
			workers[i] = w
			if err != nil {
				firstMu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				firstMu.Unlock()
			}
		})
	}
	wg.Wait()

	if first != nil {
		var stops sync.WaitGroup
		for _, w := range workers {
			if w != nil {
				stops.Go(func() {
					kill(w.proc)
					<-w.exited
					w.closeConn()
				})
			}
		}
		stops.Wait()
		_ = os.RemoveAll(sockDir)
		p.mu.Lock()
		if p.state != poolClosed {
			p.state = poolFailed
		}
		p.mu.Unlock()
		log.Error("load failed", "workers", len(p.slots), "error", first)
		if p.ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrClosed, first)
		}
		return first
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for i, s := range p.slots {
		s.w, s.state, s.since = workers[i], WorkerIdle, now
	}
	if p.state == poolClosed {
		// Close is waiting for this Load to return, and stops the workers.
		return ErrClosed
	}
	for _, s := range p.slots {
		p.enqueue(s)
		p.wg.Add(1)
		go p.supervise(s, s.w)
	}
	p.state = poolLoaded
	log.Info("workers ready", "workers", len(p.slots), "seconds", time.Since(start).Seconds())
	return nil
}

// enqueue offers s to requests. p.mu must be held. There is at most one
// token per slot, so the send never blocks.
func (p *Pool) enqueue(s *slot) {
	if !s.queued {
		s.queued = true
		p.tokens <- s
	}
}

// usable fails fast when no request can be answered now or later.
func (p *Pool) usable() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case poolLoaded:
	case poolClosed:
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	default:
		return predict.Errorf(codes.Unavailable, "sidecar: the pool is not loaded")
	}
	if p.gaveUp == len(p.slots) {
		return p.deadErr()
	}
	return nil
}

// deadErr is the error of a pool whose workers all stopped restarting.
// p.mu must be held.
func (p *Pool) deadErr() error {
	var next time.Time
	for _, s := range p.slots {
		if next.IsZero() || s.retryAt.Before(next) {
			next = s.retryAt
		}
	}
	return predict.Errorf(codes.Unavailable,
		"sidecar: no worker left: all %d crash-looped and wait for a retry (the next at %s, or on a forced retry); the last failure: %w",
		len(p.slots), next.UTC().Format(time.RFC3339), p.lastErr)
}

// acquire waits for an idle worker and marks it busy.
func (p *Pool) acquire(ctx context.Context) (*slot, *worker, error) {
	if err := p.usable(); err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	dead := p.dead
	p.mu.Unlock()
	// An idle worker now: no waiting, nothing to count.
	select {
	case s := <-p.tokens:
		if w := p.take(s); w != nil {
			return s, w, nil
		}
	default:
	}
	if err := p.queue.enter(p.cfg.Workers); err != nil {
		return nil, nil, err
	}
	defer p.queue.leave()
	expire := time.NewTimer(p.queue.timeout)
	defer expire.Stop()
	for {
		select {
		case <-expire.C:
			return nil, nil, p.queue.expired(p.cfg.Workers)
		case s := <-p.tokens:
			if w := p.take(s); w != nil {
				return s, w, nil
			}
			continue
		case <-ctx.Done():
			return nil, nil, predict.Errorf(predict.CodeOf(ctx.Err()), "sidecar: waiting for an idle worker: %w", ctx.Err())
		case <-dead:
			p.mu.Lock()
			if p.dead != dead { // a slot came back meanwhile
				dead = p.dead
				p.mu.Unlock()
				continue
			}
			err := p.deadErr()
			p.mu.Unlock()
			return nil, nil, err
		case <-p.ctx.Done():
			return nil, nil, predict.Errorf(codes.Unavailable, "%w", ErrClosed)
		}
	}
}

// take marks s busy and returns its worker if s, just taken from tokens,
// still has an idle, healthy one; nil otherwise.
func (p *Pool) take(s *slot) *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.queued = false
	if s.state == WorkerIdle && s.w != nil && !s.w.isExited() && !s.w.fc.broken() {
		s.state, s.since = WorkerBusy, time.Now()
		return s.w
	}
	return nil
}

// release makes w idle again, unless it exited or was replaced meanwhile.
func (p *Pool) release(s *slot, w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.w == w && s.state == WorkerBusy && !w.isExited() {
		s.state, s.since = WorkerIdle, time.Now()
		p.enqueue(s)
	}
}

// call runs fn on an idle worker's connection and settles the slot.
func (p *Pool) call(ctx context.Context, fn func(context.Context, *frameConn, *worker) error) error {
	s, w, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	return p.settle(ctx, s, w, fn(ctx, w.fc, w))
}

// settle returns the slot of a finished call to the pool, or hands it to
// the watchdog, and returns what the caller sees.
//   - The worker answered (a result or an error of its own): the slot is
//     idle again and the answer goes back as it is.
//   - ctx ended first: the worker may still be running the call, so the
//     slot stays busy. The watchdog waits for the late reply until the
//     deadline plus WatchdogGrace, frees the slot when it comes and kills
//     the worker when it does not; the supervisor starts a fresh one.
//   - The connection broke: the process exited (UNAVAILABLE at once) or it
//     is wedged; it is killed and replaced.
func (p *Pool) settle(ctx context.Context, s *slot, w *worker, err error) error {
	var out *outstandingError
	var lost *lostError
	switch {
	case err == nil:
		p.release(s, w)
		return nil
	case errors.As(err, &out):
		p.mu.Lock()
		closed := p.state == poolClosed
		if !closed {
			p.wg.Add(1)
		}
		p.mu.Unlock()
		if !closed {
			limit := time.Now()
			if d, ok := ctx.Deadline(); ok && d.After(limit) {
				limit = d
			}
			go p.watchdog(s, w, limit.Add(p.cfg.WatchdogGrace))
		}
		return out.err
	case errors.As(err, &lost):
		t := time.NewTimer(exitGrace)
		select {
		case <-w.exited:
		case <-t.C:
		}
		t.Stop()
		if w.isExited() {
			return predict.Errorf(codes.Unavailable, "sidecar: worker %d (pid %d) exited during the request (%s)", w.id, w.pid, w.exit)
		}
		if p.ctx.Err() == nil {
			w.log.Warn("connection to the worker lost; killing it", append([]any{"error", err}, traceAttrs(ctx)...)...)
			kill(w.proc)
		}
		return predict.Errorf(codes.Unavailable, "sidecar: worker %d (pid %d): %v", w.id, w.pid, err)
	default:
		p.release(s, w)
		return err
	}
}

// watchdog waits until limit for the late reply of a call whose caller
// gave up on it. The reply frees the slot; no reply by limit gets the
// worker killed, and the supervisor replaces it.
func (p *Pool) watchdog(s *slot, w *worker, limit time.Time) {
	defer p.wg.Done()
	t := time.NewTimer(time.Until(limit))
	defer t.Stop()
	if w.fc.awaitLate(t.C, p.ctx.Done()) {
		p.release(s, w)
		return
	}
	if p.ctx.Err() != nil || w.isExited() {
		return
	}
	w.log.Warn("request outlived its deadline and the watchdog grace; killing the worker",
		"grace_seconds", p.cfg.WatchdogGrace.Seconds())
	kill(w.proc)
}

// supervise restarts the worker of s whenever its process exits, until
// the pool closes. A slot that crash-loops is given up for a cool-down
// and then tried again.
func (p *Pool) supervise(s *slot, w *worker) {
	defer p.wg.Done()
	for {
		select {
		case <-w.exited:
		case <-p.ctx.Done():
			return
		}
		werr := w.errorf(errors.New("exited unexpectedly"))
		w.closeConn()
		p.mu.Lock()
		if p.state == poolClosed {
			p.mu.Unlock()
			return
		}
		s.w, s.state, s.since, s.err, p.lastErr = nil, WorkerRestarting, time.Now(), werr, werr
		p.mu.Unlock()
		w.log.Warn("worker exited; restarting it", "exit", w.exit, "uptime_seconds", time.Since(w.started).Seconds())

		for w = nil; w == nil; {
			delay, ok := p.nextRestart(s)
			if !ok {
				if !p.coolDown(s) {
					return
				}
				continue
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-p.ctx.Done():
				t.Stop()
				return
			}
			p.mu.Lock()
			s.gen++
			s.restarts++
			s.state, s.since = WorkerStarting, time.Now()
			gen := s.gen
			p.mu.Unlock()
			nw, err := p.startWorker(p.ctx, s.id, gen)
			p.mu.Lock()
			if err != nil {
				if p.state == poolClosed {
					p.mu.Unlock()
					return
				}
				s.state, s.since, s.err, p.lastErr = WorkerRestarting, time.Now(), err, err
				p.mu.Unlock()
				p.log.Warn("worker restart failed", "worker", s.id, "error", err)
				continue
			}
			s.w, s.state, s.since = nw, WorkerIdle, time.Now()
			if p.state == poolClosed {
				p.mu.Unlock() // Close stops it.
				return
			}
			p.enqueue(s)
			p.mu.Unlock()
			w = nw
		}
	}
}

// nextRestart records a restart of s and returns the delay before it, or
// false when s has used up MaxRestarts within RestartWindow.
func (p *Pool) nextRestart(s *slot) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.MaxRestarts < 0 {
		return 0, false
	}
	now := time.Now()
	keep := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < p.cfg.RestartWindow {
			keep = append(keep, t)
		}
	}
	s.recent = keep
	if len(s.recent) >= p.cfg.MaxRestarts {
		return 0, false
	}
	delay := p.cfg.RestartBackoff
	for range len(s.recent) {
		delay *= 2
		if delay >= p.cfg.MaxBackoff {
			delay = p.cfg.MaxBackoff
			break
		}
	}
	s.recent = append(s.recent, now)
	return delay, true
}

// coolDown gives s up after a crash loop and waits out its cool-down
// (GiveUpCooldown, doubling with each consecutive give-up up to
// MaxGiveUpCooldown) or a Retry. It reports false when the pool closed.
// Afterwards the slot has a fresh restart budget.
func (p *Pool) coolDown(s *slot) bool {
	p.mu.Lock()
	if p.state == poolClosed {
		p.mu.Unlock()
		return false
	}
	wait := p.cfg.GiveUpCooldown
	for range s.giveUps {
		wait *= 2
		if wait >= p.cfg.MaxGiveUpCooldown {
			wait = p.cfg.MaxGiveUpCooldown
			break
		}
	}
	s.giveUps++
	s.state, s.since, s.retryAt = WorkerFailed, time.Now(), time.Now().Add(wait)
	p.gaveUp++
	if p.gaveUp == len(p.slots) {
		close(p.dead)
	}
	retry := p.retry
	p.log.Error("worker crash loop: giving the slot up for a cool-down", "worker", s.id,
		"restarts", len(s.recent), "window", p.cfg.RestartWindow, "cooldown", wait,
		"workers_left", len(p.slots)-p.gaveUp, "error", s.err)
	p.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	forced := false
	select {
	case <-t.C:
	case <-retry:
		forced = true
	case <-p.ctx.Done():
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == poolClosed {
		return false
	}
	if s.state == WorkerFailed { // else Retry revived it already
		p.revive(s)
	}
	p.log.Info("retrying a given-up worker slot", "worker", s.id, "forced", forced)
	return true
}

// revive takes s out of the given-up state with a fresh restart budget.
// p.mu must be held.
func (p *Pool) revive(s *slot) {
	if p.gaveUp == len(p.slots) {
		p.dead = make(chan struct{})
	}
	p.gaveUp--
	s.recent, s.retryAt = nil, time.Time{}
	s.state, s.since = WorkerRestarting, time.Now()
}

// Retry ends the cool-down of every given-up worker slot now, so that each
// starts a fresh worker; slots that serve are left alone. It returns at
// once, without waiting for the new workers; [Pool.Workers] and
// [Pool.Check] show their progress. It implements [predict.Retrier].
func (p *Pool) Retry(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case poolClosed:
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	case poolLoaded:
	default:
		return predict.Errorf(codes.FailedPrecondition, "sidecar: the pool is not loaded")
	}
	if p.gaveUp > 0 {
		// Requests wait for the new workers rather than fail fast.
		for _, s := range p.slots {
			if s.state == WorkerFailed {
				p.revive(s)
			}
		}
		close(p.retry)
		p.retry = make(chan struct{})
	}
	return nil
}

// Predict runs one input on an idle worker, waiting for one while ctx
// allows. Errors the worker answers keep their gRPC code; a worker that
// crashes during the request fails it with UNAVAILABLE at once.
func (p *Pool) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	req, err := valueconv.RequestToProto(predict.Request{Input: in, Option: opt})
	if err != nil {
		return predict.Result{}, err
	}
	return p.predictProto(ctx, req)
}

func (p *Pool) predictProto(ctx context.Context, req *workerv1.PredictRequest) (predict.Result, error) {
	var resp *workerv1.PredictResponse
	err := p.call(ctx, func(ctx context.Context, c *frameConn, _ *worker) error {
		var err error
		resp, err = callPredict(ctx, c, req)
		return err
	})
	if err != nil {
		return predict.Result{}, err
	}
	return resultFromProto(resp)
}

func resultFromProto(resp *workerv1.PredictResponse) (predict.Result, error) {
	res, err := valueconv.ResultFromProto(resp)
	if err != nil {
		return predict.Result{}, predict.Errorf(codes.Internal, "sidecar: the worker sent a bad result: %w", err)
	}
	return res, nil
}

// PredictBatch sends the whole batch to one worker's PredictBatch. When the
// workers do not batch (Info says so, or they answer UNIMPLEMENTED), it
// runs the items as single predictions spread over the pool. Item failures
// come back as a [predict.ItemErrors].
func (p *Pool) PredictBatch(ctx context.Context, reqs []predict.Request) ([]predict.Result, error) {
	return predictBatch(ctx, reqs, "", p.cfg.Workers, &p.noBatch,
		func(ctx context.Context, fn func(context.Context, *frameConn, *workerv1.InfoResponse) error) error {
			return p.call(ctx, func(ctx context.Context, c *frameConn, w *worker) error {
				return fn(ctx, c, w.info)
			})
		},
		p.predictProto)
}

// Check returns nil while the pool can answer: it is loaded, open, and not
// every worker has stopped restarting. Otherwise it returns why, including
// the last failure with its stderr tail. A pool with some crash-looped
// workers still answers; see [Pool.Workers].
func (p *Pool) Check(context.Context) error {
	return p.usable()
}

// Workers describes each worker slot, in slot order.
func (p *Pool) Workers() []WorkerInfo {
	p.mu.Lock()
	out := make([]WorkerInfo, len(p.slots))
	running := make([]bool, len(p.slots))
	for i, s := range p.slots {
		wi := WorkerInfo{ID: s.id, State: s.state, Since: s.since, Restarts: s.restarts, Err: s.err, RetryAt: s.retryAt}
		if s.w != nil {
			wi.PID = s.w.pid
			wi.Runtime = s.w.info.GetRuntime()
			wi.Batch = s.w.info.GetBatch()
			running[i] = !s.w.isExited()
		}
		out[i] = wi
	}
	p.mu.Unlock()
	for i := range out {
		if running[i] {
			out[i].CPUSeconds, out[i].ResidentBytes = procUsage(out[i].PID)
		}
	}
	return out
}

// Close stops every worker: SIGTERM to its process group, SIGKILL after
// StopTimeout. It waits for them to exit, removes the sockets, and fails
// requests still waiting for a worker with UNAVAILABLE. It is safe to call
// more than once and always returns nil.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.state = poolClosed
		log := p.log
		p.mu.Unlock()
		p.cancel()
		p.wg.Wait() // Load, supervisors and probes have returned.

		p.mu.Lock()
		var workers []*worker
		for _, s := range p.slots {
			if s.w != nil {
				workers = append(workers, s.w)
			}
			s.w, s.state, s.since = nil, WorkerStopped, time.Now()
		}
		sockDir := p.sockDir
		p.mu.Unlock()

		var stops sync.WaitGroup
		for _, w := range workers {
			stops.Go(func() { w.stop(p.cfg.StopTimeout) })
		}
		stops.Wait()
		p.procs.Wait()
		if sockDir != "" {
			_ = os.RemoveAll(sockDir)
		}
		if len(workers) > 0 {
			log.Info("workers stopped", "workers", len(workers))
		}
	})
	return nil
}

// Concurrency returns how many requests the pool answers at once: its
// number of workers. The server's batcher runs that many batches at once.
func (p *Pool) Concurrency() int { return p.cfg.Workers }
