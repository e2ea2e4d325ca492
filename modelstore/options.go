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
	// DefaultVerifyMaxAge is how long a version's verification is trusted
	// when no WithVerifyMaxAge option is given (see WithVerifyCache).
	DefaultVerifyMaxAge = time.Minute
)

// A LocalOption configures a [Local] store.
type LocalOption interface {
	applyLocal(*localConfig)
}

type localConfig struct {
	poll         time.Duration
	fsnotify     bool
	debounce     time.Duration
	maxWait      time.Duration
	logger       *slog.Logger
	verifyCache  bool
	verifyMaxAge time.Duration
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

// WithVerifyCache turns the verification cache on or off; it is on by
// default. Open always checks a version's manifest against the files in
// its directory (missing, extra or resized files fail it). Without the
// cache it also hashes every file on every Open. With the cache, an Open
// of a version this store hashed less than the maximum age ago (see
// WithVerifyMaxAge) skips the hashing when all of these hold:
//
//   - neither the manifest nor any file changed identity (device and
//     inode), size, mode, modification time or, on Linux, inode change
//     time: any write, truncation, rename or os.Chtimes through the file
//     system sets the change time, and nothing sets it back, so a rewrite
//     that restores size and modification time is still caught;
//   - on Linux, every page of every file is in the page cache (mincore(2)):
//     the predictor's Load then reads memory, not the disk. A page that was
//     dropped from the cache would be read back from the disk, so the
//     version is hashed again, and bit rot on the disk is caught on that
//     read as without the cache. On other systems the cache never skips.
//
// What the cache does not catch: bytes that change on the disk without
// any file-system call and are read back into the page cache between two
// Opens less than the maximum age apart (the pages were dropped and read
// again by another reader in between), or memory that changes in the page
// cache itself. Neither is caught without the cache either once the version
// is loaded; hashing reads the page cache too, and a verified file may be
// read by Load only after it was hashed. Turn the cache off to hash every
// file on every Open.
func WithVerifyCache(on bool) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.verifyCache = on })
}

// WithVerifyMaxAge sets how long the verify cache trusts a version's last
// hashing; after that its next Open hashes every file again. Zero or less
// hashes on every Open, like WithVerifyCache(false). The default is
// [DefaultVerifyMaxAge].
func WithVerifyMaxAge(d time.Duration) LocalOption {
	return localOptionFunc(func(c *localConfig) { c.verifyMaxAge = d })
}
