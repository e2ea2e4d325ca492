package serving

import (
	"context"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// updateHealth sets the health statuses from the models' state: a model is
// SERVING when it has a serving version whose predictor, if it can tell,
// says it is healthy. The server as a whole ("" and the prediction service)
// follows the default model. After Shutdown the health server ignores this.
func (s *Server) updateHealth() {
	def := s.mgr.defaultModel()
	overall := healthpb.HealthCheckResponse_NOT_SERVING
	for _, m := range s.mgr.modelList() {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		m.mu.Lock()
		healthy := m.health == nil
		m.mu.Unlock()
		if m.snap.Load().serving != nil && healthy {
			st = healthpb.HealthCheckResponse_SERVING
		}
		s.health.SetServingStatus(m.name, st)
		if m.name == def {
			overall = st
		}
	}
	s.health.SetServingStatus("", overall)
	s.health.SetServingStatus(swapwirev1.PredictionService_ServiceDesc.ServiceName, overall)
}

// healthLoop polls predictors that implement predict.Checker.
func (s *Server) healthLoop() {
	defer close(s.healthDone)
	t := time.NewTicker(s.cfg.healthInterval)
	defer t.Stop()
	for {
		select {
		case <-s.healthStop:
			return
		case <-t.C:
		}
		changed := false
		for _, m := range s.mgr.modelList() {
			v, err := m.acquireServing()
			var herr error
			if err == nil {
				if c, ok := v.p.(predict.Checker); ok {
					ctx, cancel := context.WithTimeout(context.Background(), s.cfg.healthInterval)
					herr = c.Check(ctx)
					cancel()
				}
				v.release()
			}
			m.mu.Lock()
			if (herr == nil) != (m.health == nil) {
				changed = true
				if herr != nil {
					s.cfg.logger.Error("model unhealthy", "model", m.name, "err", herr)
				} else {
					s.cfg.logger.Info("model healthy again", "model", m.name)
				}
			}
			m.health = herr
			m.mu.Unlock()
		}
		if changed {
			s.updateHealth()
		}
	}
}
