package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/swapwire/swapwire/internal/jsonvalue"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

// WarmupFile is the name of an optional file in a version directory with
// sample requests, one JSON object per line (see the README), that are run
// through a new version before it takes traffic. Any error fails the version.
const WarmupFile = "warmup.jsonl"

// sync finds the store's models, starts a loop for new ones and kicks all.
func (e *Engine) sync() {
	names, err := e.store.Models(e.ctx)
	if err != nil {
		if e.ctx.Err() == nil {
			e.log.Error("list models", "error", err)
		}
		return
	}
	if len(e.cfg.Models) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(e.cfg.Models, n) })
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return
	}
	added := false
	defer func() {
		if added {
			e.publishTable()
		}
	}()
	for _, name := range names {
		m, ok := e.models[name]
		if !ok {
			f := e.cfg.Factory
			if mf, ok := e.cfg.Factories[name]; ok {
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
			e.models[name] = m
			added = true
			e.wg.Add(1)
			go e.modelLoop(m)
		}
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
	// Models that left the store: reconcile them too, which unloads them.
	for name, m := range e.models {
		if !slices.Contains(names, name) {
			select {
			case m.kick <- struct{}{}:
			default:
			}
		}
	}
}

func (e *Engine) modelLoop(m *model) {
	defer e.wg.Done()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-m.kick:
			e.reconcile(m)
		}
	}
}

// reconcile brings one model in line with the store: it loads what the
// policy asks for, flips the serving pointer, and unloads what is no longer
// wanted. Only the model's own loop calls it, so it never runs twice at once.
func (e *Engine) reconcile(m *model) {
	ctx := e.ctx
	gen := e.generation()
	versions, err := e.store.Versions(ctx, m.name)
	if err != nil {
		if ctx.Err() == nil {
			e.storeFault(m, fmt.Errorf("list versions: %w; keeping the last good state", err))
		}
		return
	}
	policy, err := e.store.Policy(ctx, m.name)
	var policyErr error
	known := err == nil
	m.mu.Lock()
	if err != nil {
		// Keep the last good policy: the one in memory, else (after a
		// restart) the store's last good copy. With neither, nothing is
		// known of what should serve, so nothing new is loaded.
		policyErr = fmt.Errorf("read policy: %w", err)
		var pe *modelstore.PolicyError
		switch {
		case m.policyKnown:
			policy, known = m.policy, true
		case errors.As(err, &pe) && pe.HasLastGood:
			policy, known = pe.LastGood, true
		}
	}
	if known {
		m.policy = policy
		m.policyKnown = true
	}
	m.inStore = versions
	for num, st := range m.status {
		if !slices.Contains(versions, num) && !st.loading {
			delete(m.status, num)
		}
	}
	m.mu.Unlock()
	if !known {
		e.storeFault(m, fmt.Errorf("%w; no last good policy is known, so no version is loaded", policyErr))
		return
	}

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
		if !slices.Contains(versions, num) || e.failedAt(m, num, gen) {
			return nil
		}
		v, err := e.load(ctx, m, num, gen)
		if err != nil {
			return nil
		}
		loaded[num] = v
		fresh = append(fresh, v)
		return v
	}

	// The version to serve: the pinned one, or the latest; when it cannot
	// be loaded, keep the current one, or else fall back to the newest
	// lower version that loads, never a newer one. A store that lists no
	// version (a volume that did not mount, a root emptied by mistake)
	// unloads nothing: the current version keeps serving (fail-static).
	var target int64
	if policy.Pinned > 0 {
		target = policy.Pinned
	} else if len(versions) > 0 {
		target = versions[len(versions)-1]
	}
	serving := old.serving
	var fault error
	switch {
	case len(versions) == 0:
		if serving != nil {
			fault = fmt.Errorf("the store lists no version of %s; version %d keeps serving until it does", m.name, serving.num)
		}
	case target > 0:
		if v := ensure(target); v != nil {
			serving = v
		} else if serving == nil || !slices.Contains(versions, serving.num) {
			var fallback *version
			for i := len(versions) - 1; i >= 0 && fallback == nil; i-- {
				if versions[i] < target {
					fallback = ensure(versions[i])
				}
			}
			if fallback != nil {
				serving = fallback
			} else if serving != nil {
				fault = fmt.Errorf("version %d left the store and no version at or below %d loads; it keeps serving", serving.num, target)
			}
		}
	}
	if fault == nil {
		fault = policyErr
	}
	e.setStoreFault(m, fault)

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
	if e.cfg.KeepPrevious && serving != nil {
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
		e.metrics.swaps.WithLabelValues(m.name).Inc()
		e.metrics.serving.WithLabelValues(m.name).Set(float64(to))
		e.log.Info("model swapped", "model", m.name, "from", from, "to", to)
	}
	for _, v := range drop {
		if v.refs.Load() > 1 {
			m.mu.Lock()
			m.draining[v.num] = v
			m.mu.Unlock()
			e.log.Info("version draining", "model", m.name, "version", v.num, "in_flight", v.inFlight(true))
		}
		v.release()
	}
	e.cfg.OnChange()
	e.maybeReady()
	e.broadcast()
}

// storeFault records that the store failed the model and the last good
// state was kept.
func (e *Engine) storeFault(m *model, err error) {
	e.setStoreFault(m, err)
	e.cfg.OnChange()
	e.broadcast()
}

// setStoreFault records err (nil when the store answered well) in the
// model's status and metric, and logs each change of it.
func (e *Engine) setStoreFault(m *model, err error) {
	m.mu.Lock()
	prev := m.storeErr
	m.storeErr = err
	m.mu.Unlock()
	switch {
	case err != nil:
		e.metrics.storeFault.WithLabelValues(m.name).Set(1)
		if prev == nil || prev.Error() != err.Error() {
			e.log.Error("store fault; keeping the last good state", "model", m.name, "error", err)
		}
	case prev != nil:
		e.metrics.storeFault.WithLabelValues(m.name).Set(0)
		e.log.Info("store recovered", "model", m.name)
	default:
		e.metrics.storeFault.WithLabelValues(m.name).Set(0)
	}
}

// failedAt reports whether num failed to load since the store last changed:
// such a version is not retried until the store changes again.
func (e *Engine) failedAt(m *model, num, gen int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status[num]
	return st != nil && st.err != nil && st.errGen == gen
}

// load opens, loads and warms one version in a fresh predictor.
func (e *Engine) load(ctx context.Context, m *model, num, gen int64) (*version, error) {
	m.mu.Lock()
	m.status[num] = &versionStatus{loading: true}
	m.mu.Unlock()
	e.cfg.OnChange()
	start := time.Now()
	e.log.Info("loading version", "model", m.name, "version", num)
	v, err := e.loadVersion(ctx, m, num)
	dur := time.Since(start)
	e.metrics.loadSeconds.WithLabelValues(m.name).Observe(dur.Seconds())
	m.mu.Lock()
	if err != nil {
		m.status[num] = &versionStatus{err: err, errGen: gen, loadDur: dur}
	} else {
		m.status[num] = &versionStatus{loadDur: dur, loadedAt: v.loadedAt}
	}
	m.mu.Unlock()
	e.broadcast()
	if err != nil {
		e.metrics.loads.WithLabelValues(m.name, "error").Inc()
		if ctx.Err() == nil {
			e.log.Error("version failed to load", "model", m.name, "version", num, "error", err, "seconds", dur.Seconds())
		}
		return nil, err
	}
	e.metrics.loads.WithLabelValues(m.name, "ok").Inc()
	e.log.Info("version loaded", "model", m.name, "version", num, "seconds", dur.Seconds())
	return v, nil
}

func (e *Engine) loadVersion(ctx context.Context, m *model, num int64) (_ *version, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.LoadTimeout)
	defer cancel()
	dir, err := e.store.Open(ctx, m.name, num)
	if err != nil {
		return nil, err
	}
	// Loading runs beside the serving version, on the processors that serve
	// requests. Yield between its stages (verify, Load, warm-up) so that
	// requests queued meanwhile run first: with one P, a load that never
	// yields holds them for its whole CPU burst.
	runtime.Gosched()
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
	if err := e.loadBounded(ctx, m, num, p, dir); err != nil {
		p = nil // closed by loadBounded, now or when its Load returns
		return nil, err
	}
	runtime.Gosched()
	v := &version{
		eng:    e,
		model:  m.name,
		num:    num,
		dir:    dir,
		p:      p,
		call:   p,
		m:      e.metrics.forVersion(m.name, num),
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
	v.call, err = e.wrapBatching(v)
	if err != nil {
		return nil, err
	}
	v.loadedAt = time.Now()
	v.refs.Store(1)
	return v, nil
}

// loadBounded runs p.Load, but returns when ctx ends (the load timeout)
// even if Load ignores its context: the hung Load is abandoned, and p is
// closed if it ever returns, so the model can load another version.
func (e *Engine) loadBounded(ctx context.Context, m *model, num int64, p predict.Predictor, dir string) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("load panicked: %v", r)
			}
		}()
		done <- p.Load(ctx, dir)
	}()
	select {
	case err := <-done:
		if err != nil {
			closePredictor(p)
			return fmt.Errorf("load: %w", err)
		}
		return nil
	case <-ctx.Done():
		e.log.Error("load ignored its deadline; abandoned", "model", m.name, "version", num)
		// Not counted in e.closes: a Load that never returns must not hold
		// the engine's Close too.
		go func() {
			<-done
			closePredictor(p)
		}()
		return fmt.Errorf("load: %w (the predictor's Load ignored it and was abandoned)", ctx.Err())
	}
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
func (e *Engine) unload(v *version) {
	e.closes.Add(1)
	go func() {
		defer e.closes.Done()
		defer close(v.closed)
		if v.batcher != nil {
			v.batcher.Close() // drains its queue first
		}
		if err := closePredictor(v.p); err != nil {
			e.log.Error("close version", "model", v.model, "version", v.num, "error", err)
		}
		e.metrics.forget(v.model, v.num)
		if m := e.table.Load().byName[v.model]; m != nil {
			m.mu.Lock()
			if m.draining[v.num] == v {
				delete(m.draining, v.num)
			}
			m.mu.Unlock()
		}
		e.log.Info("version unloaded", "model", v.model, "version", v.num)
	}()
}
