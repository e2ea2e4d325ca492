package sidecar

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/swapwire/swapwire/predict"
)

// The names of the spans of a worker call, children of the request's span.
const (
	SpanWorkerPredict      = "swapwire.worker.predict"
	SpanWorkerPredictBatch = "swapwire.worker.predict_batch"
)

// tracerName is the instrumentation scope of the sidecar's spans.
const tracerName = "github.com/swapwire/swapwire/serving/sidecar"

// startWorkerSpan starts the span of one call to a worker when ctx carries
// a span to be its parent (the server traces), and returns nil otherwise,
// at the cost of one context lookup. The span's tracer is the parent's
// provider's, so the sidecar needs no configuration of its own.
func startWorkerSpan(ctx context.Context, name string, items int) trace.Span {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return nil
	}
	_, span := parent.TracerProvider().Tracer(tracerName).Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("swapwire.batch.size", items)))
	return span
}

// endWorkerSpan ends span, recording err; span may be nil.
func endWorkerSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String("rpc.grpc.status_code", predict.CodeOf(err).String()))
	}
	span.End()
}

// traceAttrs returns the trace_id and span_id attributes of a log line
// about the request of ctx, when it is traced; else none.
func traceAttrs(ctx context.Context) []any {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []any{"trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String()}
}

// traceparent formats sc as a W3C traceparent header
// (version 00): 00-<trace id>-<span id>-<flags>.
func traceparent(span trace.Span) string {
	if span == nil {
		return ""
	}
	sc := span.SpanContext()
	if !sc.IsValid() {
		return ""
	}
	const hex = "0123456789abcdef"
	tid, sid, flags := sc.TraceID(), sc.SpanID(), byte(sc.TraceFlags())
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = append(b, tid.String()...)
	b = append(b, '-')
	b = append(b, sid.String()...)
	b = append(b, '-', hex[flags>>4], hex[flags&0xf])
	return string(b)
}
