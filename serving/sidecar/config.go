package sidecar

import (
	"log/slog"
	"runtime"
	"slices"
	"time"
)

// Defaults for the zero fields of a [Config].
const (
	DefaultStartTimeout      = 60 * time.Second
	DefaultStopTimeout       = 5 * time.Second
	DefaultRestartBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff        = 10 * time.Second
	DefaultMaxRestarts       = 5
	DefaultRestartWindow     = time.Minute
	DefaultMaxMessageSize    = 64 << 20
	DefaultWatchdogGrace     = 5 * time.Second
	DefaultGiveUpCooldown    = 30 * time.Second
	DefaultMaxGiveUpCooldown = 5 * time.Minute
	// StderrTailLines is how many of a worker's last stderr lines an error
	// about it carries.
	StderrTailLines = 20
)

// Config describes a pool of worker processes. The zero value of every
// field but Command selects a default.
type Config struct {
	// Command is the worker's argv, such as {"python3", "model.py"}. Required.
	Command []string
	// Env holds "KEY=value" entries added to the server's own environment.
	// The protocol variables SWAPWIRE_WORKER_PROTOCOL and
	// SWAPWIRE_WORKER_ADDR are set last and cannot be overridden.
	Env []string
	// Dir is the workers' working directory; empty for the server's.
	Dir string
	// Workers is the number of worker processes; default runtime.NumCPU().
	// Each answers one request at a time.
	Workers int
	// StartTimeout bounds the start of one worker: the ready line, Info and
	// Load. Default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long a worker may take to exit after SIGTERM
	// before it gets SIGKILL. Default 5s.
	StopTimeout time.Duration
	// RestartBackoff is the delay before the first restart of a crashed
	// worker; it doubles with each consecutive failure up to MaxBackoff.
	// Defaults 100ms and 10s.
	RestartBackoff time.Duration
	// MaxBackoff caps the restart delay. Default 10s.
	MaxBackoff time.Duration
	// MaxRestarts is how many restarts of one worker slot RestartWindow
	// allows; past it the slot is given up for a cool-down (a crash loop).
	// Default 5; negative means a crashed worker is restarted only after
	// the cool-down.
	MaxRestarts int
	// RestartWindow is the window of MaxRestarts. Default one minute.
	RestartWindow time.Duration
	// GiveUpCooldown is how long a crash-looped slot waits before it is
	// tried again with a fresh restart budget; it doubles with each
	// consecutive give-up of the slot up to MaxGiveUpCooldown. [Pool.Retry]
	// ends it early. Defaults 30s and 5m.
	GiveUpCooldown time.Duration
	// MaxGiveUpCooldown caps GiveUpCooldown's doubling. Default 5m.
	MaxGiveUpCooldown time.Duration
	// WatchdogGrace is how long past its deadline (or past its
	// cancellation) a request may keep its worker busy. The caller gets
	// its DEADLINE_EXCEEDED at the deadline; the worker is killed and
	// replaced at the deadline plus WatchdogGrace unless it answered by
	// then. Until then its slot takes no other request. Default 5s.
	WatchdogGrace time.Duration
	// SocketDir is where the private socket directory is created; default
	// os.TempDir(). Unix socket paths are limited to about 100 bytes.
	SocketDir string
	// MaxMessageSize caps a frame to or from a worker, in bytes.
	// Default 64 MiB.
	MaxMessageSize int
	// MaxQueue bounds the requests that may wait for an idle worker while
	// every worker is busy; one more fails at once with RESOURCE_EXHAUSTED.
	// Default 1024.
	MaxQueue int
	// QueueTimeout bounds how long a request waits for an idle worker
	// before it fails with RESOURCE_EXHAUSTED (its own deadline, if
	// sooner, ends the wait with DEADLINE_EXCEEDED). Default 30s.
	QueueTimeout time.Duration
	// Logger receives the pool's events and every line the workers write
	// to stdout and stderr. Nil discards them.
	Logger *slog.Logger
	// Model names the model in log records.
	Model string
}

// withDefaults returns a copy of c with defaults filled in.
func (c Config) withDefaults() Config {
	c.Command = slices.Clone(c.Command)
	c.Env = slices.Clone(c.Env)
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = DefaultRestartBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.RestartBackoff {
		c.MaxBackoff = c.RestartBackoff
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.RestartWindow <= 0 {
		c.RestartWindow = DefaultRestartWindow
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.GiveUpCooldown <= 0 {
		c.GiveUpCooldown = DefaultGiveUpCooldown
	}
	if c.MaxGiveUpCooldown <= 0 {
		c.MaxGiveUpCooldown = DefaultMaxGiveUpCooldown
	}
	if c.MaxGiveUpCooldown < c.GiveUpCooldown {
		c.MaxGiveUpCooldown = c.GiveUpCooldown
	}
	if c.WatchdogGrace <= 0 {
		c.WatchdogGrace = DefaultWatchdogGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// AttachConfig describes a worker that runs on its own, such as a model
// container next to the Swapwire container in one Kubernetes pod.
type AttachConfig struct {
	// Addr is the worker's address: "host:port", "tcp://host:port" or
	// "unix:///abs/path.sock". Required.
	Addr string
	// Concurrency is how many requests are sent to the worker at once.
	// Default 1.
	Concurrency int
	// StartTimeout bounds Load: reaching the worker, Info and its Load.
	// Default 60s.
	StartTimeout time.Duration
	// MaxMessageSize caps a frame to or from the worker, in bytes.
	// Default 64 MiB.
	MaxMessageSize int
	// Logger receives the attachment's events. Nil discards them.
	// MaxQueue and QueueTimeout bound the wait for one of the Concurrency
	// request slots, as in Config. Defaults 1024 and 30s.
	MaxQueue     int
	QueueTimeout time.Duration
	Logger       *slog.Logger
	// Model names the model in log records.
	Model string
}

func (c AttachConfig) withDefaults() AttachConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
