package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/swapwire/swapwire/internal/batch"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving/sidecar"
)

// endSignal is a span processor that tells when a span of a given name
// ends, so a test waits for the server's span (which ends after the client
// has its answer) on a signal instead of a sleep.
type endSignal struct {
	name  string
	ended chan struct{}
	once  sync.Once
}

func (e *endSignal) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (e *endSignal) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() == e.name {
		e.once.Do(func() { close(e.ended) })
	}
}
func (e *endSignal) Shutdown(context.Context) error   { return nil }
func (e *endSignal) ForceFlush(context.Context) error { return nil }

// newTestTracing returns a tracer provider that records spans in memory,
// and a channel closed when the span named end has ended.
func newTestTracing(t *testing.T, end string) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter, <-chan struct{}) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	sig := &endSignal{name: end, ended: make(chan struct{})}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSpanProcessor(sig))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, exp, sig.ended
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range spans {
			names = append(names, s.Name)
		}
		t.Fatalf("%d spans named %q, want 1; spans: %v", len(found), name, names)
	}
	return found[0]
}

func attrOf(s tracetest.SpanStub, key string) (any, bool) {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.AsInterface(), true
		}
	}
	return nil, false
}

// TestTracingThroughPythonWorker sends one prediction through batching and
// a Python worker and checks the trace: the server span (with the model,
// version, batch size and queue time), the batching-wait span and the
// worker-call span under it, and the Python runtime's span under the
// worker-call span, all in one trace, whose id comes back as the request id.
func TestTracingThroughPythonWorker(t *testing.T) {
	needPython(t, false)
	const serverSpan = "swapwire.v1.PredictionService/Predict"
	tp, exp, ended := newTestTracing(t, serverSpan)
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	script, err := filepath.Abs("testdata/pytrace.py")
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Factory(sidecar.Factory(sidecar.Config{Command: []string{python, script}, Workers: 1, Model: "m"})), st,
		WithTracerProvider(tp), WithBatching(BatchConfig{MaxBatchSize: 4, MaxDelay: time.Millisecond}))
	ts.waitServing(t, "m", 1)
	exp.Reset() // the loads' health checks are not traced, but start clean

	// Health checks are not traced.
	if _, err := healthpb.NewHealthClient(ts.conn).Check(waitCtx(t), &healthpb.HealthCheckRequest{Service: "m"}); err != nil {
		t.Fatal(err)
	}
	var trailer metadata.MD
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn}, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the server span never ended")
	}
	spans := exp.GetSpans()
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "grpc.health.v1.") {
			t.Errorf("a health check was traced: %s", s.Name)
		}
	}
	srv := spanNamed(t, spans, serverSpan)
	wait := spanNamed(t, spans, batch.SpanWait)
	work := spanNamed(t, spans, sidecar.SpanWorkerPredict)

	tid := srv.SpanContext.TraceID()
	if srv.SpanKind != trace.SpanKindServer || srv.Parent.IsValid() {
		t.Errorf("server span: kind %v, parent %v; want a server root span", srv.SpanKind, srv.Parent)
	}
	for _, s := range []tracetest.SpanStub{wait, work} {
		if s.SpanContext.TraceID() != tid {
			t.Errorf("%s: trace %s, want %s", s.Name, s.SpanContext.TraceID(), tid)
		}
		if s.Parent.SpanID() != srv.SpanContext.SpanID() {
			t.Errorf("%s: parent %s, want the server span %s", s.Name, s.Parent.SpanID(), srv.SpanContext.SpanID())
		}
	}
	for key, want := range map[string]any{"swapwire.model": "m", "swapwire.version": int64(1), "swapwire.batch.size": int64(1)} {
		if got, ok := attrOf(srv, key); !ok || got != want {
			t.Errorf("server span %s = %v (%v), want %v", key, got, ok, want)
		}
	}
	if q, ok := attrOf(srv, "swapwire.queue.seconds"); !ok || q.(float64) < 0 {
		t.Errorf("server span swapwire.queue.seconds = %v (%v)", q, ok)
	}
	if wait.EndTime.Before(wait.StartTime) || work.StartTime.Before(wait.EndTime) || work.EndTime.After(srv.EndTime) {
		t.Errorf("spans out of order: wait %v..%v, worker %v..%v, server ends %v", wait.StartTime, wait.EndTime, work.StartTime, work.EndTime, srv.EndTime)
	}

	// The Python worker's span, as the model saw it.
	if got := resp.GetOutput().GetText(); got != "traced" {
		t.Fatalf("the worker answered %q: the model ran outside a span", got)
	}
	py := resp.GetOption().AsMap()
	if py["trace_id"] != tid.String() {
		t.Errorf("python span trace %v, want %s", py["trace_id"], tid)
	}
	if py["parent_id"] != work.SpanContext.SpanID().String() {
		t.Errorf("python span parent %v, want the worker-call span %s", py["parent_id"], work.SpanContext.SpanID())
	}
	if id, _ := py["span_id"].(string); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) || id == work.SpanContext.SpanID().String() || id == strings.Repeat("0", 16) {
		t.Errorf("python span id %q: want a fresh 16-hex-digit id", id)
	}
	if py["sampled"] != true {
		t.Errorf("python span sampled = %v, want true", py["sampled"])
	}
	if got := trailer.Get(RequestIDKey); len(got) != 1 || got[0] != tid.String() {
		t.Errorf("trailer %s = %v, want the trace id %s", RequestIDKey, got, tid)
	}
}

// TestRequestIDWithoutTracing checks the request id of log lines and
// trailers when the server does not trace: a client's x-request-id is
// used and echoed; without one, a logged request gets a random id that
// the trailer carries too.
func TestRequestIDWithoutTracing(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	ts := startServer(t, answerFactory(newStats(), 0), st, WithLogger(log), WithRequestLog(1))
	ts.waitServing(t, "m", 1)

	lineOf := func(id string) map[string]any {
		t.Helper()
		for _, l := range strings.Split(buf.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
				return m
			}
		}
		t.Fatalf("no request line with request_id %q in:\n%s", id, buf.String())
		return nil
	}

	var trailer metadata.MD
	ctx := metadata.AppendToOutgoingContext(waitCtx(t), RequestIDKey, "client-id-42")
	if _, err := ts.predict.Predict(ctx, &swapwirev1.PredictRequest{Model: "m", Input: textIn}, grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	if got := trailer.Get(RequestIDKey); len(got) != 1 || got[0] != "client-id-42" {
		t.Errorf("trailer %s = %v, want the client's id", RequestIDKey, got)
	}
	m := lineOf("client-id-42")
	if m["model"] != "m" || m["version"] != float64(1) || m["code"] != "OK" || m["seconds"] == nil {
		t.Errorf("request line %v", m)
	}
	if _, ok := m["trace_id"]; ok {
		t.Errorf("untraced request line has a trace_id: %v", m)
	}

	trailer = nil
	if _, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn}, grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	got := trailer.Get(RequestIDKey)
	if len(got) != 1 || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got[0]) {
		t.Fatalf("trailer %s = %v, want one random id", RequestIDKey, got)
	}
	lineOf(got[0])

	// A stream gets the client's id in its trailer too.
	sctx := metadata.AppendToOutgoingContext(waitCtx(t), RequestIDKey, "stream-id-7")
	stream, err := ts.predict.PredictStream(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&swapwirev1.PredictStreamRequest{Id: "a", Request: &swapwirev1.PredictRequest{Model: "m", Input: textIn}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	stream.CloseSend()
	if _, err := stream.Recv(); err == nil {
		t.Fatal("the stream sent a second answer")
	}
	if got := stream.Trailer().Get(RequestIDKey); len(got) != 1 || got[0] != "stream-id-7" {
		t.Errorf("stream trailer %s = %v, want the client's id", RequestIDKey, got)
	}
	lineOf("stream-id-7")

	// An id that is too long or unprintable is ignored, not logged.
	trailer = nil
	ctx = metadata.AppendToOutgoingContext(waitCtx(t), RequestIDKey, strings.Repeat("x", 200))
	if _, err := ts.predict.Predict(ctx, &swapwirev1.PredictRequest{Model: "m", Input: textIn}, grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	if got := trailer.Get(RequestIDKey); len(got) != 1 || len(got[0]) != 16 {
		t.Errorf("trailer %s = %v after a 200-byte id, want a fresh 16-character id", RequestIDKey, got)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
