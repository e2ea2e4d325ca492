package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/sidecar"
)

// runServe is the serve command: it serves until SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

// serve serves until ctx ends, then shuts down gracefully. Once it listens
// it logs "serving" with the listener's address, so the port chosen for
// --listen HOST:0 can be read from the log.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveHelp)
		fs.PrintDefaults()
	}
	modelDir := fs.String("model-dir", "", "model store directory: <dir>/<model>/<version>/... (the older form of --model-store DIR)")
	storeFl := addStoreFlags(fs)
	models := fs.String("model", "", "comma-separated models to serve; empty for every model in the store (the first is the default)")
	worker := fs.String("worker", "", `worker command, such as "python3 worker.py"; each version runs in a pool of these`)
	workers := fs.Int("workers", 0, "worker processes per model version; 0 for one per CPU")
	workerAddr := fs.String("worker-addr", "", "serve a worker that already runs at HOST:PORT (attach mode) instead of starting workers")
	workerConc := fs.Int("worker-concurrency", 1, "requests sent at once to an attached worker")
	startTimeout := fs.Duration("worker-start-timeout", 60*time.Second, "how long a worker may take to start and load")
	maxRestarts := fs.Int("worker-max-restarts", 5, "restarts of a crashing worker per minute before it is given up")
	watchdog := fs.Duration("worker-watchdog-grace", sidecar.DefaultWatchdogGrace, "how long past its deadline a request may run before its worker is killed and replaced")
	cooldown := fs.Duration("worker-giveup-cooldown", sidecar.DefaultGiveUpCooldown, "how long a given-up worker slot waits before it is retried (doubling per give-up; swapwire switch retries at once)")
	maxCooldown := fs.Duration("worker-max-giveup-cooldown", sidecar.DefaultMaxGiveUpCooldown, "the cap of that doubling")
	maxQueue := fs.Int("worker-max-queue", sidecar.DefaultMaxQueue, "requests that may wait for a busy worker; one more is refused with RESOURCE_EXHAUSTED")
	queueTimeout := fs.Duration("worker-queue-timeout", sidecar.DefaultQueueTimeout, "how long a request waits for an idle worker before RESOURCE_EXHAUSTED")
	listen := fs.String("listen", "127.0.0.1:50051", "gRPC listen address")
	metricsListen := fs.String("metrics-listen", "", "HTTP listen address for /metrics; empty for none")
	httpListen := fs.String("http-listen", "", "HTTP listen address for KServe v2 REST, the JSON admin API, /metrics and the dashboard; empty for none")
	poll := fs.Duration("poll", 2*time.Second, "how often to poll the store, besides watching it; 0 to only watch")
	noNotify := fs.Bool("no-fsnotify", false, "poll only (for stores on network file systems that send no events)")
	keepPrev := fs.Bool("keep-previous", false, "keep the previous version loaded for an instant rollback")
	batchSize := fs.Int("batch-size", 0, "largest dynamic batch; 0 or 1 for no batching")
	batchDelay := fs.Duration("batch-delay", 2*time.Millisecond, "how long a queued request may keep a free worker waiting for its batch to fill (never on an idle server); negative sends a partial batch as soon as a worker is free, which suits CPU-bound workers (docs/benchmarks.md)")
	batchQueue := fs.Int("batch-queue", 1024, "requests that may wait for a batch before RESOURCE_EXHAUSTED")
	name := fs.String("name", "swapwire", "service name reported by ServiceInfo")
	level := fs.String("service-level", "development", "service level reported by ServiceInfo")
	adminToken := fs.String("admin-token", "", "refused: a token on the command line is readable in /proc; use $SWAPWIRE_ADMIN_TOKEN or --admin-tokens-file")
	tokensFile := fs.String("admin-tokens-file", "", "file of admin identities, one \"NAME ROLE token:T|subject:S|san:N\" a line (roles read, deploy, admin; mode 600); $SWAPWIRE_ADMIN_TOKEN adds identity \"env\" with role admin. With none, admin calls are refused")
	devLoopback := fs.Bool("dev-loopback-admin", false, "DEVELOPMENT ONLY: make every loopback caller admin, including anything proxied from this host")
	plainTokens := fs.Bool("allow-plaintext-tokens", false, "accept bearer tokens without TLS (development, or TLS ended by a proxy on this host)")
	drainDelay := fs.Duration("drain-delay", 5*time.Second, "on SIGTERM, how long to keep accepting with health NOT_SERVING before stopping (endpoint removal time)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, the most the drain delay, in-flight requests and closing models may take in all")
	maxStreams := fs.Uint("max-concurrent-streams", serving.DefaultMaxConcurrentStreams, "streams one connection may have open at once; 0 for no cap")
	gomaxprocs := fs.Int("gomaxprocs", 0, "the server's GOMAXPROCS; 0 picks one: with --worker, the CPUs its workers leave (at least 1), else Go's default. A GOMAXPROCS environment variable is kept")
	gogc := fs.Int("gogc", 0, "the server's GOGC; 0 picks 400, since the models run in the workers and the server's heap is only requests and buffers. A GOGC environment variable is kept")
	streamWorkers := fs.Uint("stream-workers", serving.DefaultStreamWorkers, "long-lived goroutines that handle calls (a call past them gets its own); 0 starts one per call")
	keepaliveMin := fs.Duration("keepalive-min-time", 10*time.Second, "clients that ping more often are disconnected")
	maxConnAge := fs.Duration("max-connection-age", 30*time.Minute, "close connections older than this (GOAWAY), so clients spread over new replicas; 0 for never")
	maxConnGrace := fs.Duration("max-connection-age-grace", time.Minute, "time calls in flight get to finish on a connection closed for its age")
	requestTimeout := fs.Duration("request-timeout", time.Minute, "deadline of a prediction whose client set none; 0 for none")
	loadTimeout := fs.Duration("load-timeout", 10*time.Minute, "longest a version's load and warm-up may take; a load past it is abandoned")
	maxUpload := fs.Int64("max-upload-bytes", 4<<30, "largest upload archive, in bytes")
	maxExtracted := fs.Int64("max-extracted-bytes", 4<<30, "most bytes an upload may extract to (sparse files are refused)")
	maxFiles := fs.Int64("max-upload-files", 10000, "most files and directories in an upload")
	maxUploads := fs.Int("max-uploads", 4, "uploads at once; one more is RESOURCE_EXHAUSTED")
	uploadIdle := fs.Duration("upload-idle-timeout", time.Minute, "an upload that sends nothing for this long fails")
	cleanAfter := fs.Duration("clean-tmp-after", time.Hour, "on start, remove the store's temporary directories (interrupted uploads) older than this")
	tlsCert := fs.String("tls-cert", "", "server certificate file: serve TLS")
	tlsKey := fs.String("tls-key", "", "server key file")
	tlsClientCA := fs.String("tls-client-ca", "", "CA file: require and verify client certificates (mTLS)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logRequests := fs.Float64("log-requests", 0, "fraction of requests to log, from 0 (none) to 1 (all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *modelDir == "" && *storeFl.url == "" {
		return usageErr("--model-store URL or --model-dir is required")
	}
	if (*worker == "") == (*workerAddr == "") {
		return usageErr("give one of --worker COMMAND or --worker-addr HOST:PORT (Go models are served by their own main package; see examples/digits)")
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return usageErr("%v", err)
	}
	if procs, why := serverProcs(*gomaxprocs, os.Getenv("GOMAXPROCS") != "", *worker != "", *workers); procs > 0 {
		prev := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(prev) // for a serve run inside a test binary
		log.Info("GOMAXPROCS", "procs", procs, "cpus", prev, "why", why)
	}
	if *gogc > 0 || os.Getenv("GOGC") == "" {
		percent := cmp.Or(*gogc, sidecar.ServerGCPercent)
		prev := debug.SetGCPercent(percent)
		defer debug.SetGCPercent(prev)
		log.Info("GOGC", "percent", percent)
	}
	if *adminToken != "" {
		return usageErr("--admin-token: a token on the command line is readable by every user in /proc/PID/cmdline; put it in $SWAPWIRE_ADMIN_TOKEN or an --admin-tokens-file")
	}
	ids, err := adminIdentities(*tokensFile)
	if err != nil {
		return err
	}
	var names []string
	if *models != "" {
		names = strings.Split(*models, ",")
		for _, n := range names {
			if err := modelstore.ValidateModelName(n); err != nil {
				return usageErr("--model %q: %v", n, err)
			}
		}
	}

	var factory serving.Factory
	if *worker != "" {
		argv, err := splitCommand(*worker)
		if err != nil {
			return usageErr("--worker: %v", err)
		}
		cfg := sidecar.Config{
			Command: argv, Workers: *workers, StartTimeout: *startTimeout,
			MaxRestarts: *maxRestarts, Logger: log,
			WatchdogGrace: *watchdog, GiveUpCooldown: *cooldown, MaxGiveUpCooldown: *maxCooldown,
			MaxQueue: *maxQueue, QueueTimeout: *queueTimeout,
		}
		if len(names) == 1 {
			cfg.Model = names[0]
		}
		factory = sidecar.Factory(cfg)
	} else {
		cfg := sidecar.AttachConfig{Addr: *workerAddr, Concurrency: *workerConc, StartTimeout: *startTimeout, MaxQueue: *maxQueue, QueueTimeout: *queueTimeout, Logger: log}
		if len(names) == 1 {
			cfg.Model = names[0]
		}
		factory = sidecar.AttachFactory(cfg)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store, storeName, err := storeFl.open(ctx, *modelDir, *poll, *noNotify, log, reg)
	if err != nil {
		return err
	}
	if c, ok := store.(interface {
		Clean(context.Context, time.Duration) error
	}); ok {
		if err := c.Clean(ctx, *cleanAfter); err != nil {
			log.Warn("cleaning the store's temporary directories", "error", err)
		}
	}

	opts := []serving.ServerOption{
		serving.WithLogger(log), serving.WithRegisterer(reg),
		serving.WithName(*name), serving.WithServiceLevel(*level),
		serving.WithKeepPrevious(*keepPrev), serving.WithIdentities(ids...),
		serving.WithDevLoopbackAdmin(*devLoopback), serving.WithPlaintextTokens(*plainTokens),
		serving.WithRequestLog(*logRequests),
		serving.WithDrainDelay(*drainDelay), serving.WithLoadTimeout(*loadTimeout),
		serving.WithMaxConcurrentStreams(uint32(*maxStreams)), serving.WithStreamWorkers(uint32(*streamWorkers)), serving.WithKeepaliveMinTime(*keepaliveMin),
		serving.WithMaxConnectionAge(*maxConnAge, *maxConnGrace), serving.WithRequestTimeout(*requestTimeout),
		serving.WithMaxUploadBytes(*maxUpload),
		serving.WithUploadLimits(serving.UploadLimits{MaxExtractedBytes: *maxExtracted, MaxFiles: *maxFiles, MaxConcurrent: *maxUploads, IdleTimeout: *uploadIdle}),
		serving.WithBatching(serving.BatchConfig{MaxBatchSize: *batchSize, MaxDelay: *batchDelay, MaxQueue: *batchQueue}),
	}
	if len(names) > 0 {
		opts = append(opts, serving.WithModels(names...), serving.WithDefaultModel(names[0]))
	}
	if *tlsCert != "" {
		cfg, err := serverTLSConfig(*tlsCert, *tlsKey, *tlsClientCA)
		if err != nil {
			return err
		}
		opts = append(opts, serving.WithGRPCOptions(grpc.Creds(credentials.NewTLS(cfg))))
		// The HTTP listener serves HTTPS with the same certificate. A client
		// certificate is verified when one is sent and is then an identity,
		// as over gRPC; a browser without one signs in with a token.
		hcfg := cfg.Clone()
		if hcfg.ClientCAs != nil {
			hcfg.ClientAuth = tls.VerifyClientCertIfGiven
		}
		opts = append(opts, serving.WithHTTPTLS(hcfg))
	}
	traceOpts, flushTraces, err := serveTracing(ctx, log)
	if err != nil {
		return err
	}
	defer flushTraces()
	srv, err := serving.New(factory, store, append(opts, traceOpts...)...)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		srv.Close()
		return err
	}
	if *metricsListen != "" {
		mlis, err := net.Listen("tcp", *metricsListen)
		if err != nil {
			srv.Close()
			return err
		}
		go srv.ServeMetrics(mlis)
		log.Info("metrics", "addr", "http://"+mlis.Addr().String()+"/metrics")
	}
	if *httpListen != "" {
		hlis, err := net.Listen("tcp", *httpListen)
		if err != nil {
			srv.Close()
			return err
		}
		go srv.ServeWeb(hlis)
		scheme := "http://"
		if *tlsCert != "" {
			scheme = "https://"
		}
		log.Info("http", "addr", scheme+hlis.Addr().String()+"/")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("serving", "addr", lis.Addr().String(), "store", storeName)
	select {
	case err := <-errc:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain_delay_seconds", drainDelay.Seconds(), "timeout_seconds", shutdownTimeout.Seconds())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, serving.ErrServerClosed) {
		return fmt.Errorf("shutdown did not finish within %v; requests were cut off: %w", *shutdownTimeout, err)
	}
	log.Info("stopped")
	return nil
}

const serveHelp = `Usage: swapwire serve --model-dir DIR (--worker CMD | --worker-addr HOST:PORT) [flags]

Admin identities: admin calls need an identity with a role; with none they are
refused. Roles: read (list, evaluate), deploy (read + upload, switch, label,
split, rollback), admin (deploy + delete). Identities come from
--admin-tokens-file (lines "NAME ROLE token:T|subject:S|san:N", mode 600) and
$SWAPWIRE_ADMIN_TOKEN (identity "env", role admin), never from the command
line. Tokens need TLS unless --allow-plaintext-tokens; client certificates
(--tls-client-ca) count only when their subject or SAN is listed.

Drain: on SIGTERM health turns NOT_SERVING, the server keeps accepting for
--drain-delay, then stops accepting, ends idle streams, waits for requests in
flight and closes models, all within --shutdown-timeout, and exits 0.

Flags:
`

var _ predict.Predictor = (*sidecar.Pool)(nil)

// adminIdentities reads the identities file, if any, and the identity
// "env" from $SWAPWIRE_ADMIN_TOKEN, which it then removes from the
// environment so that worker processes never inherit it.
func adminIdentities(file string) ([]serving.Identity, error) {
	var ids []serving.Identity
	if file != "" {
		var err error
		if ids, err = serving.LoadIdentitiesFile(file); err != nil {
			return nil, fmt.Errorf("--admin-tokens-file: %v", err)
		}
	}
	if tok := os.Getenv("SWAPWIRE_ADMIN_TOKEN"); tok != "" {
		ids = append(ids, serving.Identity{Name: "env", Role: serving.RoleAdmin, Token: tok})
		os.Unsetenv("SWAPWIRE_ADMIN_TOKEN")
	}
	return ids, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %v", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// serverTLS is the gRPC server's credentials for serverTLSConfig.
func serverTLS(certFile, keyFile, clientCA string) (credentials.TransportCredentials, error) {
	cfg, err := serverTLSConfig(certFile, keyFile, clientCA)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(cfg), nil
}

// serverTLSConfig loads the server certificate and, when clientCA is set,
// requires client certificates signed by it.
func serverTLSConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate found", clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// splitCommand splits a command line into words, honouring single and
// double quotes and backslash escapes, as a shell would without expansion.
func splitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || esc {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// serverProcs returns the GOMAXPROCS serve sets and why, or 0 to keep Go's:
// the --gomaxprocs flag when given; else, when the model runs in worker
// processes started here and no GOMAXPROCS variable is set, the CPUs the
// workers leave (sidecar.ServerProcs).
func serverProcs(flag int, envSet, startsWorkers bool, workers int) (int, string) {
	switch {
	case flag > 0:
		return flag, "--gomaxprocs"
	case envSet || !startsWorkers:
		return 0, ""
	}
	cpus := runtime.GOMAXPROCS(0)
	procs := sidecar.ServerProcs(cpus, workers)
	if procs == cpus {
		return 0, ""
	}
	return procs, "the CPUs the worker processes leave, at least 1 (--gomaxprocs to choose)"
}
