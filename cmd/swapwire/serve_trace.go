package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/otelenv"
)

// serveTracing turns tracing on as the standard OTEL_* environment
// variables say (see package serving/otelenv). It returns the server
// options to add, none when tracing is off, and a function to call after
// the server stopped, which flushes the spans still queued.
func serveTracing(ctx context.Context, log *slog.Logger) ([]serving.ServerOption, func(), error) {
	tp, err := otelenv.TracerProvider(ctx)
	if err != nil || tp == nil {
		return nil, func() {}, err
	}
	log.Info("tracing on: exporting spans over OTLP/gRPC (OTEL_* environment)")
	flush := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn("flushing spans failed", "error", err)
		}
	}
	return []serving.ServerOption{serving.WithTracerProvider(tp)}, flush, nil
}
