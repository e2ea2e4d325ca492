package engine

import (
	"context"
	"time"

	"github.com/swapwire/swapwire/predict"
)

// healthLoop polls the serving versions whose predictors implement
// predict.Checker, and reports a change of any model's health.
func (e *Engine) healthLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		if e.checkHealth() {
			e.cfg.OnChange()
			e.broadcast()
		}
	}
}

// checkHealth runs one round of checks and reports whether any model's
// health changed.
func (e *Engine) checkHealth() bool {
	changed := false
	for _, m := range e.modelList() {
		v, err := m.acquireServing()
		var herr error
		if err == nil {
			if c, ok := v.p.(predict.Checker); ok {
				ctx, cancel := context.WithTimeout(e.ctx, e.cfg.HealthInterval)
				herr = c.Check(ctx)
				cancel()
			}
			v.release()
		}
		if e.ctx.Err() != nil {
			return false
		}
		m.mu.Lock()
		if (herr == nil) != (m.health == nil) {
			changed = true
			if herr != nil {
				e.log.Error("model unhealthy", "model", m.name, "error", herr)
			} else {
				e.log.Info("model healthy again", "model", m.name)
			}
		}
		m.health = herr
		m.mu.Unlock()
	}
	return changed
}

// Serving reports whether the model ("" for the default) serves a version
// and its predictor, if it can tell, says it is healthy.
func (e *Engine) Serving(model string) bool {
	m, err := e.lookup(model)
	if err != nil {
		return false
	}
	if m.snap.Load().serving == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.health == nil
}

// ServingStates reports for every model whether it serves, as Serving
// does, without building whole statuses: health reporting calls it after
// every change.
func (e *Engine) ServingStates() map[string]bool {
	list := e.modelList()
	out := make(map[string]bool, len(list))
	for _, m := range list {
		ok := m.snap.Load().serving != nil
		if ok {
			m.mu.Lock()
			ok = m.health == nil
			m.mu.Unlock()
		}
		out[m.name] = ok
	}
	return out
}
