// Command quickstart is a whole Swapwire server in one file: a model whose
// versions each hold a threshold.txt, served from the model store in
// ./models with hot swap, until Ctrl-C.
package main

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
)

// Threshold labels each number "high" when it reaches the version's threshold.
type Threshold struct{ t float64 }

func (m *Threshold) Load(ctx context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "threshold.txt"))
	if err != nil {
		return err
	}
	m.t, err = strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return err
}

func (m *Threshold) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	if in.Kind() != predict.KindFloats {
		return predict.Result{}, predict.InvalidArgument("want floats, got %s", in.Kind())
	}
	labels := make([]string, len(in.Floats()))
	for i, x := range in.Floats() {
		labels[i] = "low"
		if x >= m.t {
			labels[i] = "high"
		}
	}
	return predict.Result{Label: predict.Strings(labels...)}, nil
}

func main() {
	if err := os.MkdirAll("models", 0o755); err != nil {
		log.Fatal(err)
	}
	store, err := modelstore.NewLocal("models") // models/<model>/<version>/threshold.txt
	if err != nil {
		log.Fatal(err)
	}
	// Admin calls (upload, switch) need the token in $SWAPWIRE_ADMIN_TOKEN,
	// accepted without TLS because the server listens on 127.0.0.1 only.
	err = serving.Run(context.Background(), "127.0.0.1:50051",
		func() predict.Predictor { return &Threshold{} }, store,
		serving.WithMetricsAddr("127.0.0.1:9090"), serving.WithPlaintextTokens(true))
	if err != nil {
		log.Fatal(err)
	}
}
