package serving_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// TestStreamWorkersOverflow holds more calls open at once than there are
// stream workers: each call waits until all of them have arrived, so the
// test finishes only if calls past the workers still get a goroutine.
func TestStreamWorkersOverflow(t *testing.T) {
	const calls = 12
	var arrived sync.WaitGroup
	arrived.Add(calls)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	model := predict.PredictorFunc(func(ctx context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
		arrived.Done()
		select {
		case <-all:
			return predict.Result{Label: in}, nil
		case <-ctx.Done():
			return predict.Result{}, ctx.Err()
		}
	})
	s := servingtest.StartReady(t, func() predict.Predictor { return model }, modelstore.NewStatic("m", t.TempDir()), serving.WithStreamWorkers(2))
	c := swapwirev1.NewPredictionServiceClient(s.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make(chan error, calls)
	for i := range calls {
		go func() {
			resp, err := c.Predict(ctx, &swapwirev1.PredictRequest{Model: "m", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}}})
			if err == nil && resp.GetOutput().GetText() != "x" {
				t.Errorf("call %d: label %v, want x", i, resp.GetOutput())
			}
			errs <- err
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Fatalf("a call past the 2 stream workers failed: %v", err)
		}
	}
}
