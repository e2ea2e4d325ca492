package sidecar

import (
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// Signature returns the signature the pool's workers declare in Info (the
// first ready worker's; every worker runs the same model), or an empty
// Signature when they declare none.
func (p *Pool) Signature() predict.Signature {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.w != nil && s.w.info.GetSignature() != nil {
			return signatureFromProto(s.w.info.GetSignature())
		}
	}
	return predict.Signature{}
}

// Signature returns the signature the attached worker declares in Info, or
// an empty Signature when it declares none.
func (a *Attached) Signature() predict.Signature {
	a.mu.Lock()
	defer a.mu.Unlock()
	return signatureFromProto(a.info.GetSignature())
}

func signatureFromProto(s *workerv1.Signature) predict.Signature {
	if s == nil {
		return predict.Signature{}
	}
	specs := func(ts []*workerv1.TensorSpec) []predict.TensorSpec {
		var out []predict.TensorSpec
		for _, t := range ts {
			out = append(out, predict.TensorSpec{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()})
		}
		return out
	}
	return predict.Signature{Inputs: specs(s.GetInputs()), Outputs: specs(s.GetOutputs()), MaxBatchSize: int(s.GetMaxBatchSize())}
}
