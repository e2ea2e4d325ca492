package s3store

import (
	"context"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/swapwire/swapwire/modelstore"
)

// Watch returns a channel (capacity 1) that receives a value soon after a
// version is committed or deleted, a model appears or goes, or a policy is
// written. It lists the whole prefix every poll interval, lengthened or
// shortened at random by the jitter fraction, and compares the ETags of
// every manifest and policy. A poll that fails sends nothing (a store
// that cannot be read is never taken for an empty one): it is logged once
// when the store starts failing, counted in swapwire_store_errors_total,
// reported by Err, and the next poll waits twice as long, up to the
// maximum backoff. The first poll that succeeds again logs the recovery
// and sends a value so the receiver rescans. The channel is closed, and the
// goroutine has returned, soon after ctx ends.
func (s *Store) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(chan struct{}, 1)
	snap, err := s.snapshot(ctx)
	if err != nil {
		s.failed(err)
	}
	go s.poll(ctx, out, snap, err != nil)
	return out, nil
}

func (s *Store) poll(ctx context.Context, out chan struct{}, snap map[string]string, failing bool) {
	defer close(out)
	wait := s.cfg.poll
	if failing {
		wait = min(2*s.cfg.poll, s.cfg.maxBackoff)
	}
	t := time.NewTimer(s.jittered(wait))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, err := s.snapshot(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.failed(err)
			if !failing {
				wait = s.cfg.poll
			}
			failing = true
			wait = min(2*wait, s.cfg.maxBackoff)
		default:
			changed := snap == nil || !maps.Equal(next, snap)
			if failing {
				s.recovered()
				failing, changed = false, true
			}
			snap, wait = next, s.cfg.poll
			if changed {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
		t.Reset(s.jittered(wait))
	}
}

// jittered returns d lengthened or shortened by up to the jitter fraction.
func (s *Store) jittered(d time.Duration) time.Duration {
	if s.cfg.jitter == 0 {
		return d
	}
	f := 1 + s.cfg.jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * f)
}

func (s *Store) failed(err error) {
	s.mu.Lock()
	first := s.lastErr == nil
	s.lastErr = err
	s.mu.Unlock()
	s.up.Set(0)
	if first {
		s.log.Error("model store unavailable; serving what is loaded and retrying with backoff", "store", s.String(), "error", err)
	} else {
		s.log.Debug("model store still unavailable", "store", s.String(), "error", err)
	}
}

func (s *Store) recovered() {
	s.mu.Lock()
	s.lastErr = nil
	s.mu.Unlock()
	s.up.Set(1)
	s.log.Info("model store available again", "store", s.String())
}

// snapshot maps every model ("m/"), manifest and policy key to its ETag.
func (s *Store) snapshot(ctx context.Context) (map[string]string, error) {
	objs, err := s.list(ctx, "poll", "")
	if err != nil {
		return nil, err
	}
	snap := make(map[string]string)
	for _, o := range objs {
		model, ver, rest, ok := split(o.key)
		if !ok {
			continue
		}
		snap[model+"/"] = ""
		switch {
		case ver == modelstore.PolicyName && rest == "":
			snap[o.key] = o.etag
		case rest == modelstore.ManifestName:
			if _, ok := modelstore.ParseVersion(ver); ok {
				snap[o.key] = o.etag
			}
		}
	}
	return snap, nil
}
