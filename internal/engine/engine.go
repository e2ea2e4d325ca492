package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

// Factory returns a fresh, unloaded Predictor; the engine calls it once per
// model version.
type Factory = func() predict.Predictor

// Config configures an [Engine]. Zero fields take the defaults given.
type Config struct {
	// Factory builds the predictors of every model without an entry in
	// Factories. Required.
	Factory Factory
	// Factories overrides Factory per model name.
	Factories map[string]Factory
	// Logger receives one line per load, swap, failure and admin action;
	// nil discards them.
	Logger *slog.Logger
	// Registerer receives the per-model metrics; nil keeps them private.
	Registerer prometheus.Registerer
	// DefaultModel answers requests that name no model; "" means the only
	// model, or the first by name.
	DefaultModel string
	// Models limits the engine to these models of the store; empty means all.
	Models []string
	// KeepPrevious keeps the previously serving version loaded for an
	// instant rollback.
	KeepPrevious bool
	// LoadTimeout bounds one version's Load and warm-up; 0 means 10 minutes.
	LoadTimeout time.Duration
	// Batch configures dynamic batching for BatchPredictors.
	Batch BatchConfig
	// HealthInterval is how often predict.Checker predictors are polled;
	// 0 means 2 seconds.
	HealthInterval time.Duration
	// RequestLogRate is the share of requests logged, from 0 to 1.
	RequestLogRate float64
	// MaxUploads caps the uploads (Publish calls) running at once; one
	// more is RESOURCE_EXHAUSTED. 0 means 4.
	MaxUploads int
	// OnChange is called after any change of what serves or of a model's
	// health, from the goroutine that made it. It must not block.
	OnChange func()
	// Tracer, when not nil, gets the engine's spans (the batching wait) and
	// the attributes it sets on the request's span (model, version, batch
	// size, queue time). Nil turns tracing off at no cost per request.
	Tracer trace.Tracer
	// RequestID returns the id of the request ctx belongs to, for a log
	// line about that request; it is called only when such a line is
	// written. Nil makes a random id per line.
	RequestID func(ctx context.Context) string
}

// Engine keeps the models of a store loaded and answers predictions.
type Engine struct {
	uploads chan struct{} // a slot per upload running
	cfg     Config
	store   modelstore.Store
	log     *slog.Logger
	metrics *metrics

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the watch loop, model loops and health loop
	closes sync.WaitGroup // versions being closed

	mu      sync.Mutex
	models  map[string]*model // written under mu; requests read table
	table   atomic.Pointer[modelTable]
	gen     int64 // store change generation
	ready   chan struct{}
	changed chan struct{} // closed and replaced after every state change
	started bool
	closed  bool
}

// modelTable is an immutable copy of the model set that requests read
// without locks: the models by name, sorted, and the default model.
type modelTable struct {
	byName map[string]*model
	sorted []*model
	def    string
}

// New returns an engine over store. It loads nothing until [Engine.Start].
func New(store modelstore.Store, cfg Config) (*Engine, error) {
	if cfg.Factory == nil {
		return nil, errors.New("engine: nil factory")
	}
	if store == nil {
		return nil, errors.New("engine: nil store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if cfg.LoadTimeout <= 0 {
		cfg.LoadTimeout = 10 * time.Minute
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = 2 * time.Second
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func() {}
	}
	if cfg.RequestID == nil {
		cfg.RequestID = func(context.Context) string { return newRequestID() }
	}
	cfg.RequestLogRate = min(max(cfg.RequestLogRate, 0), 1)
	cfg.Models = slices.Clone(cfg.Models)
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.MaxUploads <= 0 {
		cfg.MaxUploads = 4
	}
	e := &Engine{
		uploads: make(chan struct{}, cfg.MaxUploads),
		cfg:     cfg,
		store:   store,
		log:     cfg.Logger,
		metrics: met,
		ctx:     ctx,
		cancel:  cancel,
		models:  make(map[string]*model),
		ready:   make(chan struct{}),
		changed: make(chan struct{}),
	}
	if err := cfg.Registerer.Register(newStateCollector(e)); err != nil {
		cancel()
		return nil, err
	}
	e.publishTable()
	return e, nil
}

// Start watches the store and loads models in the background, and starts
// polling the health of predictors that implement predict.Checker.
func (e *Engine) Start() error {
	e.mu.Lock()
	if e.started || e.closed {
		e.mu.Unlock()
		return errors.New("engine: already started or closed")
	}
	e.started = true
	e.mu.Unlock()
	changes, err := e.store.Watch(e.ctx)
	if err != nil {
		return fmt.Errorf("watch model store: %w", err)
	}
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.sync()
		for {
			select {
			case <-e.ctx.Done():
				return
			case _, ok := <-changes:
				if !ok {
					return
				}
				e.Refresh()
			}
		}
	}()
	go e.healthLoop()
	return nil
}

// Refresh makes every model reconcile with the store now, as after a
// store change. Admin operations call it after writing to the store, so
// this process does not wait for its watch to notice its own write.
func (e *Engine) Refresh() {
	e.mu.Lock()
	e.gen++
	e.mu.Unlock()
	e.sync()
}

// publishTable replaces the table after the model set changed. e.mu is held.
func (e *Engine) publishTable() {
	t := &modelTable{byName: make(map[string]*model, len(e.models)), def: e.cfg.DefaultModel}
	for name, m := range e.models {
		t.byName[name] = m
		t.sorted = append(t.sorted, m)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].name < t.sorted[j].name })
	if t.def == "" && len(t.sorted) > 0 {
		t.def = t.sorted[0].name
	}
	e.table.Store(t)
}

func (e *Engine) generation() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// broadcast wakes everyone waiting on Changes.
func (e *Engine) broadcast() {
	e.mu.Lock()
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// Changes returns a channel that is closed at the next change of state: a
// version loaded, failed, swapped or unloaded, a policy applied. Read the
// state after taking the channel, then wait on it.
func (e *Engine) Changes() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// lookup returns the named model, or the default one for "". It takes no
// lock: it runs on every request.
func (e *Engine) lookup(name string) (*model, error) {
	t := e.table.Load()
	if name == "" {
		name = t.def
		if name == "" {
			return nil, predict.Errorf(codes.Unavailable, "no model is being served yet")
		}
	}
	m, ok := t.byName[name]
	if !ok {
		if name == t.def {
			return nil, predict.Errorf(codes.Unavailable, "the default model %q is not in the store yet", name)
		}
		return nil, predict.Errorf(codes.NotFound, "model %q is not served here", name)
	}
	return m, nil
}

// HasModel reports whether the named model is served here.
func (e *Engine) HasModel(name string) bool {
	_, ok := e.table.Load().byName[name]
	return ok
}

// DefaultModel returns the name of the model that answers requests naming
// none, or "" while there is none.
func (e *Engine) DefaultModel() string { return e.table.Load().def }

// modelList returns the models sorted by name.
func (e *Engine) modelList() []*model { return e.table.Load().sorted }

// maybeReady closes the ready channel once the default model serves.
func (e *Engine) maybeReady() {
	m := e.table.Load().byName[e.DefaultModel()]
	if m == nil || m.snap.Load().serving == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.ready:
	default:
		close(e.ready)
	}
}

// Ready returns a channel closed once the default model serves a version.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// WaitServing waits until model serves version (any version when version
// is 0), or ctx ends. An empty model means the default model.
func (e *Engine) WaitServing(ctx context.Context, model string, version int64) error {
	for {
		ch := e.Changes()
		if m, err := e.lookup(model); err == nil {
			if v := m.snap.Load().serving; v != nil && (version == 0 || v.num == version) {
				return nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFailed waits until a load of the model's version has failed and
// returns that error, or returns ctx's error. It lets tests and tools
// observe a rejected version without polling.
func (e *Engine) WaitFailed(ctx context.Context, model string, version int64) error {
	for {
		ch := e.Changes()
		if m, err := e.lookup(model); err == nil {
			m.mu.Lock()
			st := m.status[version]
			m.mu.Unlock()
			if st != nil && st.err != nil {
				return st.err
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close unloads every version and stops the loops. Versions with requests
// in flight close when the last one finishes; Close waits for that until
// ctx ends. It is safe to call more than once.
func (e *Engine) Close(ctx context.Context) {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait() // no load, swap or health check runs past this point
	var pending []*version
	for _, m := range e.modelList() {
		s := m.snap.Swap(&snapshot{})
		m.mu.Lock()
		for _, v := range m.draining {
			pending = append(pending, v)
		}
		m.mu.Unlock()
		for _, v := range s.loaded {
			pending = append(pending, v)
			v.release()
		}
	}
	e.cfg.OnChange()
	for _, v := range pending {
		select {
		case <-v.closed:
		case <-ctx.Done():
			return
		}
	}
	e.closes.Wait()
}
