package serving

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/jsonvalue"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

// WarmupFile is the name of an optional file in a version directory with
// sample requests, one JSON object per line (see the README), that are run
// through a new version before it takes traffic. Any error fails the version.
const WarmupFile = "warmup.jsonl"

// manager keeps every model's versions in step with the store.
type manager struct {
	cfg     *config
	store   modelstore.Store
	factory Factory
	log     *slog.Logger
	metrics *metrics
	onState func() // called after any snapshot change (health)

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the watch loop and model loops
	closes sync.WaitGroup // versions being closed

	mu      sync.Mutex
	models  map[string]*model // written under mu; requests read table
	table   atomic.Pointer[modelTable]
	gen     int64 // store change generation
	ready   chan struct{}
	changed chan struct{} // closed and replaced after every snapshot change
}

// modelTable is an immutable copy of the model set that requests read
// without locks: the models by name, sorted, and the default model.
type modelTable struct {
	byName map[string]*model
	sorted []*model
	def    string
}

// publishTable replaces the table after the model set changed. mg.mu is held.
func (mg *manager) publishTable() {
	t := &modelTable{byName: make(map[string]*model, len(mg.models)), def: mg.cfg.defaultModel}
	for name, m := range mg.models {
		t.byName[name] = m
		t.sorted = append(t.sorted, m)
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].name < t.sorted[j].name })
	if t.def == "" && len(t.sorted) > 0 {
		t.def = t.sorted[0].name
	}
	mg.table.Store(t)
}

// model is one model's serving state.
type model struct {
	name    string
	factory Factory
	snap    atomic.Pointer[snapshot]
	kick    chan struct{}

	mu       sync.Mutex // guards the fields below
	status   map[int64]*versionStatus
	draining map[int64]*version
	history  []int64 // serving versions, oldest first, without repeats in a row
	policy   modelstore.Policy
	inStore  []int64
	health   error // from predict.Checker
}

// versionStatus records a version's load outcome.
type versionStatus struct {
	loading  bool
	err      error
	errGen   int64 // the store generation the failure belongs to
	loadDur  time.Duration
	loadedAt time.Time
}

// snapshot is an immutable view of a model that requests read without locks.
type snapshot struct {
	serving *version
	loaded  map[int64]*version
	labels  map[string]int64
	split   *split // nil: unnamed traffic goes to serving
}

// split shares unnamed traffic among loaded versions by weight.
type split struct {
	versions []*version
	cum      []int // cumulative weights, ascending
	weights  map[int64]int
}

// pick chooses a version with probability proportional to its weight.
func (sp *split) pick() *version {
	r := rand.IntN(sp.cum[len(sp.cum)-1])
	i, _ := slices.BinarySearch(sp.cum, r+1)
	return sp.versions[i]
}

// newSplit returns the split among the weighted versions that are loaded,
// or nil when none of them is.
func newSplit(weights map[int64]int, loaded map[int64]*version) *split {
	nums := make([]int64, 0, len(weights))
	for num, w := range weights {
		if w > 0 && loaded[num] != nil {
			nums = append(nums, num)
		}
	}
	if len(nums) == 0 {
		return nil
	}
	slices.Sort(nums)
	sp := &split{weights: map[int64]int{}}
	total := 0
	for _, num := range nums {
		total += weights[num]
		sp.versions = append(sp.versions, loaded[num])
		sp.cum = append(sp.cum, total)
		sp.weights[num] = weights[num]
	}
	return sp
}

func newManager(cfg *config, store modelstore.Store, factory Factory, m *metrics) *manager {
	ctx, cancel := context.WithCancel(context.Background())
	mg := &manager{
		cfg:     cfg,
		store:   store,
		factory: factory,
		log:     cfg.logger,
		metrics: m,
		ctx:     ctx,
		cancel:  cancel,
		models:  make(map[string]*model),
		ready:   make(chan struct{}),
		changed: make(chan struct{}),
		onState: func() {},
	}
	mg.publishTable()
	return mg
}

// start watches the store and loads models in the background.
func (mg *manager) start() error {
	changes, err := mg.store.Watch(mg.ctx)
	if err != nil {
		return fmt.Errorf("watch model store: %w", err)
	}
	mg.wg.Add(1)
	go func() {
		defer mg.wg.Done()
		mg.sync()
		for {
			select {
			case <-mg.ctx.Done():
				return
			case _, ok := <-changes:
				if !ok {
					return
				}
				mg.mu.Lock()
				mg.gen++
				mg.mu.Unlock()
				mg.sync()
			}
		}
	}()
	return nil
}

// kickAll asks every model to reconcile, as after a store change. The admin
// API calls it after writing to the store so this server does not wait for
// the watch to notice its own write.
func (mg *manager) kickAll() {
	mg.mu.Lock()
	mg.gen++
	mg.mu.Unlock()
	mg.sync()
}

// sync finds the store's models, starts a loop for new ones and kicks all.
func (mg *manager) sync() {
	names, err := mg.store.Models(mg.ctx)
	if err != nil {
		if mg.ctx.Err() == nil {
			mg.log.Error("list models", "err", err)
		}
		return
	}
	if len(mg.cfg.models) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(mg.cfg.models, n) })
	}
	mg.mu.Lock()
	defer mg.mu.Unlock()
	if mg.ctx.Err() != nil {
		return
	}
	added := false
	defer func() {
		if added {
			mg.publishTable()
		}
	}()
	for _, name := range names {
		m, ok := mg.models[name]
		if !ok {
			f := mg.factory
			if mf, ok := mg.cfg.factories[name]; ok {
				f = mf
			}
			m = &model{
				name:     name,
				factory:  f,
				kick:     make(chan struct{}, 1),
				status:   make(map[int64]*versionStatus),
				draining: make(map[int64]*version),
			}
			m.snap.Store(&snapshot{})
			mg.models[name] = m
			added = true
			mg.wg.Add(1)
			go mg.modelLoop(m)
		}
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
	// Models that left the store: reconcile them too, which unloads them.
	for name, m := range mg.models {
		if !slices.Contains(names, name) {
			select {
			case m.kick <- struct{}{}:
			default:
			}
		}
	}
}

func (mg *manager) modelLoop(m *model) {
	defer mg.wg.Done()
	for {
		select {
		case <-mg.ctx.Done():
			return
		case <-m.kick:
			mg.reconcile(m)
		}
	}
}

func (mg *manager) generation() int64 {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	return mg.gen
}

// reconcile brings one model in line with the store: it loads what the
// policy asks for, flips the serving pointer, and unloads what is no longer
// wanted. Only the model's own loop calls it, so it never runs twice at once.
func (mg *manager) reconcile(m *model) {
	ctx := mg.ctx
	gen := mg.generation()
	versions, err := mg.store.Versions(ctx, m.name)
	if err != nil {
		if ctx.Err() == nil {
			mg.log.Error("list versions", "model", m.name, "err", err)
		}
		return
	}
	policy, err := mg.store.Policy(ctx, m.name)
	if err != nil {
		mg.log.Error("read policy", "model", m.name, "err", err)
		// Keep the previous policy: a torn read must not flip versions.
		m.mu.Lock()
		policy = m.policy
		m.mu.Unlock()
	}
	m.mu.Lock()
	m.policy = policy
	m.inStore = versions
	for num, st := range m.status {
		if !slices.Contains(versions, num) && !st.loading {
			delete(m.status, num)
		}
	}
	m.mu.Unlock()

	old := m.snap.Load()
	loaded := make(map[int64]*version, len(old.loaded)+1)
	for num, v := range old.loaded {
		loaded[num] = v
	}
	var fresh []*version // loaded by this call, owned until placed

	// ensure returns the loaded version num, loading it if needed.
	ensure := func(num int64) *version {
		if v, ok := loaded[num]; ok {
			return v
		}
		if !slices.Contains(versions, num) || mg.failedAt(m, num, gen) {
			return nil
		}
		v, err := mg.load(ctx, m, num, gen)
		if err != nil {
			return nil
		}
		loaded[num] = v
		fresh = append(fresh, v)
		return v
	}

	// The version to serve: the pinned one, or the latest; when it cannot
	// be loaded, keep the current one, or else fall back to the newest
	// lower version that loads.
	var target int64
	if policy.Pinned > 0 {
		target = policy.Pinned
	} else if len(versions) > 0 {
		target = versions[len(versions)-1]
	}
	serving := old.serving
	if target > 0 {
		if v := ensure(target); v != nil {
			serving = v
		} else if serving == nil || !slices.Contains(versions, serving.num) {
			serving = nil
			for i := len(versions) - 1; i >= 0 && serving == nil; i-- {
				if versions[i] < target || policy.Pinned > 0 {
					serving = ensure(versions[i])
				}
			}
		}
	} else if len(versions) == 0 {
		serving = nil
	}

	// What stays loaded: the serving version, every labelled version, and
	// the previous serving version when asked to keep it warm.
	keep := map[int64]bool{}
	if serving != nil {
		keep[serving.num] = true
	}
	labels := make(map[string]int64, len(policy.Labels))
	for label, num := range policy.Labels {
		labels[label] = num
		if ensure(num) != nil {
			keep[num] = true
		}
	}
	if mg.cfg.keepPrevious && serving != nil {
		if prev := m.previous(serving.num); prev > 0 && ensure(prev) != nil {
			keep[prev] = true
		}
	}
	for num, w := range policy.Weights {
		if w > 0 && ensure(num) != nil {
			keep[num] = true
		}
	}
	next := &snapshot{serving: serving, loaded: make(map[int64]*version, len(keep)), labels: labels}
	var drop []*version
	for num, v := range loaded {
		if keep[num] {
			next.loaded[num] = v
		} else {
			drop = append(drop, v)
		}
	}
	next.split = newSplit(policy.Weights, next.loaded)
	m.snap.Store(next)

	if serving != old.serving {
		from, to := int64(0), int64(0)
		if old.serving != nil {
			from = old.serving.num
		}
		if serving != nil {
			to = serving.num
			m.mu.Lock()
			if n := len(m.history); n == 0 || m.history[n-1] != to {
				m.history = append(m.history, to)
				if len(m.history) > 64 {
					m.history = m.history[len(m.history)-64:]
				}
			}
			m.mu.Unlock()
		}
		mg.metrics.swaps.WithLabelValues(m.name).Inc()
		mg.metrics.serving.WithLabelValues(m.name).Set(float64(to))
		mg.log.Info("model swapped", "model", m.name, "from", from, "to", to)
	}
	for _, v := range drop {
		if v.refs.Load() > 1 {
			m.mu.Lock()
			m.draining[v.num] = v
			m.mu.Unlock()
			mg.log.Info("version draining", "model", m.name, "version", v.num, "in_flight", v.inFlight(true))
		}
		v.release()
	}
	mg.onState()
	mg.maybeReady()
	mg.broadcast()
}

// broadcast wakes everyone waiting in waitChange.
func (mg *manager) broadcast() {
	mg.mu.Lock()
	close(mg.changed)
	mg.changed = make(chan struct{})
	mg.mu.Unlock()
}

// changes returns a channel closed at the next state change.
func (mg *manager) changes() <-chan struct{} {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	return mg.changed
}

// previous returns the newest version that served before cur, is still in
// the store and has not failed, or 0.
func (m *model) previous(cur int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.history) - 1; i >= 0; i-- {
		num := m.history[i]
		if num == cur || !slices.Contains(m.inStore, num) {
			continue
		}
		if st := m.status[num]; st != nil && st.err != nil {
			continue
		}
		return num
	}
	return 0
}

// failedAt reports whether num failed to load since the store last changed:
// such a version is not retried until the store changes again.
func (mg *manager) failedAt(m *model, num, gen int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status[num]
	return st != nil && st.err != nil && st.errGen == gen
}

// load opens, loads and warms one version in a fresh predictor.
func (mg *manager) load(ctx context.Context, m *model, num, gen int64) (*version, error) {
	m.mu.Lock()
	m.status[num] = &versionStatus{loading: true}
	m.mu.Unlock()
	mg.onState()
	start := time.Now()
	mg.log.Info("loading version", "model", m.name, "version", num)
	v, err := mg.loadVersion(ctx, m, num)
	dur := time.Since(start)
	mg.metrics.loadSeconds.WithLabelValues(m.name).Observe(dur.Seconds())
	m.mu.Lock()
	if err != nil {
		m.status[num] = &versionStatus{err: err, errGen: gen, loadDur: dur}
	} else {
		m.status[num] = &versionStatus{loadDur: dur, loadedAt: v.loadedAt}
	}
	m.mu.Unlock()
	mg.broadcast()
	if err != nil {
		mg.metrics.loads.WithLabelValues(m.name, "error").Inc()
		if ctx.Err() == nil {
			mg.log.Error("version failed to load", "model", m.name, "version", num, "err", err, "seconds", dur.Seconds())
		}
		return nil, err
	}
	mg.metrics.loads.WithLabelValues(m.name, "ok").Inc()
	mg.log.Info("version loaded", "model", m.name, "version", num, "seconds", dur.Seconds())
	return v, nil
}

func (mg *manager) loadVersion(ctx context.Context, m *model, num int64) (_ *version, err error) {
	ctx, cancel := context.WithTimeout(ctx, mg.cfg.loadTimeout)
	defer cancel()
	dir, err := mg.store.Open(ctx, m.name, num)
	if err != nil {
		return nil, err
	}
	p := m.factory()
	if p == nil {
		return nil, errors.New("the predictor factory returned nil")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("load panicked: %v", r)
		}
		if err != nil {
			closePredictor(p)
		}
	}()
	if err := p.Load(ctx, dir); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	v := &version{
		mgr:    mg,
		model:  m.name,
		num:    num,
		dir:    dir,
		p:      p,
		call:   p,
		m:      mg.metrics.forVersion(m.name, num),
		closed: make(chan struct{}),
	}
	if w, ok := p.(predict.Warmer); ok {
		if err := w.Warm(ctx); err != nil {
			return nil, fmt.Errorf("warm: %w", err)
		}
	}
	if err := warmFromFile(ctx, p, filepath.Join(dir, WarmupFile)); err != nil {
		return nil, err
	}
	v.call, err = mg.wrapBatching(v)
	if err != nil {
		return nil, err
	}
	v.loadedAt = time.Now()
	v.refs.Store(1)
	return v, nil
}

// warmFromFile runs the sample requests of a warm-up file, if there is one.
func warmFromFile(ctx context.Context, p predict.Predictor, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		in, opt, err := jsonvalue.ParseExample(sc.Bytes())
		if err != nil {
			return fmt.Errorf("warm-up %s line %d: %w", WarmupFile, line, err)
		}
		if _, err := p.Predict(ctx, in, opt); err != nil {
			return fmt.Errorf("warm-up %s line %d: %w", WarmupFile, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

func closePredictor(p predict.Predictor) error {
	if c, ok := p.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// unload closes a version whose last reference was released.
func (mg *manager) unload(v *version) {
	mg.closes.Add(1)
	go func() {
		defer mg.closes.Done()
		defer close(v.closed)
		if v.batcher != nil {
			v.batcher.Close() // drains its queue first
		}
		if err := closePredictor(v.p); err != nil {
			mg.log.Error("close version", "model", v.model, "version", v.num, "err", err)
		}
		mg.metrics.forget(v.model, v.num)
		if m := mg.table.Load().byName[v.model]; m != nil {
			m.mu.Lock()
			if m.draining[v.num] == v {
				delete(m.draining, v.num)
			}
			m.mu.Unlock()
		}
		mg.log.Info("version unloaded", "model", v.model, "version", v.num)
	}()
}

// lookup returns the named model, or the default one for "". It takes no
// lock: it runs on every request.
func (mg *manager) lookup(name string) (*model, error) {
	t := mg.table.Load()
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

func (mg *manager) defaultModel() string { return mg.table.Load().def }

// modelList returns the models sorted by name.
func (mg *manager) modelList() []*model { return mg.table.Load().sorted }

// maybeReady closes the ready channel once the default model serves.
func (mg *manager) maybeReady() {
	m := mg.table.Load().byName[mg.defaultModel()]
	if m == nil || m.snap.Load().serving == nil {
		return
	}
	mg.mu.Lock()
	defer mg.mu.Unlock()
	select {
	case <-mg.ready:
	default:
		close(mg.ready)
	}
}

// acquire returns a referenced version of the model for one request: the
// pinned version, the labelled one, or the serving one.
func (m *model) acquire(num int64, label string) (*version, error) {
	for {
		s := m.snap.Load()
		var v *version
		switch {
		case num > 0:
			v = s.loaded[num]
			if v == nil {
				return nil, predict.Errorf(codes.NotFound, "model %q version %d is not loaded (loaded: %v)", m.name, num, loadedNums(s))
			}
		case label != "":
			n, ok := s.labels[label]
			if !ok {
				return nil, predict.Errorf(codes.NotFound, "model %q has no label %q", m.name, label)
			}
			v = s.loaded[n]
			if v == nil {
				return nil, predict.Errorf(codes.NotFound, "model %q label %q points at version %d, which is not loaded", m.name, label, n)
			}
		case s.split != nil:
			v = s.split.pick()
		default:
			v = s.serving
			if v == nil {
				return nil, predict.Errorf(codes.Unavailable, "model %q has no version loaded yet", m.name)
			}
		}
		if v.acquire() {
			return v, nil
		}
		// The version was unloaded between reading the snapshot and taking
		// the reference; a newer snapshot is already in place.
	}
}

// acquireServing returns a referenced serving version, ignoring any
// traffic split: for health checks and evaluations.
func (m *model) acquireServing() (*version, error) {
	for {
		v := m.snap.Load().serving
		if v == nil {
			return nil, predict.Errorf(codes.Unavailable, "model %q has no version loaded yet", m.name)
		}
		if v.acquire() {
			return v, nil
		}
	}
}

func loadedNums(s *snapshot) []int64 {
	nums := make([]int64, 0, len(s.loaded))
	for n := range s.loaded {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums
}

// close unloads every version and stops the loops. Versions with requests
// in flight close when the last one finishes; close waits for that until
// ctx ends.
func (mg *manager) close(ctx context.Context) {
	mg.cancel()
	mg.wg.Wait() // no load or swap runs past this point
	var pending []*version
	for _, m := range mg.modelList() {
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
	mg.onState()
	for _, v := range pending {
		select {
		case <-v.closed:
		case <-ctx.Done():
			return
		}
	}
	mg.closes.Wait()
}
