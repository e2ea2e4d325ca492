package serving

import (
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/stats"
)

// tracerName is the instrumentation scope of Swapwire's own spans.
const tracerName = "github.com/swapwire/swapwire"

// WithTracerProvider traces every call with OpenTelemetry: a server span
// per call (from opentelemetry-go-contrib's otelgrpc stats handler, with
// the W3C trace context and baggage of the caller), carrying the
// attributes swapwire.model, swapwire.version, swapwire.batch.size and
// swapwire.queue.seconds; a child span swapwire.batch.wait for a batched
// request's wait; a span swapwire.batch.run for a batch of several
// requests, under the first one's span and linked to all of theirs; and a
// span swapwire.worker.predict (or predict_batch) for a call to a worker
// process, whose trace context the
// worker receives (the Python runtime makes its own child span of it).
// Health checks and reflection are not traced. The caller owns tp and
// shuts it down after the server. Without this option (the default)
// nothing is traced and no tracing code runs per request.
//
// swapwire serve turns tracing on from the standard OTEL_* environment
// variables with package serving/otelenv, which a program's main can use
// too; it is a separate package because the OTLP exporter it links
// registers a gzip compressor with gRPC for the whole process.
func WithTracerProvider(tp trace.TracerProvider) ServerOption {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// tracingOptions returns the gRPC server options that trace calls, and the
// tracer for the engine's spans; none when tracing is off.
func tracingOptions(tp trace.TracerProvider) ([]grpc.ServerOption, trace.Tracer) {
	if tp == nil {
		return nil, nil
	}
	h := otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()), // metrics are Prometheus's
		otelgrpc.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
			return !strings.HasPrefix(info.FullMethodName, "/"+healthpb.Health_ServiceDesc.ServiceName+"/") &&
				!strings.HasPrefix(info.FullMethodName, "/grpc.reflection.")
		}),
	)
	return []grpc.ServerOption{grpc.StatsHandler(h)}, tp.Tracer(tracerName)
}
