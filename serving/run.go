package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/swapwire/swapwire/modelstore"
)

// Run is what a main function does with a Server: it serves the models of
// store, built by factory, on addr (and /metrics on the address given with
// [WithMetricsAddr], and the HTTP API and dashboard on the address given
// with [WithHTTPAddr]) until ctx ends or the process receives SIGINT or
// SIGTERM; then it shuts down gracefully within the time given with
// [WithShutdownTimeout] (30 seconds by default). Without [WithLogger] it
// logs to slog.Default(). It returns nil after a clean shutdown.
//
// Run, being what main does, also reads admin identities from the
// environment: $SWAPWIRE_ADMIN_TOKENS_FILE names a file in the format of
// [ParseIdentities], and $SWAPWIRE_ADMIN_TOKEN is the token of an
// identity "env" with RoleAdmin; Run removes the token from the
// environment so that child processes never inherit it. Without any
// identity, admin calls are refused (see [WithIdentities]). To trace as
// the OTEL_* environment variables say, pass [WithTracerProvider] with a
// provider from package serving/otelenv.
//
//	func main() {
//		store, err := modelstore.NewLocal("models")
//		if err != nil {
//			log.Fatal(err)
//		}
//		err = serving.Run(context.Background(), "127.0.0.1:50051", newModel, store)
//		if err != nil {
//			log.Fatal(err)
//		}
//	}
func Run(ctx context.Context, addr string, factory Factory, store modelstore.Store, opts ...ServerOption) error {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if !cfg.loggerSet {
		opts = append([]ServerOption{WithLogger(slog.Default())}, opts...)
		cfg.logger = slog.Default()
	}
	log := cfg.logger
	ids, err := identitiesFromEnv()
	if err != nil {
		return err
	}
	opts = append(opts, WithIdentities(ids...))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var mlis net.Listener
	if cfg.metricsAddr != "" {
		if mlis, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			lis.Close()
			return err
		}
	}
	var hlis net.Listener
	if cfg.httpAddr != "" {
		if hlis, err = net.Listen("tcp", cfg.httpAddr); err != nil {
			lis.Close()
			if mlis != nil {
				mlis.Close()
			}
			return err
		}
	}
	srv, err := New(factory, store, opts...)
	if err != nil {
		for _, l := range []net.Listener{lis, mlis, hlis} {
			if l != nil {
				l.Close()
			}
		}
		return err
	}
	served := make(chan error, 3)
	go func() { served <- srv.Serve(lis) }()
	log.Info("serving", "addr", lis.Addr().String())
	if mlis != nil {
		go func() { served <- srv.ServeMetrics(mlis) }()
		log.Info("serving metrics", "addr", mlis.Addr().String()+"/metrics")
	}
	if hlis != nil {
		go func() { served <- srv.ServeWeb(hlis) }()
		log.Info("serving HTTP: KServe v2 REST, admin API, dashboard", "addr", "http://"+hlis.Addr().String()+"/")
	}
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", context.Cause(ctx).Error(), "timeout_seconds", cfg.shutdownAfter.Seconds())
	case serveErr = <-served:
		log.Error("serve failed; shutting down", "error", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownAfter)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	for n := 1 + btoi(mlis != nil) + btoi(hlis != nil) - btoi(serveErr != nil); n > 0; n-- {
		if err := <-served; !errors.Is(err, ErrServerClosed) && serveErr == nil {
			serveErr = err
		}
	}
	if serveErr != nil && !errors.Is(serveErr, ErrServerClosed) {
		return serveErr
	}
	if shutErr != nil {
		return errors.New("serving: shutdown did not finish in time; requests were cut off")
	}
	log.Info("stopped")
	return nil
}

// identitiesFromEnv reads $SWAPWIRE_ADMIN_TOKENS_FILE and
// $SWAPWIRE_ADMIN_TOKEN, and unsets the latter.
func identitiesFromEnv() ([]Identity, error) {
	var ids []Identity
	if f := os.Getenv("SWAPWIRE_ADMIN_TOKENS_FILE"); f != "" {
		var err error
		if ids, err = LoadIdentitiesFile(f); err != nil {
			return nil, fmt.Errorf("serving: $SWAPWIRE_ADMIN_TOKENS_FILE: %w", err)
		}
	}
	if tok := os.Getenv("SWAPWIRE_ADMIN_TOKEN"); tok != "" {
		ids = append(ids, Identity{Name: "env", Role: RoleAdmin, Token: tok})
		os.Unsetenv("SWAPWIRE_ADMIN_TOKEN")
	}
	return ids, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
