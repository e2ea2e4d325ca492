package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// otlpReceiver is an OTLP/gRPC trace receiver: the collector's TraceService,
// keeping every span it is sent with its resource's service.name.
type otlpReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	mu      sync.Mutex
	spans   []*tracepb.Span
	service map[string]string // span id (hex) → service.name
	got     chan struct{}     // a send after every export
}

func (r *otlpReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		svc := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				svc = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, s)
				r.service[hex.EncodeToString(s.GetSpanId())] = svc
			}
		}
	}
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// named returns the spans of trace tid with the given name.
func (r *otlpReceiver) named(tid, name string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if hex.EncodeToString(s.GetTraceId()) == tid && s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

func startOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{service: map[string]string{}, got: make(chan struct{}, 1)}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, r)
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	return r, lis.Addr().String()
}

// TestServeExportsTracesOverOTLP runs the swapwire binary with tracing
// turned on by OTEL_* variables only, sends a prediction through batching
// and a Python worker, and checks what a real OTLP receiver gets: the
// server span, the batching-wait span and the worker-call span of one
// trace, under the service name from OTEL_SERVICE_NAME; the trace id is
// the request id of the call's trailer, and the Python worker's span is a
// child of the worker-call span.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	needPython(t)
	recv, addr := startOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
	t.Setenv("OTEL_SERVICE_NAME", "swapwire-e2e")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50") // milliseconds: export soon after the call
	script, err := filepath.Abs("../../serving/testdata/pytrace.py")
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, t.TempDir(), false, "--worker", fmt.Sprintf("%s '%s'", pythonBin, script), "--batch-size", "4")
	if !strings.Contains(p.log.String(), "tracing on") {
		t.Fatalf("serve did not log that tracing is on:\n%s", p.log)
	}
	uploadVersion(t, p.addr, "x")
	conn := dialProc(t, p.addr)
	waitHealth(t, conn, "m", healthpb.HealthCheckResponse_SERVING)

	var trailer metadata.MD
	resp, err := swapwirev1.NewPredictionServiceClient(conn).Predict(callCtx(t),
		&swapwirev1.PredictRequest{Model: "m", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "q"}}}, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	ids := trailer.Get("x-request-id")
	if len(ids) != 1 || len(ids[0]) != 32 {
		t.Fatalf("trailer x-request-id = %v, want the 32-hex-digit trace id", ids)
	}
	tid := ids[0]

	const serverName, waitName, workerName = "swapwire.v1.PredictionService/Predict", "swapwire.batch.wait", "swapwire.worker.predict"
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for len(recv.named(tid, serverName)) == 0 || len(recv.named(tid, waitName)) == 0 || len(recv.named(tid, workerName)) == 0 {
		select {
		case <-recv.got:
		case <-deadline.C:
			t.Fatalf("the receiver did not get the server, batching and worker spans of trace %s within 20s", tid)
		}
	}
	srv, wait, work := recv.named(tid, serverName), recv.named(tid, waitName), recv.named(tid, workerName)
	if len(srv) != 1 || len(wait) != 1 || len(work) != 1 {
		t.Fatalf("trace %s: %d server, %d wait, %d worker spans; want one each", tid, len(srv), len(wait), len(work))
	}
	srvID := hex.EncodeToString(srv[0].GetSpanId())
	if srv[0].GetKind() != tracepb.Span_SPAN_KIND_SERVER || len(srv[0].GetParentSpanId()) != 0 {
		t.Errorf("server span: kind %v, parent %x; want a server root span", srv[0].GetKind(), srv[0].GetParentSpanId())
	}
	for _, s := range []*tracepb.Span{wait[0], work[0]} {
		if got := hex.EncodeToString(s.GetParentSpanId()); got != srvID {
			t.Errorf("%s: parent %s, want the server span %s", s.GetName(), got, srvID)
		}
	}
	attrs := map[string]any{}
	for _, kv := range srv[0].GetAttributes() {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			attrs[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			attrs[kv.GetKey()] = v.IntValue
		case *commonpb.AnyValue_DoubleValue:
			attrs[kv.GetKey()] = v.DoubleValue
		}
	}
	if attrs["swapwire.model"] != "m" || attrs["swapwire.version"] != int64(1) || attrs["swapwire.batch.size"] != int64(1) {
		t.Errorf("server span attributes %v", attrs)
	}
	if _, ok := attrs["swapwire.queue.seconds"]; !ok {
		t.Errorf("server span has no swapwire.queue.seconds: %v", attrs)
	}
	recv.mu.Lock()
	svc := recv.service[srvID]
	recv.mu.Unlock()
	if svc != "swapwire-e2e" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's swapwire-e2e", svc)
	}
	py := resp.GetOption().AsMap()
	if py["trace_id"] != tid || py["parent_id"] != hex.EncodeToString(work[0].GetSpanId()) {
		t.Errorf("python span %v: want trace %s under the worker-call span %x", py, tid, work[0].GetSpanId())
	}
}
