package native

import (
	"time"

	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/internal/engine"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// Config carries what the native services report and enforce beyond the
// engine.
type Config struct {
	Name            string // the service name ServiceInfo reports
	ServiceLevel    string // development, staging or production
	SwapwireVersion string
	MaxUploadBytes  int64 // the cap on one UploadModel archive
	// MaxExtractedBytes and MaxUploadFiles cap what one archive extracts
	// (0: archive's defaults); UploadIdleTimeout ends an upload that sends
	// nothing for that long (0: none).
	MaxExtractedBytes int64
	MaxUploadFiles    int64
	UploadIdleTimeout time.Duration
}

// Register mounts the PredictionService and the ModelService on r.
func Register(r grpc.ServiceRegistrar, e *engine.Engine, cfg Config) {
	swapwirev1.RegisterPredictionServiceServer(r, &predictionService{e: e, cfg: cfg})
	swapwirev1.RegisterModelServiceServer(r, &modelService{e: e, cfg: cfg})
}
