package batch_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// TestTracingABatchOfMany checks the spans of three requests that waited
// 4 ms for a busy slot and then ran as one batch: each request's span gets
// a wait span and the batch size and queue time; the batch runs in a
// swapwire.batch.run span under the first request's span, linked to all
// three, and the predictor is called in that span.
func TestTracingABatchOfMany(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		defer tp.Shutdown(context.Background())
		tr := tp.Tracer("test")
		f := newFake()
		b := batch.New(f, batch.Config{MaxBatchSize: 8, MaxDelay: 2 * time.Millisecond, Tracer: tr})
		defer b.Close()

		reqSpan := map[string]trace.Span{}
		startTraced := func(text string) *pending {
			ctx, span := tr.Start(context.Background(), "request "+text)
			reqSpan[text] = span
			p := start(b, ctx, predict.Text(text))
			synctest.Wait()
			return p
		}
		blocker := startTraced("block")
		time.Sleep(time.Millisecond)
		var queued []*pending
		for _, s := range []string{"q1", "q2", "q3"} {
			queued = append(queued, startTraced(s))
		}
		time.Sleep(4 * time.Millisecond)
		f.block <- struct{}{}
		synctest.Wait()
		wantLabel(t, blocker, "r:block")
		for i, p := range queued {
			wantLabel(t, p, "r:q"+string(rune('1'+i)))
		}
		for _, s := range reqSpan {
			s.End()
		}

		spans := exp.GetSpans()
		byName := map[string][]tracetest.SpanStub{}
		for _, s := range spans {
			byName[s.Name] = append(byName[s.Name], s)
		}
		if n := len(byName[batch.SpanWait]); n != 4 {
			t.Fatalf("%d wait spans, want one per request", n)
		}
		for _, w := range byName[batch.SpanWait] {
			var parent string
			for text, s := range reqSpan {
				if s.SpanContext().SpanID() == w.Parent.SpanID() {
					parent = text
				}
			}
			want := map[string]float64{"block": 0, "q1": 0.004, "q2": 0.004, "q3": 0.004}[parent]
			size := map[string]int64{"block": 1, "q1": 3, "q2": 3, "q3": 3}[parent]
			if parent == "" {
				t.Fatalf("wait span with parent %s, not a request", w.Parent.SpanID())
			}
			got := map[string]any{}
			for _, kv := range w.Attributes {
				got[string(kv.Key)] = kv.Value.AsInterface()
			}
			if got[batch.AttrQueueTime] != want || got[batch.AttrBatchSize] != size {
				t.Errorf("wait span of %s: %v, want queue %v s and batch size %d", parent, got, want, size)
			}
			if d := w.EndTime.Sub(w.StartTime); d.Seconds() != want {
				t.Errorf("wait span of %s lasted %v, want %v s", parent, d, want)
			}
		}
		runs := byName[batch.SpanRun]
		if len(runs) != 1 {
			t.Fatalf("%d run spans, want one for the batch of three", len(runs))
		}
		run := runs[0]
		if run.Parent.SpanID() != reqSpan["q1"].SpanContext().SpanID() {
			t.Errorf("run span parent %s, want the first request's span", run.Parent.SpanID())
		}
		linked := map[trace.SpanID]bool{}
		for _, l := range run.Links {
			linked[l.SpanContext.SpanID()] = true
		}
		for _, s := range []string{"q1", "q2", "q3"} {
			if !linked[reqSpan[s].SpanContext().SpanID()] {
				t.Errorf("run span does not link to %s", s)
			}
		}
		calls := f.snapshot()
		if got := trace.SpanContextFromContext(calls[1].ctx).SpanID(); got != run.SpanContext.SpanID() {
			t.Errorf("the predictor ran in span %s, want the run span %s", got, run.SpanContext.SpanID())
		}
	})
}
