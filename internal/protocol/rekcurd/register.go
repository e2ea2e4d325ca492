// Package rekcurd serves Rekcurd's gRPC protocol over the engine, so that
// an unmodified Rekcurd client works against Swapwire: rekcurd.RekcurdWorker
// (the 25 Predict_<In>_<Out> methods), rekcurd.RekcurdDashboard (service
// info, model upload and switch, evaluation) and rekcurd.Health. It converts
// wire types to engine calls and back, and nothing else.
package rekcurd

import (
	"context"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/swapwire/swapwire/internal/engine"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
)

// HealthChecker answers grpc.health.v1 checks, as *health.Server does.
type HealthChecker interface {
	Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error)
}

// Config carries what the Rekcurd services need beyond the engine.
type Config struct {
	Name           string // the service name ServiceInfo reports
	ServiceLevel   string // development, staging or production
	MaxMessageSize int    // the cap on a streamed bytes input or evaluation data
	MaxUploadBytes int64  // the cap on one uploaded model file
	// UploadIdleTimeout ends an upload that sends nothing for that long
	// (DEADLINE_EXCEEDED); 0 waits forever.
	UploadIdleTimeout time.Duration
	Health            HealthChecker // the server's health, which rekcurd.Health reports
	Logger            *slog.Logger  // nil discards
}

// Register mounts rekcurd.RekcurdWorker, rekcurd.RekcurdDashboard and
// rekcurd.Health on r.
func Register(r grpc.ServiceRegistrar, e *engine.Engine, cfg Config) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rekcurdpb.RegisterRekcurdWorkerServer(r, &rekcurdWorker{e: e, cfg: cfg})
	rekcurdpb.RegisterRekcurdDashboardServer(r, newRekcurdDashboard(e, cfg))
	rekcurdpb.RegisterHealthServer(r, &rekcurdHealth{health: cfg.Health})
}
