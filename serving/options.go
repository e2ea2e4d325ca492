package serving

import (
	"crypto/tls"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/predict"
)

// Factory returns a fresh, unloaded Predictor. The server calls it once per
// model version, so a new version loads while the old one serves.
type Factory func() predict.Predictor

// A ServerOption configures a Server, as grpc.ServerOption configures a
// grpc.Server.
type ServerOption interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// BatchConfig configures dynamic batching for models whose Predictor
// implements predict.BatchPredictor: MaxBatchSize (0 or 1 turns batching
// off), MaxDelay (how long a
// queued request may keep a free slot waiting for its batch to fill; never
// on an idle server; negative sends a partial batch as soon as a slot is
// free), Slots (batches at once; 0 means the predictor's
// concurrency, such as the workers of a pool, else GOMAXPROCS) and MaxQueue
// (requests waiting before RESOURCE_EXHAUSTED; 0 means 1024).
type BatchConfig = engine.BatchConfig

// WarmupFile is the name of an optional file in a version directory with
// sample requests, one JSON object per line (see the README), that are run
// through a new version before it takes traffic. Any error fails the version.
const WarmupFile = engine.WarmupFile

// BatchingFile is the name of an optional file in a version directory that
// overrides the server's batching for that version (see [WithBatching]).
const BatchingFile = engine.BatchingFile

// Protocol is one of the protocol front-ends a Server can mount.
type Protocol int

// The protocols. A server mounts all three unless [WithProtocols] says
// otherwise; grpc.health.v1 and server reflection are always on.
const (
	// Native is swapwire.v1: PredictionService and the admin ModelService.
	Native Protocol = 1 << iota
	// Rekcurd is rekcurd.RekcurdWorker, rekcurd.RekcurdDashboard and
	// rekcurd.Health, for existing Rekcurd clients.
	Rekcurd
	// OIP is the Open Inference Protocol v2 (inference.GRPCInferenceService,
	// KServe v2 / Triton) with Triton's repository extension.
	OIP
)

const allProtocols = Native | Rekcurd | OIP

type config struct {
	logger          *slog.Logger
	registerer      prometheus.Registerer
	name            string
	serviceLevel    string
	defaultModel    string
	models          []string
	factories       map[string]Factory
	maxMsgSize      int
	grpcOpts        []grpc.ServerOption
	keepPrevious    bool
	loadTimeout     time.Duration
	drainTimeout    time.Duration
	maxUploadBytes  int64
	batch           BatchConfig
	identities      []Identity
	devLoopback     bool
	plaintextTokens bool
	healthInterval  time.Duration
	requestLogRate  float64
	protocols       Protocol
	loggerSet       bool
	metricsAddr     string
	httpAddr        string
	httpTLS         *tls.Config
	shutdownAfter   time.Duration
	drainDelay      time.Duration
	maxStreams      uint32
	streamWorkers   uint32
	keepaliveMin    time.Duration
	maxConnAge      time.Duration
	maxConnGrace    time.Duration
	requestTimeout  time.Duration
	uploads         UploadLimits
	tracerProvider  trace.TracerProvider
}

func defaultConfig() config {
	return config{
		logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		name:           "swapwire",
		serviceLevel:   "development",
		maxMsgSize:     64 << 20,
		loadTimeout:    10 * time.Minute,
		drainTimeout:   time.Minute,
		maxUploadBytes: 4 << 30,
		healthInterval: 2 * time.Second,
		protocols:      allProtocols,
		shutdownAfter:  30 * time.Second,
		maxStreams:     DefaultMaxConcurrentStreams,
		streamWorkers:  DefaultStreamWorkers,
		keepaliveMin:   10 * time.Second,
		maxConnAge:     30 * time.Minute,
		maxConnGrace:   time.Minute,
		requestTimeout: time.Minute,
		uploads:        UploadLimits{MaxExtractedBytes: 4 << 30, MaxFiles: 10_000, MaxConcurrent: 4, IdleTimeout: time.Minute},
	}
}

// WithLogger sets the logger for loads, swaps, failures and admin actions.
// The default discards everything, except under [Run], which logs to
// slog.Default().
func WithLogger(l *slog.Logger) ServerOption {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
			c.loggerSet = true
		}
	})
}

// WithRegisterer registers the server's metrics (gRPC server metrics and
// Swapwire's per-model metrics) with reg. Without it the server keeps a
// private registry, which [Server.MetricsHandler] serves.
func WithRegisterer(reg prometheus.Registerer) ServerOption {
	return optionFunc(func(c *config) { c.registerer = reg })
}

// WithName sets the service name reported by ServiceInfo.
func WithName(name string) ServerOption {
	return optionFunc(func(c *config) { c.name = name })
}

// WithServiceLevel sets the service level reported by ServiceInfo, such as
// development, staging or production.
func WithServiceLevel(level string) ServerOption {
	return optionFunc(func(c *config) { c.serviceLevel = level })
}

// WithDefaultModel names the model used when a request names none. The
// default is the only model when the store has one, else the first by name.
func WithDefaultModel(name string) ServerOption {
	return optionFunc(func(c *config) { c.defaultModel = name })
}

// WithModels limits the server to the named models of the store.
func WithModels(names ...string) ServerOption {
	return optionFunc(func(c *config) { c.models = append([]string(nil), names...) })
}

// WithModelFactory uses f instead of the server's factory for one model, so
// one server can serve models built from different code.
func WithModelFactory(model string, f Factory) ServerOption {
	return optionFunc(func(c *config) {
		if c.factories == nil {
			c.factories = make(map[string]Factory)
		}
		c.factories[model] = f
	})
}

// WithMaxMessageSize caps received and sent gRPC messages, in bytes.
// The default is 64 MiB.
func WithMaxMessageSize(n int) ServerOption {
	return optionFunc(func(c *config) { c.maxMsgSize = n })
}

// WithGRPCOptions adds options to the grpc.Server that [Server.Serve] runs,
// such as grpc.Creds for TLS.
func WithGRPCOptions(opts ...grpc.ServerOption) ServerOption {
	return optionFunc(func(c *config) { c.grpcOpts = append(c.grpcOpts, opts...) })
}

// WithKeepPrevious keeps the previously serving version loaded after a
// swap, so that a rollback to it is instant.
func WithKeepPrevious(keep bool) ServerOption {
	return optionFunc(func(c *config) { c.keepPrevious = keep })
}

// WithLoadTimeout bounds one version's Load and warm-up. The default is 10 minutes.
func WithLoadTimeout(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.loadTimeout = d })
}

// WithDrainTimeout bounds how long Close waits for model versions to close
// (their last requests to finish and their Close methods to return). The
// default is one minute. Shutdown is bounded by its context instead.
func WithDrainTimeout(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.drainTimeout = d })
}

// WithMaxUploadBytes caps the size of one UploadModel archive. The default is 4 GiB.
func WithMaxUploadBytes(n int64) ServerOption {
	return optionFunc(func(c *config) { c.maxUploadBytes = n })
}

// WithBatching turns on dynamic batching for models whose Predictor
// implements predict.BatchPredictor. A version directory may override it
// with a batching.json file holding the same fields in snake case.
func WithBatching(b BatchConfig) ServerOption {
	return optionFunc(func(c *config) { c.batch = b })
}

// WithProtocols mounts only the given protocols, for example
// WithProtocols(Native, OIP). The default is all of them.
func WithProtocols(ps ...Protocol) ServerOption {
	return optionFunc(func(c *config) {
		c.protocols = 0
		for _, p := range ps {
			c.protocols |= p & allProtocols
		}
	})
}

// WithMetricsAddr makes [Run] serve /metrics over HTTP on addr, such as
// "127.0.0.1:9090". Servers started otherwise use [Server.ServeMetrics].
func WithMetricsAddr(addr string) ServerOption {
	return optionFunc(func(c *config) { c.metricsAddr = addr })
}

// WithShutdownTimeout bounds the graceful shutdown [Run] does on a signal;
// requests still running then are cut off. The default is 30 seconds.
func WithShutdownTimeout(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.shutdownAfter = d })
}

// WithIdentities lets the given identities make admin calls, each up to
// its role. Without any identity (and without [WithDevLoopbackAdmin]) every
// admin call is refused with a message saying how to configure one; the
// caller's address never decides. Options add up.
func WithIdentities(ids ...Identity) ServerOption {
	return optionFunc(func(c *config) { c.identities = append(c.identities, ids...) })
}

// WithDrainDelay sets how long Shutdown keeps accepting connections and
// requests after health turns NOT_SERVING, before it stops accepting: the
// time load balancers and Kubernetes endpoints take to stop sending
// traffic. The default is 0 for the library; swapwire serve uses 5 seconds.
func WithDrainDelay(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.drainDelay = max(d, 0) })
}

// UploadLimits bound UploadModel archives: the bytes their files extract
// to (sparse files are refused), the files and directories they hold, the
// uploads that may run at once (one more is RESOURCE_EXHAUSTED), and how
// long an upload may send nothing before it fails. The defaults are 4 GiB,
// 10,000 files, 4 uploads and one minute; a zero field keeps its default.
type UploadLimits struct {
	MaxExtractedBytes int64
	MaxFiles          int64
	MaxConcurrent     int
	IdleTimeout       time.Duration
}

// WithUploadLimits sets the upload limits; zero fields keep their defaults.
func WithUploadLimits(l UploadLimits) ServerOption {
	return optionFunc(func(c *config) {
		if l.MaxExtractedBytes > 0 {
			c.uploads.MaxExtractedBytes = l.MaxExtractedBytes
		}
		if l.MaxFiles > 0 {
			c.uploads.MaxFiles = l.MaxFiles
		}
		if l.MaxConcurrent > 0 {
			c.uploads.MaxConcurrent = l.MaxConcurrent
		}
		if l.IdleTimeout > 0 {
			c.uploads.IdleTimeout = l.IdleTimeout
		}
	})
}

// DefaultMaxConcurrentStreams is the default of [WithMaxConcurrentStreams].
const DefaultMaxConcurrentStreams = 1000

// WithMaxConcurrentStreams caps the streams (calls) one connection may
// have open at once; a client past it waits. The default is
// DefaultMaxConcurrentStreams; 0 lifts the cap.
func WithMaxConcurrentStreams(n uint32) ServerOption {
	return optionFunc(func(c *config) { c.maxStreams = n })
}

// DefaultStreamWorkers is the default of [WithStreamWorkers].
const DefaultStreamWorkers = 64

// WithStreamWorkers sets how many long-lived goroutines handle incoming
// calls (grpc.NumStreamWorkers). A call that finds them all busy gets a
// goroutine of its own, as with 0, which starts one per call. Reusing
// goroutines saves growing a fresh stack on every call: about a fifth of
// the server's CPU time per small request, measured with the overhead
// benchmark (docs/benchmarks.md). Each idle worker keeps its stack, a few
// KiB to tens of KiB. The default is DefaultStreamWorkers.
func WithStreamWorkers(n uint32) ServerOption {
	return optionFunc(func(c *config) { c.streamWorkers = n })
}

// WithKeepaliveMinTime is the shortest interval at which a client may send
// keepalive pings; a client that pings more often is disconnected
// (GOAWAY "too_many_pings"). Pings without open streams are allowed. The
// default is 10 seconds.
func WithKeepaliveMinTime(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.keepaliveMin = d })
}

// WithMaxConnectionAge closes connections older than age with a GOAWAY,
// giving calls in flight grace to finish, so that long-lived clients
// spread over replicas an autoscaler adds. The defaults are 30 minutes and
// one minute; an age of 0 keeps connections forever.
func WithMaxConnectionAge(age, grace time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.maxConnAge, c.maxConnGrace = age, grace })
}

// WithRequestTimeout is the deadline of a public unary call (a prediction,
// health, metadata) whose client set none; a client's own deadline always
// wins. The default is one minute; 0 sets none.
func WithRequestTimeout(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.requestTimeout = d })
}

// WithAdminToken is WithIdentities with one identity named "token" that
// holds RoleAdmin and is authenticated by the bearer token.
func WithAdminToken(token string) ServerOption {
	return WithIdentities(Identity{Name: "token", Role: RoleAdmin, Token: token})
}

// WithDevLoopbackAdmin, for development only, gives RoleAdmin to every
// caller on a loopback address or a unix socket. Anything that proxies to
// the server from the same host (a service-mesh sidecar, nginx, kubectl
// port-forward) then passes as admin; the server logs a warning when it
// starts serving. The default is off.
func WithDevLoopbackAdmin(on bool) ServerOption {
	return optionFunc(func(c *config) { c.devLoopback = on })
}

// WithPlaintextTokens accepts bearer tokens on connections without TLS,
// where anyone on the path can read and replay them. For development, or
// behind a proxy that terminates TLS on the same host. The default is off:
// a token on a plaintext connection is refused.
func WithPlaintextTokens(on bool) ServerOption {
	return optionFunc(func(c *config) { c.plaintextTokens = on })
}

// WithHealthInterval sets how often the health of predictors that implement
// predict.Checker is polled. The default is 2 seconds.
func WithHealthInterval(d time.Duration) ServerOption {
	return optionFunc(func(c *config) { c.healthInterval = d })
}

// WithRequestLog logs one line per sampled request (model, version, code,
// input kind and size, seconds) at the given rate: 0 (the default) logs
// none, 1 logs every request, 0.01 one in a hundred.
func WithRequestLog(rate float64) ServerOption {
	return optionFunc(func(c *config) { c.requestLogRate = min(max(rate, 0), 1) })
}
