package predict_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/swapwire/swapwire/predict"
)

// A PredictorFunc turns a function into a Predictor with nothing to load.
func ExamplePredictorFunc() {
	upper := predict.PredictorFunc(func(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
		if in.Kind() != predict.KindText {
			return predict.Result{}, predict.InvalidArgument("want text, got %s", in.Kind())
		}
		return predict.Result{Label: predict.Text(strings.ToUpper(in.Text()))}, nil
	})
	var p predict.Predictor = upper
	res, _ := p.Predict(context.Background(), predict.Text("swap"), nil)
	fmt.Println(res.Label.Text())
	_, err := p.Predict(context.Background(), predict.Ints(1), nil)
	fmt.Println(predict.CodeOf(err), err)
	// Output:
	// SWAP
	// InvalidArgument want text, got ints
}
