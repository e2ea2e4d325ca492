package serving

import (
	"github.com/swapwire/swapwire/predict"
)

// wrapBatching returns the predictor requests should call for v: a batcher
// when v's predictor can batch and batching is on, else the predictor.
func (mg *manager) wrapBatching(v *version) (predict.Predictor, error) {
	return v.p, nil
}
