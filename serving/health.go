package serving

import (
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// updateHealth sets the health statuses from the engine's state: a model
// is SERVING when it has a serving version whose predictor, if it can tell,
// says it is healthy. The server as a whole ("" and the prediction service)
// follows the default model. After Shutdown the health server ignores this.
//
// The engine calls it from each model's goroutine; healthMu makes the
// calls take turns, so the last one reads every change made before it and
// no call can overwrite a newer status with an older reading.
func (s *Server) updateHealth() {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	def := s.eng.DefaultModel()
	overall := healthpb.HealthCheckResponse_NOT_SERVING
	for name, ok := range s.eng.ServingStates() {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if ok {
			st = healthpb.HealthCheckResponse_SERVING
		}
		s.health.SetServingStatus(name, st)
		if name == def {
			overall = st
		}
	}
	s.health.SetServingStatus("", overall)
	s.health.SetServingStatus(swapwirev1.PredictionService_ServiceDesc.ServiceName, overall)
}
