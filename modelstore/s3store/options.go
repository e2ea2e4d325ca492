package s3store

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for [New].
const (
	// DefaultPollInterval is how often Watch lists the store.
	DefaultPollInterval = 10 * time.Second
	// DefaultPollJitter is the fraction by which each poll interval is
	// randomly lengthened or shortened, so replicas do not poll in step.
	DefaultPollJitter = 0.2
	// DefaultMaxBackoff bounds the wait between polls while the store
	// fails.
	DefaultMaxBackoff = time.Minute
	// DefaultCacheMaxBytes bounds the cache directory: 20 GiB.
	DefaultCacheMaxBytes = 20 << 30
)

// An Option configures a [Store].
type Option interface{ apply(*config) }

type config struct {
	poll       time.Duration
	jitter     float64
	maxBackoff time.Duration
	cacheMax   int64
	keep       int
	logger     *slog.Logger
	reg        prometheus.Registerer
	// beforeManifest, when set, runs in Commit after the files are
	// uploaded and before the manifest is; tests kill the process there.
	beforeManifest func()
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithPollInterval sets how often Watch lists the store (default
// [DefaultPollInterval]). It must be positive.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.poll = d })
}

// WithPollJitter sets the fraction, from 0 to 0.9, by which each poll
// interval is randomly lengthened or shortened (default
// [DefaultPollJitter]).
func WithPollJitter(f float64) Option {
	return optionFunc(func(c *config) { c.jitter = f })
}

// WithMaxBackoff bounds the wait between polls while the store keeps
// failing (default [DefaultMaxBackoff]); the wait doubles from the poll
// interval up to it.
func WithMaxBackoff(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxBackoff = d })
}

// WithCacheMaxBytes bounds the bytes of versions kept in the cache
// directory (default [DefaultCacheMaxBytes]). After each download the least
// recently opened versions are removed until the cache fits, except the
// few most recently opened ones (serving, previous, canary), so the cache
// may exceed the bound when those alone do.
func WithCacheMaxBytes(n int64) Option {
	return optionFunc(func(c *config) { c.cacheMax = n })
}

// WithLogger sets the logger for store failures and recoveries. Nothing
// secret is logged: only the bucket, prefix, keys and errors.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithRegisterer registers the store's metrics:
// swapwire_store_up (1 while the last poll succeeded) and
// swapwire_store_errors_total{op}.
func WithRegisterer(r prometheus.Registerer) Option {
	return optionFunc(func(c *config) { c.reg = r })
}
