package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// redialDelay is the pause between attempts to reach an attached worker
// during Load.
const redialDelay = 100 * time.Millisecond

// unloadTimeout bounds the Unload that Close sends.
const unloadTimeout = 2 * time.Second

// Attached is a [predict.Predictor] backed by one worker that runs on its
// own and listens at an address, such as a model container next to the
// Swapwire container in one Kubernetes pod. It also implements
// [predict.BatchPredictor], [predict.Checker] and io.Closer. Create it with
// [Attach]; one Attached serves one model version.
//
// Load calls the worker's Load(dir) with the version named by dir: dir must
// be visible to the worker at the same path, for example on a volume both
// containers mount. Every request names that version, so a worker that
// holds several versions (the Python runtime does when it is given a model
// class) answers each with its own model; Close unloads the version and
// leaves the worker running. A worker whose Info says it can hold only one
// version is refused a second one: Load fails with FAILED_PRECONDITION.
// When the worker restarts (a new process id in Info, noticed when a
// connection breaks), the Attached calls Load(dir) again before it sends
// the next request. A worker answers FAILED_PRECONDITION to a Predict for
// a version it does not hold, which also triggers that check.
type Attached struct {
	cfg     AttachConfig
	network string
	addr    string
	log     *slog.Logger
	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	sem     chan struct{}   // request slots
	queue   *slotQueue      // bounds the requests waiting for a slot
	idle    chan *frameConn // connections between calls
	reload  chan struct{}   // a lock for checking and reloading the worker

	noBatch  atomic.Bool
	stale    atomic.Bool // check the worker's pid before the next request
	inFlight atomic.Int64

	mu       sync.Mutex
	info     *workerv1.InfoResponse
	dir      string
	loaded   bool
	closed   bool
	reloads  int
	since    time.Time
	lastErr  error
	closeOne sync.Once
}

// Attach returns an Attached for cfg. It connects to nothing until Load.
func Attach(cfg AttachConfig) *Attached {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	network, addr := attachTarget(cfg.Addr)
	return &Attached{
		cfg:     cfg,
		network: network,
		addr:    addr,
		log:     cfg.Logger.With("model", cfg.Model, "worker_addr", cfg.Addr),
		ctx:     ctx,
		cancel:  cancel,
		sem:     make(chan struct{}, cfg.Concurrency),
		queue:   newSlotQueue(cfg.MaxQueue, cfg.QueueTimeout),
		idle:    make(chan *frameConn, cfg.Concurrency),
		reload:  make(chan struct{}, 1),
		since:   time.Now(),
	}
}

// AttachFactory returns a function that creates a fresh Attached for cfg,
// one per model version, as the server's model manager expects.
func AttachFactory(cfg AttachConfig) func() predict.Predictor {
	return func() predict.Predictor { return Attach(cfg) }
}

// attachTarget turns an address into a network and an address to dial.
func attachTarget(addr string) (network, address string) {
	if rest, ok := strings.CutPrefix(addr, "unix://"); ok {
		return "unix", rest
	}
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", rest
	}
	return "tcp", strings.TrimPrefix(addr, "tcp://")
}

// dial connects to the worker, trying again until ctx ends.
func (a *Attached) dial(ctx context.Context) (*frameConn, error) {
	for {
		fc, err := dialFrame(ctx, a.network, a.addr, a.cfg.MaxMessageSize)
		if err == nil {
			return fc, nil
		}
		t := time.NewTimer(redialDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, predict.Errorf(predict.CodeOf(ctx.Err()), "dial %s: %w (%w)", a.cfg.Addr, ctx.Err(), err)
		}
	}
}

// Load connects to the worker, waiting for it within StartTimeout, and
// calls Info and Load(dir). It may be called again after a failure.
func (a *Attached) Load(ctx context.Context, dir string) error {
	if a.cfg.Addr == "" {
		return predict.Errorf(codes.InvalidArgument, "sidecar: AttachConfig.Addr is empty")
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	if a.loaded {
		a.mu.Unlock()
		return predict.Errorf(codes.FailedPrecondition, "sidecar: Load called twice")
	}
	a.log = a.log.With(versionAttr(dir))
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, a.cfg.StartTimeout)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()
	fc, err := a.dial(ctx)
	if err != nil {
		return fmt.Errorf("sidecar: attach %s: %w", a.cfg.Addr, err)
	}
	info, err := loadOn(ctx, fc, dir, true)
	if err != nil {
		fc.close()
		return fmt.Errorf("sidecar: attach %s: %w", a.cfg.Addr, err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		fc.close()
		return ErrClosed
	}
	a.info, a.dir, a.loaded, a.since = info, dir, true, time.Now()
	a.putIdle(fc)
	a.log.Info("attached worker loaded", "pid", info.GetPid(), "runtime", info.GetRuntime(),
		"dir", dir, "multi_version", info.GetMultiVersion())
	return nil
}

// loadOn calls Info and Load(dir) for the version dir. When fresh, it
// refuses to load a second version on a worker that holds only one.
func loadOn(ctx context.Context, fc *frameConn, dir string, fresh bool) (*workerv1.InfoResponse, error) {
	info, err := callInfo(ctx, fc)
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	if v := info.GetProtocolVersion(); v != protocolNumber {
		return nil, predict.Errorf(codes.FailedPrecondition, "the worker speaks protocol %d, want %d", v, protocolNumber)
	}
	held := info.GetVersions()
	if fresh && !info.GetMultiVersion() && len(held) > 0 && !slices.Contains(held, dir) {
		return nil, predict.Errorf(codes.FailedPrecondition,
			"the worker holds only one version at a time and serves %s; it cannot load %s beside it "+
				"(give the Python runtime a model class rather than an instance, or let the old version drain first)",
			held[0], dir)
	}
	if err := callLoad(ctx, fc, dir, dir); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return info, nil
}

func baseName(dir string) string {
	dir = strings.TrimRight(dir, "/")
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		return dir[i+1:]
	}
	return dir
}

func (a *Attached) lock(ctx context.Context) error {
	select {
	case a.reload <- struct{}{}:
		return nil
	case <-ctx.Done():
		return predict.Errorf(predict.CodeOf(ctx.Err()), "sidecar: %w", ctx.Err())
	case <-a.ctx.Done():
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	}
}

func (a *Attached) unlock() { <-a.reload }

// acquire takes one of the Concurrency request slots, waiting within the
// bounds of a.queue when all are taken.
func (a *Attached) acquire(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	default:
	}
	if err := a.queue.enter(a.cfg.Concurrency); err != nil {
		return err
	}
	defer a.queue.leave()
	expire := time.NewTimer(a.queue.timeout)
	defer expire.Stop()
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-expire.C:
		return a.queue.expired(a.cfg.Concurrency)
	case <-ctx.Done():
		return predict.Errorf(predict.CodeOf(ctx.Err()), "sidecar: waiting for the attached worker: %w", ctx.Err())
	case <-a.ctx.Done():
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	}
}

// putIdle keeps fc for the next call, or closes it when enough are kept.
func (a *Attached) putIdle(fc *frameConn) {
	if fc.broken() || a.ctx.Err() != nil {
		fc.close()
		return
	}
	select {
	case a.idle <- fc:
	default:
		fc.close()
	}
	if a.ctx.Err() != nil { // Close ran meanwhile
		a.closeIdle()
	}
}

// conn returns an idle connection, or dials a new one.
func (a *Attached) conn(ctx context.Context) (*frameConn, error) {
	for {
		select {
		case fc := <-a.idle:
			if fc.broken() {
				fc.close()
				continue
			}
			return fc, nil
		default:
			fc, err := dialFrame(ctx, a.network, a.addr, a.cfg.MaxMessageSize)
			if err != nil {
				return nil, predict.Errorf(codes.Unavailable, "sidecar: attached worker at %s: %v", a.cfg.Addr, err)
			}
			return fc, nil
		}
	}
}

// closeIdle closes every idle connection.
func (a *Attached) closeIdle() {
	for {
		select {
		case fc := <-a.idle:
			fc.close()
		default:
			return
		}
	}
}

// refresh checks the worker's pid when it may have restarted, and calls
// Load again on a new process. It reports whether it did.
func (a *Attached) refresh(ctx context.Context) (bool, error) {
	if !a.stale.Load() {
		return false, nil
	}
	if err := a.lock(ctx); err != nil {
		return false, err
	}
	defer a.unlock()
	if !a.stale.Load() {
		return false, nil
	}
	a.closeIdle() // connections to an old process
	a.mu.Lock()
	dir, old := a.dir, a.info
	a.mu.Unlock()
	fc, err := a.conn(ctx)
	if err != nil {
		return false, a.fail(err)
	}
	info, err := callInfo(ctx, fc)
	if err != nil {
		fc.close()
		return false, a.fail(predict.Errorf(codes.Unavailable, "sidecar: attached worker at %s: %v", a.cfg.Addr, err))
	}
	if info.GetPid() == old.GetPid() && slices.Contains(info.GetVersions(), dir) {
		a.stale.Store(false)
		a.putIdle(fc)
		return false, nil
	}
	a.log.Warn("attached worker restarted or lost the version; loading it again", "old_pid", old.GetPid(), "pid", info.GetPid())
	if info, err = loadOn(ctx, fc, dir, false); err != nil {
		fc.close()
		return false, a.fail(predict.Errorf(codes.Unavailable, "sidecar: attached worker at %s: %v", a.cfg.Addr, err))
	}
	a.putIdle(fc)
	a.mu.Lock()
	a.info, a.reloads, a.since, a.lastErr = info, a.reloads+1, time.Now(), nil
	a.mu.Unlock()
	a.stale.Store(false)
	return true, nil
}

func (a *Attached) fail(err error) error {
	a.mu.Lock()
	a.lastErr = err
	a.mu.Unlock()
	return err
}

// call runs fn with a request slot and a connection. A broken connection
// or a FAILED_PRECONDITION answer (the worker restarted and lost the
// version) is retried once after checking the worker, which loads the
// version again if needed.
func (a *Attached) call(ctx context.Context, fn func(context.Context, *frameConn, *workerv1.InfoResponse) error) error {
	a.mu.Lock()
	loaded, closed := a.loaded, a.closed
	a.mu.Unlock()
	switch {
	case closed:
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	case !loaded:
		return predict.Errorf(codes.Unavailable, "sidecar: the attached worker is not loaded")
	}
	if err := a.acquire(ctx); err != nil {
		return err
	}
	defer func() { <-a.sem }()
	a.inFlight.Add(1)
	defer a.inFlight.Add(-1)

	for attempt := 0; ; attempt++ {
		if _, err := a.refresh(ctx); err != nil {
			return err
		}
		fc, err := a.conn(ctx)
		if err != nil {
			a.stale.Store(true)
			return err
		}
		a.mu.Lock()
		info := a.info
		a.mu.Unlock()
		err = fn(ctx, fc, info)
		var lost *lostError
		var out *outstandingError
		switch {
		case err == nil:
			a.putIdle(fc)
			return nil
		case errors.As(err, &out):
			// The worker may still run the call: this connection is done.
			fc.close()
			return out.err
		case errors.As(err, &lost):
			fc.close()
			a.stale.Store(true)
			if attempt == 0 {
				continue
			}
			return predict.Errorf(codes.Unavailable, "sidecar: attached worker at %s: %v", a.cfg.Addr, err)
		case predict.CodeOf(err) == codes.FailedPrecondition && attempt == 0:
			a.putIdle(fc)
			a.stale.Store(true)
			continue
		default:
			a.putIdle(fc)
			return err
		}
	}
}

// Predict runs one input on the worker. At most Concurrency requests are
// in flight; others wait while ctx allows.
func (a *Attached) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	req, err := valueconv.RequestToProto(predict.Request{Input: in, Option: opt})
	if err != nil {
		return predict.Result{}, err
	}
	return a.predictProto(ctx, req)
}

func (a *Attached) predictProto(ctx context.Context, req *workerv1.PredictRequest) (predict.Result, error) {
	a.mu.Lock()
	req.Version = a.dir
	a.mu.Unlock()
	var resp *workerv1.PredictResponse
	err := a.call(ctx, func(ctx context.Context, c *frameConn, _ *workerv1.InfoResponse) error {
		var err error
		resp, err = callPredict(ctx, c, req)
		return err
	})
	if err != nil {
		return predict.Result{}, err
	}
	return resultFromProto(resp)
}

// PredictBatch sends the batch to the worker's PredictBatch, or runs the
// items one by one (Concurrency at once) when the worker does not batch.
func (a *Attached) PredictBatch(ctx context.Context, reqs []predict.Request) ([]predict.Result, error) {
	a.mu.Lock()
	dir := a.dir
	a.mu.Unlock()
	return predictBatch(ctx, reqs, dir, a.cfg.Concurrency, &a.noBatch, a.call, a.predictProto)
}

// Check asks the worker for Info and returns nil when it answers and holds
// the version; a worker that restarted gets Load(dir) first. It returns an
// error before Load, after Close, and while the worker is unreachable.
func (a *Attached) Check(ctx context.Context) error {
	a.mu.Lock()
	loaded, closed := a.loaded, a.closed
	a.mu.Unlock()
	switch {
	case closed:
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	case !loaded:
		return predict.Errorf(codes.Unavailable, "sidecar: the attached worker is not loaded")
	}
	// A check is a refresh that always asks.
	a.stale.Store(true)
	_, err := a.refresh(ctx)
	return err
}

// Workers describes the attached worker as a one-element list, like
// [Pool.Workers]. Restarts counts the worker restarts the Attached noticed
// and answered with a new Load.
func (a *Attached) Workers() []WorkerInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	wi := WorkerInfo{ID: 1, Since: a.since, Restarts: a.reloads, Err: a.lastErr}
	switch {
	case a.closed:
		wi.State = WorkerStopped
	case !a.loaded:
		wi.State = WorkerStarting
	case a.stale.Load():
		wi.State = WorkerRestarting
	case a.inFlight.Load() > 0:
		wi.State = WorkerBusy
	default:
		wi.State = WorkerIdle
	}
	if a.info != nil {
		wi.PID, wi.Runtime, wi.Batch = int(a.info.GetPid()), a.info.GetRuntime(), a.info.GetBatch()
	}
	return []WorkerInfo{wi}
}

// Close unloads the version from the worker (waiting up to two seconds
// for an idle connection) and closes the connections; the worker keeps
// running. Requests waiting for a slot fail with UNAVAILABLE. It is safe
// to call more than once and always returns nil.
func (a *Attached) Close() error {
	a.closeOne.Do(func() {
		a.mu.Lock()
		a.closed = true
		loaded, dir := a.loaded, a.dir
		a.mu.Unlock()
		if loaded {
			ctx, cancel := context.WithTimeout(context.Background(), unloadTimeout)
			if fc, err := a.conn(ctx); err == nil {
				if err := callUnload(ctx, fc, dir); err != nil {
					a.log.Warn("unloading the version from the attached worker failed", "error", err)
				}
				fc.close()
			}
			cancel()
		}
		a.cancel()
		a.closeIdle()
	})
	return nil
}

// Concurrency returns how many requests are sent to the worker at once.
func (a *Attached) Concurrency() int { return a.cfg.Concurrency }
