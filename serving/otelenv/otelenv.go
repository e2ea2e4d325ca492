// Package otelenv turns OpenTelemetry tracing on for a Swapwire server
// from the standard OTEL_* environment variables, as swapwire serve does:
//
//	tp, err := otelenv.TracerProvider(ctx)
//	if err != nil {
//		return err
//	}
//	if tp != nil {
//		defer tp.Shutdown(context.Background())
//		opts = append(opts, serving.WithTracerProvider(tp))
//	}
//
// It is a package of its own because the OTLP/gRPC exporter it links
// registers gRPC's gzip compressor for the whole process (through its
// configuration package), which every gRPC call then pays for; a program
// that does not trace need not link it.
package otelenv

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/swapwire/swapwire/serving"
)

// TracerProvider builds a tracer provider from the standard OpenTelemetry
// environment variables, for a main function (swapwire serve calls it) to
// pass to serving.WithTracerProvider. Tracing is off, and it returns nil, nil, unless
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
func TracerProvider(ctx context.Context) (*sdktrace.TracerProvider, error) {
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
		return nil, fmt.Errorf("otelenv: OTEL_TRACES_EXPORTER=%q: swapwire exports traces with otlp (or none)", exp)
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "grpc" {
		return nil, fmt.Errorf("otelenv: OTEL_EXPORTER_OTLP_PROTOCOL=%q: swapwire exports OTLP over grpc only; set it to grpc and point the endpoint at the collector's gRPC port (4317)", proto)
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otelenv: OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(attribute.String("service.name", "swapwire"), attribute.String("service.version", serving.Version)),
		resource.Environment(),
	)
	if err != nil {
		return nil, fmt.Errorf("otelenv: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
