package batch_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// upper answers each text input with its upper-case form.
type upper struct{}

func (upper) Load(context.Context, string) error { return nil }

func (u upper) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	res, err := u.PredictBatch(ctx, []predict.Request{{Input: in, Option: opt}})
	if err != nil {
		return predict.Result{}, err
	}
	return res[0], nil
}

func (upper) PredictBatch(_ context.Context, reqs []predict.Request) ([]predict.Result, error) {
	res := make([]predict.Result, len(reqs))
	for i, r := range reqs {
		res[i] = predict.Result{Label: predict.Text(strings.ToUpper(r.Input.Text()))}
	}
	return res, nil
}

func Example() {
	b := batch.New(upper{}, batch.Config{MaxBatchSize: 16, Slots: 2})
	defer b.Close()

	// A lone request on an idle Batcher is sent at once, as a batch of one.
	res, err := b.Predict(context.Background(), predict.Text("hello"), nil)
	fmt.Println(res.Label, err)

	b.Close()
	_, err = b.Predict(context.Background(), predict.Text("late"), nil)
	fmt.Println(predict.CodeOf(err))
	// Output:
	// HELLO <nil>
	// Unavailable
}
