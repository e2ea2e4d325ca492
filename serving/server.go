package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/internal/protocol/native"
	"github.com/swapwire/swapwire/internal/protocol/oip"
	"github.com/swapwire/swapwire/internal/protocol/rekcurd"
	"github.com/swapwire/swapwire/modelstore"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// Version is the Swapwire library version reported by ServiceInfo.
const Version = "0.1.0"

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("serving: server closed")

// Server serves the models of a store over gRPC.
type Server struct {
	cfg      config
	eng      *engine.Engine
	health   *health.Server
	grpc     *grpc.Server
	codec    *depthCodec // decodes requests; see depthCodec
	gatherer prometheus.Gatherer
	grpcMet  *grpcprom.ServerMetrics
	tracer   trace.Tracer // nil when not tracing

	healthMu sync.Mutex // serializes updateHealth

	mu        sync.Mutex
	closed    bool
	shutting  bool
	httpSrvs  []*http.Server
	closeOnce sync.Once
	streams   streams
}

// New returns a server for the models of store, each version built by a
// fresh Predictor from factory. It starts watching the store and loading
// models at once; [Server.Ready] waits for the default model.
func New(factory Factory, store modelstore.Store, opts ...ServerOption) (*Server, error) {
	if factory == nil {
		return nil, errors.New("serving: nil factory")
	}
	if store == nil {
		return nil, errors.New("serving: nil store")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := validateIdentities(cfg.identities); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, health: health.NewServer()}
	traceOpts, tracer := tracingOptions(cfg.tracerProvider)
	s.tracer = tracer
	reg := cfg.registerer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, s.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		s.gatherer = g
	}
	factories := make(map[string]engine.Factory, len(cfg.factories))
	for name, f := range cfg.factories {
		factories[name] = f
	}
	eng, err := engine.New(store, engine.Config{
		Factory:        factory,
		Factories:      factories,
		Logger:         cfg.logger,
		Registerer:     reg,
		DefaultModel:   cfg.defaultModel,
		Models:         cfg.models,
		KeepPrevious:   cfg.keepPrevious,
		LoadTimeout:    cfg.loadTimeout,
		Batch:          cfg.batch,
		HealthInterval: cfg.healthInterval,
		RequestLogRate: cfg.requestLogRate,
		MaxUploads:     cfg.uploads.MaxConcurrent,
		OnChange:       s.updateHealth,
		Tracer:         tracer,
		RequestID:      s.requestID,
	})
	if err != nil {
		return nil, err
	}
	s.eng = eng
	s.grpcMet = grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := reg.Register(s.grpcMet); err != nil {
		return nil, err
	}
	if err := reg.Register(newBuildInfo()); err != nil {
		return nil, err
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.health.SetServingStatus(swapwirev1.PredictionService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)

	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		id := s.requestID(ctx)
		s.cfg.logger.Error("panic in handler", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Errorf(codes.Internal, "internal error (request id %s)", id)
	})
	s.codec = newDepthCodec()
	gopts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(s.codec),
		grpc.MaxRecvMsgSize(cfg.maxMsgSize),
		grpc.MaxSendMsgSize(cfg.maxMsgSize),
		grpc.MaxConcurrentStreams(cfg.maxStreams),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: cfg.keepaliveMin, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: cfg.maxConnAge, MaxConnectionAgeGrace: cfg.maxConnGrace}),
		grpc.ChainUnaryInterceptor(s.unaryPrologue, s.grpcMet.UnaryServerInterceptor(), recovery.UnaryServerInterceptor(recoverOpt)),
		grpc.ChainStreamInterceptor(s.streams.intercept, s.requestIDStream, s.grpcMet.StreamServerInterceptor(), recovery.StreamServerInterceptor(recoverOpt)),
	}
	if cfg.streamWorkers > 0 {
		gopts = append(gopts, grpc.NumStreamWorkers(cfg.streamWorkers))
	}
	gopts = append(gopts, traceOpts...)
	s.grpc = grpc.NewServer(append(gopts, cfg.grpcOpts...)...)
	Register(s.grpc, s)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.grpcMet.InitializeMetrics(prefilled{s.grpc})

	if err := s.eng.Start(); err != nil {
		s.eng.Close(context.Background())
		return nil, err
	}
	return s, nil
}

// Register mounts the protocols of s (by default all: swapwire.v1
// prediction and admin, the Rekcurd worker, dashboard and health, and the
// Open Inference Protocol; see [WithProtocols]) on a gRPC server of the
// caller's. The admin gate is part of every admin method so mounted, so it
// holds whatever interceptors the caller's server has. Health and
// reflection are the caller's to add; [Server.HealthServer] gives the
// health state.
func Register(r grpc.ServiceRegistrar, s *Server) {
	g := gatedRegistrar{r: r, s: s}
	if s.cfg.protocols&Native != 0 {
		native.Register(g, s.eng, native.Config{
			Name:            s.cfg.name,
			ServiceLevel:    s.cfg.serviceLevel,
			SwapwireVersion: Version,
			MaxUploadBytes:  s.cfg.maxUploadBytes,

			MaxExtractedBytes: s.cfg.uploads.MaxExtractedBytes,
			MaxUploadFiles:    s.cfg.uploads.MaxFiles,
			UploadIdleTimeout: s.cfg.uploads.IdleTimeout,
		})
	}
	if s.cfg.protocols&Rekcurd != 0 {
		rekcurd.Register(g, s.eng, rekcurd.Config{
			Name:              s.cfg.name,
			ServiceLevel:      s.cfg.serviceLevel,
			MaxMessageSize:    s.cfg.maxMsgSize,
			MaxUploadBytes:    s.cfg.maxUploadBytes,
			Health:            s.health,
			Logger:            s.cfg.logger,
			UploadIdleTimeout: s.cfg.uploads.IdleTimeout,
		})
	}
	if s.cfg.protocols&OIP != 0 {
		oip.Register(g, s.eng, oip.Config{SwapwireVersion: Version, Live: s.live})
	}
}

// live reports whether the server has not begun to shut down.
func (s *Server) live() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && !s.shutting
}

// HealthServer returns the server's grpc.health.v1 implementation, whose
// statuses follow the models: "" and swapwire.v1.PredictionService for the
// default model, and one entry per model name.
func (s *Server) HealthServer() *health.Server { return s.health }

// Serve accepts gRPC connections on lis. It returns ErrServerClosed after
// Shutdown or Close.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	closed := s.closed || s.shutting
	s.mu.Unlock()
	if closed {
		lis.Close()
		return ErrServerClosed
	}
	s.warnExposure(lis.Addr())
	err := s.grpc.Serve(lis)
	s.mu.Lock()
	closed = s.closed || s.shutting
	s.mu.Unlock()
	if closed || errors.Is(err, grpc.ErrServerStopped) {
		return ErrServerClosed
	}
	return err
}

// unaryPrologue gives a public unary call whose client set no deadline the
// server's request timeout, and returns the call's request id in a trailer
// when it has one from the start (see callRequestID). It is one
// interceptor, not two, because every interceptor in grpc-go's chain
// costs allocations on every call.
func (s *Server) unaryPrologue(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if id := s.callRequestID(ctx); id != "" {
		grpc.SetTrailer(ctx, metadata.Pairs(RequestIDKey, id))
	}
	if _, ok := ctx.Deadline(); !ok && s.cfg.requestTimeout > 0 && MethodRole(info.FullMethod) == RolePublic {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.requestTimeout)
		defer cancel()
	}
	return handler(ctx, req)
}

// warnExposure logs what an operator must know about who may make admin
// calls on a listener: loopback admin is on, or the listener is reachable
// from other hosts and no identity can make admin calls at all.
func (s *Server) warnExposure(a net.Addr) {
	if s.cfg.devLoopback {
		s.cfg.logger.Warn("DEVELOPMENT MODE: every loopback caller is admin, including anything proxied from this host (a mesh sidecar, nginx, kubectl port-forward); never use this in production", "addr", a.String())
	}
	if len(s.cfg.identities) == 0 && !isLoopbackListener(a) {
		s.cfg.logger.Warn("listening beyond loopback with no admin identity: admin calls are refused; configure SWAPWIRE_ADMIN_TOKEN or --admin-tokens-file to deploy models", "addr", a.String())
	}
	if s.cfg.plaintextTokens {
		s.cfg.logger.Warn("bearer tokens are accepted over plaintext connections, where they can be read and replayed", "addr", a.String())
	}
}

func isLoopbackListener(a net.Addr) bool {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.IsLoopback()
	}
	return isLoopback(a)
}

// MetricsHandler serves the server's Prometheus metrics. When the
// registerer given with WithRegisterer is not also a Gatherer, it serves
// nothing useful; serve your own registry instead.
func (s *Server) MetricsHandler() http.Handler {
	if s.gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
}

// ServeMetrics serves /metrics over HTTP on lis until Shutdown or Close.
func (s *Server) ServeMetrics(lis net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.MetricsHandler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if !s.trackHTTP(hs, lis) {
		return ErrServerClosed
	}
	return httpServeErr(hs.Serve(lis))
}

// trackHTTP records hs so Shutdown and Close stop it, or closes lis and
// reports false when the server is already stopping.
func (s *Server) trackHTTP(hs *http.Server, lis net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.shutting {
		lis.Close()
		return false
	}
	s.httpSrvs = append(s.httpSrvs, hs)
	return true
}

// httpServeErr maps the end of an http.Server to what Serve returns.
func httpServeErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// Ready waits until the default model serves a version, or ctx ends.
func (s *Server) Ready(ctx context.Context) error {
	select {
	case <-s.eng.Ready():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitServing waits until model serves version (any version when version
// is 0), or ctx ends. An empty model means the default model.
func (s *Server) WaitServing(ctx context.Context, model string, version int64) error {
	return s.eng.WaitServing(ctx, model, version)
}

// waitFailed waits until a load of the model's version has failed and
// returns that error, or returns ctx's error.
func (s *Server) waitFailed(ctx context.Context, model string, version int64) error {
	return s.eng.WaitFailed(ctx, model, version)
}

// Shutdown stops the server gracefully. Health turns NOT_SERVING at once,
// and the server keeps accepting connections and requests for the drain
// delay ([WithDrainDelay]), so that load balancers and Kubernetes endpoints
// stop sending traffic first. Then it stops accepting, ends idle streams (a
// health Watch, a PredictStream between requests; each gets UNAVAILABLE),
// waits for requests in flight, and closes every model version. When ctx
// ends first, the remaining work is cut short as by Close and ctx's error
// is returned. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting = true
	s.mu.Unlock()
	s.health.Shutdown() // every status NOT_SERVING, and kept so
	if d := s.cfg.drainDelay; d > 0 {
		s.cfg.logger.Info("draining: health is NOT_SERVING, still accepting", "seconds", d.Seconds())
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	s.streams.drain()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
	s.stopHTTP(ctx)
	s.finish(ctx)
	return ctx.Err()
}

// Close stops the server at once: connections close, requests in flight
// fail, models are closed. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.shutting = true
	s.mu.Unlock()
	s.health.Shutdown()
	s.grpc.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.stopHTTP(ctx)
	ctx, cancel = context.WithTimeout(context.Background(), s.cfg.drainTimeout)
	defer cancel()
	s.finish(ctx)
	return nil
}

func (s *Server) stopHTTP(ctx context.Context) {
	s.mu.Lock()
	srvs := s.httpSrvs
	s.httpSrvs = nil
	s.mu.Unlock()
	for _, hs := range srvs {
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
	}
}

func (s *Server) finish(ctx context.Context) {
	s.closeOnce.Do(func() {
		s.eng.Close(ctx)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	})
}
