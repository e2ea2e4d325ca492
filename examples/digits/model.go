package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/swapwire/swapwire/predict"
)

// Digits classifies 8x8 images of handwritten digits: 64 pixel intensities
// from 0 to 16, row by row, in; the digit out, with one probability per
// digit as scores. Its weights are a multinomial logistic regression trained
// by train.py on scikit-learn's digits data.
type Digits struct {
	classes   []int64
	coef      [][]float64 // one row of 64 weights per class
	intercept []float64
}

type weightsFile struct {
	Classes   []int64     `json:"classes"`
	Coef      [][]float64 `json:"coef"`
	Intercept []float64   `json:"intercept"`
}

// Load reads weights.json from the version directory.
func (d *Digits) Load(_ context.Context, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "weights.json"))
	if err != nil {
		return err
	}
	var w weightsFile
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("weights.json: %w", err)
	}
	if len(w.Classes) == 0 || len(w.Coef) != len(w.Classes) || len(w.Intercept) != len(w.Classes) {
		return fmt.Errorf("weights.json: %d classes, %d weight rows, %d intercepts", len(w.Classes), len(w.Coef), len(w.Intercept))
	}
	for i, row := range w.Coef {
		if len(row) != 64 {
			return fmt.Errorf("weights.json: row %d has %d weights, want 64", i, len(row))
		}
	}
	d.classes, d.coef, d.intercept = w.Classes, w.Coef, w.Intercept
	return nil
}

// Predict answers the digit and the per-class probabilities.
func (d *Digits) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	var px [64]float64
	switch in.Kind() {
	case predict.KindInts:
		if len(in.Ints()) != 64 {
			return predict.Result{}, predict.InvalidArgument("want 64 pixels, got %d", len(in.Ints()))
		}
		for i, v := range in.Ints() {
			px[i] = float64(v)
		}
	case predict.KindFloats:
		if len(in.Floats()) != 64 {
			return predict.Result{}, predict.InvalidArgument("want 64 pixels, got %d", len(in.Floats()))
		}
		copy(px[:], in.Floats())
	default:
		return predict.Result{}, predict.InvalidArgument("want 64 ints or floats, got %s", in.Kind())
	}
	scores := make([]float64, len(d.classes))
	best, maxLogit := 0, math.Inf(-1)
	for c, row := range d.coef {
		z := d.intercept[c]
		for i, w := range row {
			z += w * px[i]
		}
		scores[c] = z
		if z > maxLogit {
			best, maxLogit = c, z
		}
	}
	var sum float64
	for c, z := range scores {
		scores[c] = math.Exp(z - maxLogit)
		sum += scores[c]
	}
	for c := range scores {
		scores[c] /= sum
	}
	return predict.Result{Label: predict.Ints(d.classes[best]), Scores: scores}, nil
}

// Signature declares the model for the Open Inference Protocol's metadata:
// input "pixels" (64 intensities, FP32 as Triton clients send images; any
// integer or float datatype is taken), the digit as "label" (INT64, one per
// image) and one probability per class as "scores". The first dimension is
// a batch: a request of shape [N, 64] is N images and gets [N] labels and
// [N, classes] scores.
func (d *Digits) Signature() predict.Signature {
	return predict.Signature{
		Inputs: []predict.TensorSpec{{Name: "pixels", Datatype: "FP32", Shape: []int64{64}}},
		Outputs: []predict.TensorSpec{
			{Name: "label", Datatype: "INT64", Shape: []int64{}},
			{Name: "scores", Datatype: "FP64", Shape: []int64{int64(len(d.classes))}},
		},
		MaxBatchSize: 64,
	}
}
