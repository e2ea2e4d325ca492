package main

import (
	"context"
	"testing"

	"github.com/swapwire/swapwire/predict"
)

func TestSentiment(t *testing.T) {
	var s Sentiment
	if err := s.Load(context.Background(), "model"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"What a GREAT day, I love it": "positive",
		"terrible, slow and broken":   "negative",
		"the cat sat on the mat":      "neutral",
		"good but awful":              "negative",
	}
	for text, want := range tests {
		res, err := s.Predict(context.Background(), predict.Text(text), nil)
		if err != nil || res.Label.Text() != want {
			t.Errorf("%q: %v %v, want %s", text, res.Label, err, want)
		}
	}
	if _, err := s.Predict(context.Background(), predict.Ints(1), nil); predict.CodeOf(err).String() != "InvalidArgument" {
		t.Errorf("ints: %v", err)
	}
}
