package engine

import (
	"context"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/swapwire/swapwire/predict"
)

// Request is one prediction. At most one of Version and Label is set;
// with neither, the model's serving version (or its traffic split) answers.
type Request struct {
	Model   string // "" means the default model
	Version int64  // a loaded version, or 0
	Label   string // a label of the model's policy, or ""
	Input   predict.Value
	Option  predict.Option
}

// Answer is a prediction's result and the version that produced it.
type Answer struct {
	Model   string
	Version int64
	Result  predict.Result
}

// Predict runs one request: it finds the model, takes a reference on the
// version that should answer, and calls its predictor (or its batcher).
// Errors carry a gRPC code (see predict.CodeOf).
func (e *Engine) Predict(ctx context.Context, r Request) (a Answer, err error) {
	if rate := e.cfg.RequestLogRate; rate > 0 && (rate >= 1 || rand.Float64() < rate) {
		defer e.logRequest(ctx, r, time.Now(), &a, &err)
	}
	if r.Input.IsZero() {
		return Answer{}, predict.InvalidArgument("input is missing: set one of text, data, ints, floats or strings")
	}
	if r.Version < 0 {
		return Answer{}, predict.InvalidArgument("version %d: versions are positive", r.Version)
	}
	if d := optionDepth(map[string]any(r.Option), 0); d > MaxOptionDepth {
		return Answer{}, predict.InvalidArgument("option nests deeper than %d levels", MaxOptionDepth)
	}
	m, err := e.lookup(r.Model)
	if err != nil {
		return Answer{}, err
	}
	v, err := m.acquire(r.Version, r.Label)
	if err != nil {
		return Answer{Model: m.name}, err
	}
	defer v.release()
	if e.cfg.Tracer != nil {
		trace.SpanFromContext(ctx).SetAttributes(attribute.String(AttrModel, m.name), attribute.Int64(AttrVersion, v.num))
	}
	res, err := v.predict(ctx, r.Input, r.Option)
	return Answer{Model: m.name, Version: v.num, Result: res}, err
}

// MaxOptionDepth is how deep a request's option may nest (maps and lists);
// deeper options are INVALID_ARGUMENT.
const MaxOptionDepth = 64

// optionDepth returns how deep v nests, stopping once past the limit.
func optionDepth(v any, depth int) int {
	if depth > MaxOptionDepth {
		return depth
	}
	deepest := depth
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			deepest = max(deepest, optionDepth(e, depth+1))
		}
	case predict.Option:
		return optionDepth(map[string]any(x), depth)
	case []any:
		for _, e := range x {
			deepest = max(deepest, optionDepth(e, depth+1))
		}
	}
	return deepest
}

// newRequestID returns a short random id that ties a client's error to the
// server's log line.
func newRequestID() string {
	const hex = "0123456789abcdef"
	b := make([]byte, 16)
	for i := range b {
		b[i] = hex[rand.IntN(16)]
	}
	return string(b)
}

// logRequest writes the line of a sampled request.
func (e *Engine) logRequest(ctx context.Context, r Request, start time.Time, a *Answer, err *error) {
	model := a.Model
	if model == "" {
		model = r.Model
	}
	attrs := []any{"model", model, "version", a.Version, "code", predict.CodeOf(*err).String(),
		"input", r.Input.Kind().String(), "size", r.Input.Len(), "seconds", time.Since(start).Seconds()}
	if *err != nil {
		attrs = append(attrs, "error", (*err).Error())
	}
	e.log.Info("request", append(attrs, e.requestAttrs(ctx)...)...)
}

// requestAttrs returns the request_id (and, when the request is traced,
// trace_id and span_id) attributes of a log line about the request of ctx.
func (e *Engine) requestAttrs(ctx context.Context) []any {
	attrs := []any{"request_id", e.cfg.RequestID(ctx)}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, "trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String())
	}
	return attrs
}
