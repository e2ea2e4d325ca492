package native

import (
	"context"
	"testing"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// BenchmarkPredictPath measures one Predict through the native front-end
// and the engine without the network: request conversion, model lookup, reference
// counting, the predictor call with metrics and recovery, and the response.
func BenchmarkPredictPath(b *testing.B) {
	echoFloats := func() predict.Predictor {
		return predict.PredictorFunc(func(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
			return predict.Result{Label: in}, nil
		})
	}
	eng, err := engine.New(modelstore.NewStatic("m", b.TempDir()), engine.Config{Factory: echoFloats})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		b.Fatal(err)
	}
	defer eng.Close(context.Background())
	<-eng.Ready()
	ps := &predictionService{e: eng}
	vals := make([]float64, 64)
	for i := range vals {
		vals[i] = float64(i) / 7
	}
	req := &swapwirev1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: vals}}}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := ps.Predict(ctx, req)
			if err != nil || len(resp.GetOutput().GetFloats().GetValues()) != 64 {
				b.Fatalf("%v %v", resp, err)
			}
		}
	})
}
