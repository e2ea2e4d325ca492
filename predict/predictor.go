package predict

import "context"

// Predictor serves one version of a model. Swapwire creates a fresh
// Predictor for each version, calls Load once, and then calls Predict from
// many goroutines at once; Predict must be safe for concurrent use.
type Predictor interface {
	// Load reads the model from dir. The context ends when loading should
	// be abandoned (the server is shutting down, or the version was removed).
	Load(ctx context.Context, dir string) error
	// Predict answers one input. The context carries the request's deadline.
	Predict(ctx context.Context, in Value, opt Option) (Result, error)
}

// Result is a model's answer.
type Result struct {
	Label  Value     // the predicted label
	Scores []float64 // scores, such as per-class probabilities; may be nil
	Option Option    // free-form output; may be nil
}

// Warmer is implemented by a Predictor that wants to run before its version
// takes traffic, for example to fill caches or compile kernels. An error
// fails the version as a failed Load would.
type Warmer interface {
	Warm(ctx context.Context) error
}

// Request is one input of a batch.
type Request struct {
	Input  Value
	Option Option
}

// BatchPredictor is implemented by a Predictor that answers many inputs in
// one call, which dynamic batching then uses. PredictBatch returns one Result
// per request, in order. A non-nil error fails the whole batch, unless it is
// an [ItemErrors], whose i-th entry (nil on success) belongs to request i.
// Inputs of one batch always share one Kind.
type BatchPredictor interface {
	Predictor
	PredictBatch(ctx context.Context, reqs []Request) ([]Result, error)
}

// ItemErrors reports per-request failures of a batch: entry i is the error
// of request i, or nil when request i succeeded.
type ItemErrors []error

func (e ItemErrors) Error() string {
	n := 0
	var first error
	for _, err := range e {
		if err != nil {
			if first == nil {
				first = err
			}
			n++
		}
	}
	if first == nil {
		return "no item failed"
	}
	if n == 1 {
		return "1 batch item failed: " + first.Error()
	}
	return itoa(n) + " batch items failed, first: " + first.Error()
}

// PredictorFunc adapts a function to a [Predictor] whose Load does nothing,
// as http.HandlerFunc adapts a function to an http.Handler.
type PredictorFunc func(ctx context.Context, in Value, opt Option) (Result, error)

// Load does nothing and returns nil.
func (f PredictorFunc) Load(context.Context, string) error { return nil }

// Predict calls f.
func (f PredictorFunc) Predict(ctx context.Context, in Value, opt Option) (Result, error) {
	return f(ctx, in, opt)
}

// Checker is implemented by a Predictor whose health can change after Load,
// such as a pool of worker processes. Check returns nil while the predictor
// can answer, and the reason when it cannot; the server then reports the
// model NOT_SERVING with that reason.
type Checker interface {
	Check(ctx context.Context) error
}
