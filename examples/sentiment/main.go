// Command sentiment serves a tiny text model with Swapwire: a sentence in,
// "positive", "negative" or "neutral" out, with the summed word score.
//
// It shows the smallest way to serve a model: one directory, no model store
// (modelstore.NewStatic), and a Predictor of a few lines.
//
//	go run ./examples/sentiment --model-dir examples/sentiment/model --listen 127.0.0.1:50052
//	swapwire predict --addr 127.0.0.1:50052 --text "what a great day"
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
)

// Sentiment scores text with a word lexicon.
type Sentiment struct {
	weights map[string]float64
}

// Load reads lexicon.txt: one "word weight" pair per line, # for comments.
func (s *Sentiment) Load(_ context.Context, dir string) error {
	f, err := os.Open(filepath.Join(dir, "lexicon.txt"))
	if err != nil {
		return err
	}
	defer f.Close()
	s.weights = map[string]float64{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		word, weight, ok := strings.Cut(text, " ")
		w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
		if !ok || err != nil {
			return fmt.Errorf("lexicon.txt line %d: want \"word weight\", got %q", line, text)
		}
		s.weights[strings.ToLower(word)] = w
	}
	return sc.Err()
}

// Predict labels the text by the sum of its words' weights.
func (s *Sentiment) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	if in.Kind() != predict.KindText {
		return predict.Result{}, predict.InvalidArgument("want text, got %s", in.Kind())
	}
	words := strings.FieldsFunc(strings.ToLower(in.Text()), func(r rune) bool { return !unicode.IsLetter(r) })
	var score float64
	var matched []any
	for _, w := range words {
		if v, ok := s.weights[w]; ok {
			score += v
			matched = append(matched, w)
		}
	}
	label := "neutral"
	switch {
	case score > 0:
		label = "positive"
	case score < 0:
		label = "negative"
	}
	return predict.Result{
		Label:  predict.Text(label),
		Scores: []float64{score},
		Option: predict.Option{"matched": matched, "words": float64(len(words))},
	}, nil
}

func main() {
	dir := flag.String("model-dir", "examples/sentiment/model", "directory holding lexicon.txt")
	listen := flag.String("listen", "127.0.0.1:50052", "gRPC listen address")
	plainTokens := flag.Bool("allow-plaintext-tokens", false, "accept the read token ($SWAPWIRE_READ_TOKEN) without TLS, as on 127.0.0.1")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := []serving.ServerOption{serving.WithLogger(log), serving.WithPlaintextTokens(*plainTokens)}
	// The model is static, so the one admin identity there is may only read:
	// list models and evaluate.
	if tok := os.Getenv("SWAPWIRE_READ_TOKEN"); tok != "" {
		opts = append(opts, serving.WithIdentities(serving.Identity{Name: "reader", Role: serving.RoleRead, Token: tok}))
		os.Unsetenv("SWAPWIRE_READ_TOKEN")
	}
	srv, err := serving.New(func() predict.Predictor { return &Sentiment{} },
		modelstore.NewStatic("sentiment", *dir), opts...)
	if err != nil {
		log.Error("start", "error", err)
		os.Exit(1)
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Error("listen", "error", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("serving", "addr", lis.Addr().String())
	if err := srv.Serve(lis); err != nil && err != serving.ErrServerClosed {
		log.Error("serve", "error", err)
		os.Exit(1)
	}
}
