package modelstore

import (
	"log/slog"
	"time"
)

// Defaults for [NewLocal].
const (
	// DefaultPollInterval is how often Watch rescans the store when no
	// WithPollInterval option is given.
	DefaultPollInterval = 2 * time.Second
	// DefaultDebounce is how long Watch waits for a burst of changes to
	// settle when no WithDebounce option is given.
	DefaultDebounce = 100 * time.Millisecond
)

// A LocalOption configures a [Local] store.
type LocalOption interface {
	applyLocal(*localConfig)
}

type localConfig struct {
	poll        time.Duration
	fsnotify    bool
	debounce    time.Duration
	maxWait     time.Duration
	logger      *slog.Logger
	verifyCache bool
}

type localOptionFunc func(*localConfig)

func (f localOptionFunc) applyLocal(c *localConfig) { f(c) }

// WithPollInterval sets how often Watch rescans the store for changes, a
// backstop for file systems that send no events (NFS, object-store mounts).
// Zero disables polling. The default is [DefaultPollInterval].
func WithPollInterval(d time.Duration) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.poll = d })
}

// WithFSNotify turns file-system notifications (inotify, kqueue, ...) on or
// off. With false, Watch relies on polling alone. The default is true.
func WithFSNotify(on bool) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.fsnotify = on })
}

// WithDebounce sets how long Watch waits after a change for more changes
// before it notifies, so that a burst of changes gives one notification. A
// steady stream of changes still notifies at least every ten debounce
// intervals (and at least once a second). Zero notifies at once. The default
// is [DefaultDebounce].
func WithDebounce(d time.Duration) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.debounce = d })
}

// WithLogger sets the logger for problems the store works around, such as a
// file-system watch that could not be set up. By default nothing is logged.
func WithLogger(l *slog.Logger) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.logger = l })
}

// WithVerifyCache turns the verification cache on or off; it is off by
// default, so every Open hashes every file. With the cache, Open remembers the identity, size and modification time of
// every file of a version it verified, and a later Open of the same version
// rehashes nothing if none of them changed. A change that keeps a file's
// inode, size and modification time (a deliberate forgery, or bit rot on
// the disk) then goes unnoticed until the process restarts; turn the cache
// off to hash every file on every Open.
func WithVerifyCache(on bool) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.verifyCache = on })
}
