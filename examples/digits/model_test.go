package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/swapwire/swapwire/predict"
)

func TestDigitsClassifiesSamples(t *testing.T) {
	var samples []struct {
		Label int64   `json:"label"`
		Ints  []int64 `json:"ints"`
	}
	data, err := os.ReadFile("samples.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &samples); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"model/v1", "model/v2"} {
		var d Digits
		if err := d.Load(context.Background(), dir); err != nil {
			t.Fatal(err)
		}
		correct := 0
		for _, s := range samples {
			res, err := d.Predict(context.Background(), predict.Ints(s.Ints...), nil)
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			for _, p := range res.Scores {
				sum += p
			}
			if len(res.Scores) != 10 || sum < 0.999 || sum > 1.001 {
				t.Fatalf("%s: scores %v do not sum to 1", dir, res.Scores)
			}
			if res.Label.Ints()[0] == s.Label {
				correct++
			}
		}
		// Both versions are over 95% accurate on held-out data.
		if correct < len(samples)-1 {
			t.Errorf("%s: %d of %d samples correct", dir, correct, len(samples))
		}
	}
}

func TestDigitsRejectsBadInput(t *testing.T) {
	var d Digits
	if err := d.Load(context.Background(), "model/v2"); err != nil {
		t.Fatal(err)
	}
	for _, in := range []predict.Value{predict.Ints(1, 2), predict.Text("seven"), predict.Floats(make([]float64, 63)...)} {
		if _, err := d.Predict(context.Background(), in, nil); predict.CodeOf(err).String() != "InvalidArgument" {
			t.Errorf("%s input of %d: %v, want InvalidArgument", in.Kind(), in.Len(), err)
		}
	}
	if err := d.Load(context.Background(), t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}
