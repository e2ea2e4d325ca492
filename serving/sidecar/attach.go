package sidecar

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// reconnectBackoff replaces gRPC's default reconnect backoff (up to two
// minutes), so that a restarted worker is found again within seconds.
var reconnectBackoff = backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second}

// Attached is a [predict.Predictor] backed by one worker that runs on its
// own and listens at an address, such as a model container next to the
// Swapwire container in one Kubernetes pod. It also implements
// [predict.BatchPredictor], [predict.Checker] and io.Closer. Create it with
// [Attach].
//
// Load calls the worker's Load(dir): dir must be visible to the worker at
// the same path, for example on a volume both containers mount. The
// worker's lifecycle is not the Attached's: Close closes the connection and
// leaves the worker running. When the worker restarts, gRPC reconnects, and
// the Attached notices the new process id (from Info) and calls Load(dir)
// again before it sends the next request. A worker should answer
// FAILED_PRECONDITION to a Predict that comes before Load.
type Attached struct {
	cfg    AttachConfig
	log    *slog.Logger
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	sem    chan struct{} // request slots
	reload chan struct{} // a lock for checking and reloading the worker

	noBatch  atomic.Bool
	stale    atomic.Bool // check the worker's pid before the next request
	inFlight atomic.Int64

	mu       sync.Mutex
	conn     *grpc.ClientConn
	client   workerv1.WorkerServiceClient
	info     *workerv1.InfoResponse
	dir      string
	loaded   bool
	closed   bool
	reloads  int
	since    time.Time
	lastErr  error
	wg       sync.WaitGroup
	closeOne sync.Once
}

// Attach returns an Attached for cfg. It connects to nothing until Load.
func Attach(cfg AttachConfig) *Attached {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	a := &Attached{
		cfg:    cfg,
		log:    cfg.Logger.With("model", cfg.Model, "worker_addr", cfg.Addr),
		ctx:    ctx,
		cancel: cancel,
		sem:    make(chan struct{}, cfg.Concurrency),
		reload: make(chan struct{}, 1),
		since:  time.Now(),
	}
	return a
}

// AttachFactory returns a function that creates a fresh Attached for cfg,
// one per model version, as the server's model manager expects.
func AttachFactory(cfg AttachConfig) func() predict.Predictor {
	return func() predict.Predictor { return Attach(cfg) }
}

// attachTarget turns an address into a gRPC target.
func attachTarget(addr string) string {
	if rest, ok := strings.CutPrefix(addr, "tcp://"); ok {
		return "passthrough:///" + rest
	}
	return addr
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
	a.log = a.log.With("version", baseName(dir))
	a.mu.Unlock()

	conn, err := grpc.NewClient(attachTarget(a.cfg.Addr),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnectBackoff, MinConnectTimeout: 5 * time.Second}),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(a.cfg.MaxMessageSize),
			grpc.MaxCallSendMsgSize(a.cfg.MaxMessageSize)))
	if err != nil {
		return fmt.Errorf("sidecar: attach %s: %w", a.cfg.Addr, err)
	}
	client := workerv1.NewWorkerServiceClient(conn)
	ctx, cancel := context.WithTimeout(ctx, a.cfg.StartTimeout)
	defer cancel()
	stop := context.AfterFunc(a.ctx, cancel)
	defer stop()
	info, err := loadOn(ctx, client, dir)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("sidecar: attach %s: %w", a.cfg.Addr, err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		_ = conn.Close()
		return ErrClosed
	}
	a.conn, a.client, a.info, a.dir, a.loaded, a.since = conn, client, info, dir, true, time.Now()
	a.wg.Add(1)
	go a.watch(conn)
	a.log.Info("attached worker loaded", "pid", info.GetPid(), "runtime", info.GetRuntime(), "dir", dir)
	return nil
}

// loadOn calls Info and Load(dir), waiting for the connection.
func loadOn(ctx context.Context, c workerv1.WorkerServiceClient, dir string) (*workerv1.InfoResponse, error) {
	info, err := c.Info(ctx, &workerv1.InfoRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return nil, fmt.Errorf("info: %w", err)
	}
	if v := info.GetProtocolVersion(); v != 1 && v != 0 {
		return nil, fmt.Errorf("the worker speaks protocol %d, want 1", v)
	}
	if _, err := c.Load(ctx, &workerv1.LoadRequest{Dir: dir}, grpc.WaitForReady(true)); err != nil {
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

// watch marks the worker stale when the connection drops, reconnects at
// once, and checks the worker again when the connection is back.
func (a *Attached) watch(conn *grpc.ClientConn) {
	defer a.wg.Done()
	state := conn.GetState()
	for conn.WaitForStateChange(a.ctx, state) {
		state = conn.GetState()
		switch state {
		case connectivity.Ready:
			if a.stale.Load() {
				ctx, cancel := context.WithTimeout(a.ctx, a.cfg.StartTimeout)
				if _, err := a.refresh(ctx); err != nil && a.ctx.Err() == nil {
					a.log.Warn("attached worker check failed", "error", err)
				}
				cancel()
			}
		case connectivity.Idle:
			a.stale.Store(true)
			conn.Connect()
		default:
			a.stale.Store(true)
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
	a.mu.Lock()
	client, dir, old := a.client, a.dir, a.info
	a.mu.Unlock()
	info, err := client.Info(ctx, &workerv1.InfoRequest{})
	if err != nil {
		return false, a.fail(predict.Errorf(status.Code(err), "sidecar: attached worker at %s: %w", a.cfg.Addr, err))
	}
	if info.GetPid() == old.GetPid() {
		a.stale.Store(false)
		return false, nil
	}
	a.log.Warn("attached worker restarted; loading the model again", "old_pid", old.GetPid(), "pid", info.GetPid())
	if info, err = loadOn(ctx, client, dir); err != nil {
		return false, a.fail(predict.Errorf(codes.Unavailable, "sidecar: attached worker at %s restarted: %w", a.cfg.Addr, err))
	}
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

// call runs fn with a request slot on a fresh worker. A FAILED_PRECONDITION
// answer is retried once after checking the worker, which loads the model
// again if the worker restarted (or finds the watcher already did).
func (a *Attached) call(ctx context.Context, fn func(context.Context, workerv1.WorkerServiceClient, bool) error) error {
	a.mu.Lock()
	loaded, closed := a.loaded, a.closed
	a.mu.Unlock()
	switch {
	case closed:
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	case !loaded:
		return predict.Errorf(codes.Unavailable, "sidecar: the attached worker is not loaded")
	}
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return predict.Errorf(predict.CodeOf(ctx.Err()), "sidecar: waiting for the attached worker: %w", ctx.Err())
	case <-a.ctx.Done():
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	}
	defer func() { <-a.sem }()
	a.inFlight.Add(1)
	defer a.inFlight.Add(-1)

	for attempt := 0; ; attempt++ {
		if _, err := a.refresh(ctx); err != nil {
			return err
		}
		a.mu.Lock()
		client, batch := a.client, a.info.GetBatch()
		a.mu.Unlock()
		err := fn(ctx, client, batch)
		switch status.Code(err) {
		case codes.Unavailable:
			a.stale.Store(true)
		case codes.FailedPrecondition:
			a.stale.Store(true)
			// Retry once after the check: it reloads a restarted worker,
			// or finds that the watcher already did.
			if attempt == 0 {
				if _, rerr := a.refresh(ctx); rerr == nil {
					continue
				}
			}
		}
		if err != nil {
			return workerErr(err)
		}
		return nil
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
	var resp *workerv1.PredictResponse
	err := a.call(ctx, func(ctx context.Context, c workerv1.WorkerServiceClient, _ bool) error {
		var err error
		resp, err = c.Predict(ctx, req)
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
	return predictBatch(ctx, reqs, a.cfg.Concurrency, &a.noBatch, a.call, a.predictProto)
}

// Check asks the worker for Info and returns nil when it answers; a worker
// that restarted gets Load(dir) first. It returns an error before Load,
// after Close, and while the worker is unreachable.
func (a *Attached) Check(ctx context.Context) error {
	a.mu.Lock()
	loaded, closed, client, old := a.loaded, a.closed, a.client, a.info
	a.mu.Unlock()
	switch {
	case closed:
		return predict.Errorf(codes.Unavailable, "%w", ErrClosed)
	case !loaded:
		return predict.Errorf(codes.Unavailable, "sidecar: the attached worker is not loaded")
	}
	info, err := client.Info(ctx, &workerv1.InfoRequest{})
	if err != nil {
		a.stale.Store(true)
		return predict.Errorf(codes.Unavailable, "sidecar: attached worker at %s: %w", a.cfg.Addr, err)
	}
	if info.GetPid() != old.GetPid() {
		a.stale.Store(true)
	}
	_, err = a.refresh(ctx)
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

// Close closes the connection; the worker keeps running. Requests waiting
// for a slot fail with UNAVAILABLE. It is safe to call more than once and
// always returns nil.
func (a *Attached) Close() error {
	a.closeOne.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		a.cancel()
		a.wg.Wait()
		a.mu.Lock()
		conn := a.conn
		a.mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
	})
	return nil
}

// Concurrency returns how many requests are sent to the worker at once.
func (a *Attached) Concurrency() int { return a.cfg.Concurrency }
