// Command digits serves a handwritten-digit classifier written in Go with
// Swapwire: 64 pixel intensities (an 8x8 image, values 0 to 16) in, the digit
// out with a probability per digit.
//
// It serves model "digits" from a model store and follows the store: publish
// a new version (swapwire upload --model digits examples/digits/model/v2) and
// it hot-swaps to it. When the store holds no digits version yet, it seeds
// version 1 from the weights built into the binary.
//
//	go run ./examples/digits --store /tmp/models --listen 127.0.0.1:50051
//	swapwire predict --addr 127.0.0.1:50051 --ints 0,0,5,13,9,1,0,0,...
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
)

//go:embed model/v1/weights.json
var seedWeights []byte

func main() {
	store := flag.String("store", "", "model store directory (created when missing); required")
	listen := flag.String("listen", "127.0.0.1:50051", "gRPC listen address")
	metricsListen := flag.String("metrics-listen", "", "HTTP address for /metrics; empty for none")
	poll := flag.Duration("poll", 2*time.Second, "how often to poll the store besides watching it")
	flag.Parse()
	if *store == "" {
		fmt.Fprintln(os.Stderr, "digits: --store is required")
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*store, *listen, *metricsListen, *poll, log); err != nil {
		log.Error("digits stopped", "err", err)
		os.Exit(1)
	}
}

func run(root, listen, metricsListen string, poll time.Duration, log *slog.Logger) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	st, err := modelstore.NewLocal(root, modelstore.WithPollInterval(poll), modelstore.WithLogger(log))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := seed(ctx, st); err != nil {
		return err
	}
	srv, err := serving.New(func() predict.Predictor { return &Digits{} }, st,
		serving.WithName("digits-example"), serving.WithLogger(log), serving.WithModels("digits"))
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		srv.Close()
		return err
	}
	if metricsListen != "" {
		mlis, err := net.Listen("tcp", metricsListen)
		if err != nil {
			srv.Close()
			return err
		}
		go srv.ServeMetrics(mlis)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info("serving", "addr", lis.Addr().String(), "store", root)
	select {
	case err := <-errc:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, serving.ErrServerClosed) {
		return err
	}
	return nil
}

// seed publishes the built-in weights as version 1 when the store has no
// digits version.
func seed(ctx context.Context, st modelstore.Store) error {
	versions, err := st.Versions(ctx, "digits")
	if err != nil || len(versions) > 0 {
		return err
	}
	tx, err := st.Begin(ctx, "digits")
	if err != nil {
		return err
	}
	defer tx.Abort()
	if err := os.WriteFile(filepath.Join(tx.Dir(), "weights.json"), seedWeights, 0o644); err != nil {
		return err
	}
	_, err = tx.Commit(ctx, 1)
	if errors.Is(err, modelstore.ErrExists) {
		return nil // another replica seeded it first
	}
	return err
}
