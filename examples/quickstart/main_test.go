package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving/servingtest"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// TestReadmeShowsThisProgram keeps the README's Go snippet and this
// program the same, so the snippet is a program that compiles.
func TestReadmeShowsThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(src)+"```\n") {
		t.Fatal("README.md does not show examples/quickstart/main.go verbatim in a ```go block; copy it there")
	}
}

// TestThresholdServesAndSwaps publishes two versions with different
// thresholds and checks the answers of each.
func TestThresholdServesAndSwaps(t *testing.T) {
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	publish := func(threshold string) int64 {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "threshold.txt"), []byte(threshold+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := modelstore.PublishDir(context.Background(), st, "threshold", 0, dir)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	publish("0.5")
	srv := servingtest.StartReady(t, func() predict.Predictor { return &Threshold{} }, st)
	in := &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: []float64{0.2, 0.7}}}}
	ask := func() (int64, []string) {
		resp, err := srv.Predict.Predict(context.Background(), &swapwirev1.PredictRequest{Input: in})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetVersion(), resp.GetOutput().GetStrings().GetValues()
	}
	if v, got := ask(); v != 1 || strings.Join(got, ",") != "low,high" {
		t.Fatalf("version %d answered %v, want 1 and low,high", v, got)
	}
	v2 := publish("0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.WaitServing(ctx, "threshold", v2); err != nil {
		t.Fatal(err)
	}
	if v, got := ask(); v != v2 || strings.Join(got, ",") != "high,high" {
		t.Fatalf("version %d answered %v, want %d and high,high", v, got, v2)
	}
	if _, err := srv.Predict.Predict(context.Background(), &swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}}}); err == nil {
		t.Fatal("text input was accepted")
	}
}
