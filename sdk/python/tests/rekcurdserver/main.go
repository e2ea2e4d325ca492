// Command rekcurdserver is a Swapwire server for the Python Rekcurd
// compatibility test (sdk/python/tests/test_rekcurd.py). It is not an
// example to copy.
//
// It serves five models from a writable store, named after the Rekcurd
// output form they produce: string, bytes, arr_int, arr_float, arr_string.
// A Rekcurd client picks one with the x-rekcurd-application-name header.
// Each converts any input to its form deterministically:
//
//	input        string        bytes          arr_int       arr_float          arr_string
//	text s       s             UTF-8 of s     code points   code points + 0.5  fields of s
//	bytes b      b as text     b              bytes         bytes + 0.5        bytes as %02x
//	ints xs      "1,2"         text as bytes  xs            xs + 0.5           xs as text
//	floats fs    "1.5,2"       text as bytes  rounded fs    fs                 fs as text
//	strings ss   ss joined " " text as bytes  len of each   len + 0.5          ss
//
// The score is the version's scale: the number in scale.txt of the version
// directory, 1 without one; arrays get one score per element. The option
// echoes the request's option with "model" set to the model's name.
//
//	rekcurdserver --store DIR --listen 127.0.0.1:PORT
//
// A missing store is created and every model seeded with version 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
)

var models = []string{"string", "bytes", "arr_int", "arr_float", "arr_string"}

// converter turns any input into the value kind its model is named after.
type converter struct {
	model string
	scale float64
}

func (c *converter) Load(_ context.Context, dir string) error {
	c.scale = 1
	b, err := os.ReadFile(filepath.Join(dir, "scale.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	c.scale, err = strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return err
}

func (c *converter) Predict(_ context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	if in.IsZero() {
		return predict.Result{}, predict.InvalidArgument("no input")
	}
	var label predict.Value
	switch c.model {
	case "string":
		label = predict.Text(asText(in))
	case "bytes":
		if in.Kind() == predict.KindBytes {
			label = predict.Bytes(in.Bytes())
		} else {
			label = predict.Bytes([]byte(asText(in)))
		}
	case "arr_int":
		label = predict.Ints(asInts(in)...)
	case "arr_float":
		if in.Kind() == predict.KindFloats {
			label = predict.Floats(in.Floats()...)
		} else {
			ints := asInts(in)
			fs := make([]float64, len(ints))
			for i, x := range ints {
				fs[i] = float64(x) + 0.5
			}
			label = predict.Floats(fs...)
		}
	case "arr_string":
		label = predict.Strings(asStrings(in)...)
	default:
		return predict.Result{}, predict.InvalidArgument("unknown model %q", c.model)
	}
	n := 1
	if k := label.Kind(); k == predict.KindInts || k == predict.KindFloats || k == predict.KindStrings {
		n = max(label.Len(), 1)
	}
	scores := make([]float64, n)
	for i := range scores {
		scores[i] = c.scale
	}
	out := predict.Option{}
	for k, v := range opt {
		out[k] = v
	}
	out["model"] = c.model
	return predict.Result{Label: label, Scores: scores, Option: out}, nil
}

func asText(in predict.Value) string {
	switch in.Kind() {
	case predict.KindText:
		return in.Text()
	case predict.KindBytes:
		if utf8.Valid(in.Bytes()) {
			return string(in.Bytes())
		}
		return fmt.Sprintf("%x", in.Bytes())
	case predict.KindStrings:
		return strings.Join(in.Strings(), " ")
	}
	return in.String() // ints and floats joined by commas
}

func asInts(in predict.Value) []int64 {
	var out []int64
	switch in.Kind() {
	case predict.KindText:
		for _, r := range in.Text() {
			out = append(out, int64(r))
		}
	case predict.KindBytes:
		for _, b := range in.Bytes() {
			out = append(out, int64(b))
		}
	case predict.KindInts:
		out = append(out, in.Ints()...)
	case predict.KindFloats:
		for _, f := range in.Floats() {
			out = append(out, int64(math.Round(f)))
		}
	case predict.KindStrings:
		for _, s := range in.Strings() {
			out = append(out, int64(utf8.RuneCountInString(s)))
		}
	}
	return out
}

func asStrings(in predict.Value) []string {
	var out []string
	switch in.Kind() {
	case predict.KindText:
		out = strings.Fields(in.Text())
	case predict.KindBytes:
		for _, b := range in.Bytes() {
			out = append(out, fmt.Sprintf("%02x", b))
		}
	case predict.KindInts:
		for _, x := range in.Ints() {
			out = append(out, strconv.FormatInt(x, 10))
		}
	case predict.KindFloats:
		for _, f := range in.Floats() {
			out = append(out, strconv.FormatFloat(f, 'g', -1, 64))
		}
	case predict.KindStrings:
		out = append(out, in.Strings()...)
	}
	return out
}

func main() {
	store := flag.String("store", "", "model store directory (created and seeded when missing); required")
	listen := flag.String("listen", "127.0.0.1:0", "gRPC listen address")
	flag.Parse()
	if *store == "" {
		fmt.Fprintln(os.Stderr, "rekcurdserver: --store is required")
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*store, *listen, log); err != nil {
		log.Error("rekcurdserver stopped", "error", err)
		os.Exit(1)
	}
}

func run(root, listen string, log *slog.Logger) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	st, err := modelstore.NewLocal(root, modelstore.WithPollInterval(200*time.Millisecond), modelstore.WithLogger(log))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := []serving.ServerOption{
		serving.WithName("rekcurd-test"), serving.WithServiceLevel("staging"), serving.WithLogger(log),
		serving.WithModels(models...), serving.WithDefaultModel("string"),
		// The test's admin identity: a token from the environment, over the
		// plaintext test connection.
		serving.WithIdentities(serving.Identity{Name: "pytest", Role: serving.RoleAdmin, Token: os.Getenv("SWAPWIRE_ADMIN_TOKEN")}),
		serving.WithPlaintextTokens(true),
	}
	for _, m := range models {
		if err := seed(ctx, st, m); err != nil {
			return err
		}
		opts = append(opts, serving.WithModelFactory(m, func() predict.Predictor { return &converter{model: m} }))
	}
	srv, err := serving.New(func() predict.Predictor { return &converter{} }, st, opts...)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		srv.Close()
		return err
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
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, serving.ErrServerClosed) {
		return err
	}
	return nil
}

// seed publishes version 1 (scale 1) of model when the store has none.
func seed(ctx context.Context, st modelstore.Store, model string) error {
	versions, err := st.Versions(ctx, model)
	if err != nil || len(versions) > 0 {
		return err
	}
	tx, err := st.Begin(ctx, model)
	if err != nil {
		return err
	}
	defer tx.Abort()
	if err := os.WriteFile(filepath.Join(tx.Dir(), "scale.txt"), []byte("1\n"), 0o644); err != nil {
		return err
	}
	_, err = tx.Commit(ctx, 1)
	return err
}
