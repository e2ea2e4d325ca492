// Command digits serves a handwritten-digit classifier written in Go with
// Swapwire: 64 pixel intensities (an 8x8 image, values 0 to 16) in, the digit
// out with a probability per digit.
//
// It serves model "digits" from a model store and follows the store: publish
// a new version (swapwire upload --model digits examples/digits/model/v2) and
// it hot-swaps to it. When the store holds no digits version yet, it seeds
// version 1 from the weights built into the binary.
//
//	export SWAPWIRE_ADMIN_TOKEN=$(openssl rand -hex 16)  # for uploads
//	go run ./examples/digits --store /tmp/models --listen 127.0.0.1:50051 --allow-plaintext-tokens
//	swapwire predict --addr 127.0.0.1:50051 --ints 0,0,5,13,9,1,0,0,...
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	plainTokens := flag.Bool("allow-plaintext-tokens", false, "accept the admin token ($SWAPWIRE_ADMIN_TOKEN) without TLS, as on 127.0.0.1")
	flag.Parse()
	if *store == "" {
		fmt.Fprintln(os.Stderr, "digits: --store is required")
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*store, *listen, *metricsListen, *poll, *plainTokens, log); err != nil {
		log.Error("digits stopped", "error", err)
		os.Exit(1)
	}
}

func run(root, listen, metricsListen string, poll time.Duration, plainTokens bool, log *slog.Logger) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	st, err := modelstore.NewLocal(root, modelstore.WithPollInterval(poll), modelstore.WithLogger(log))
	if err != nil {
		return err
	}
	if err := seed(context.Background(), st); err != nil {
		return err
	}
	// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
	return serving.Run(context.Background(), listen, func() predict.Predictor { return &Digits{} }, st,
		serving.WithName("digits-example"), serving.WithLogger(log), serving.WithModels("digits"),
		serving.WithMetricsAddr(metricsListen), serving.WithPlaintextTokens(plainTokens))
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
