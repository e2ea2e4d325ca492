package serving

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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
// request's wait; and a child span swapwire.worker.predict (or
// predict_batch) for a call to a worker process, whose trace context the
// worker receives (the Python runtime makes its own child span of it).
// Health checks and reflection are not traced. The caller owns tp and
// shuts it down after the server. Without this option (the default)
// nothing is traced and no tracing code runs per request.
//
// [Run] and swapwire serve turn tracing on from the standard OTEL_*
// environment variables; see [TracingFromEnv].
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

// TracingFromEnv builds a tracer provider from the standard OpenTelemetry
// environment variables, for a main function (swapwire serve and [Run]
// call it). Tracing is off, and it returns nil, nil, unless
// OTEL_TRACES_EXPORTER is "otlp", or it is unset and
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set; OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off.
// Spans go to an OTLP/gRPC exporter that reads the OTEL_EXPORTER_OTLP_*
// variables itself (endpoint, headers, TLS, timeout, compression); the
// http/protobuf protocol is refused with an error. The sampler follows
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default: parent-based,
// always on), the batch processor OTEL_BSP_*, and the resource
// OTEL_SERVICE_NAME (default "swapwire") and OTEL_RESOURCE_ATTRIBUTES.
// The caller shuts the provider down after the server, which flushes the
// spans still queued.
func TracingFromEnv(ctx context.Context) (*sdktrace.TracerProvider, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	switch exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exp {
	case "":
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil
		}
	case "none":
		return nil, nil
	case "otlp":
	default:
		return nil, fmt.Errorf("serving: OTEL_TRACES_EXPORTER=%q: swapwire exports traces with otlp (or none)", exp)
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "grpc" {
		return nil, fmt.Errorf("serving: OTEL_EXPORTER_OTLP_PROTOCOL=%q: swapwire exports OTLP over grpc only; set it to grpc and point the endpoint at the collector's gRPC port (4317)", proto)
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("serving: OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(attribute.String("service.name", "swapwire"), attribute.String("service.version", Version)),
		resource.Environment(),
	)
	if err != nil {
		return nil, fmt.Errorf("serving: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
