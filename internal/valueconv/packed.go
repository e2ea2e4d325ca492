package valueconv

import (
	"fmt"

	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// PackInputs returns the inputs of items as one array, or nil when they
// cannot be packed: an item with an option or named inputs, an input that
// is not ints or floats, or items of two kinds or two lengths. A batch of
// alike items (images, feature rows) then costs the worker one array to
// decode instead of an item each.
func PackInputs(items []*workerv1.PredictRequest) *workerv1.PackedInputs {
	if len(items) == 0 {
		return nil
	}
	first := items[0].GetInput()
	switch first.GetKind().(type) {
	case *swapwirev1.Value_Ints:
		n := len(first.GetInts().GetValues())
		out := make([]int64, 0, n*len(items))
		for _, it := range items {
			v, ok := it.GetInput().GetKind().(*swapwirev1.Value_Ints)
			if !ok || !bare(it) || len(v.Ints.GetValues()) != n {
				return nil
			}
			out = append(out, v.Ints.GetValues()...)
		}
		return &workerv1.PackedInputs{Count: int32(len(items)), Values: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: out}}}}
	case *swapwirev1.Value_Floats:
		n := len(first.GetFloats().GetValues())
		out := make([]float64, 0, n*len(items))
		for _, it := range items {
			v, ok := it.GetInput().GetKind().(*swapwirev1.Value_Floats)
			if !ok || !bare(it) || len(v.Floats.GetValues()) != n {
				return nil
			}
			out = append(out, v.Floats.GetValues()...)
		}
		return &workerv1.PackedInputs{Count: int32(len(items)), Values: &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: out}}}}
	}
	return nil
}

// bare reports whether an item carries nothing but its input.
func bare(it *workerv1.PredictRequest) bool {
	return it.GetOption() == nil && len(it.GetInputs()) == 0
}

// ResultsFromPacked returns the n results a worker packed. The labels and
// scores alias p's arrays. It fails when p does not hold exactly n labels
// of one kind (ints, floats or strings) and n times score_width scores.
func ResultsFromPacked(p *workerv1.PackedResults, n int) ([]predict.Result, error) {
	if p == nil {
		return nil, fmt.Errorf("packed results: %w", ErrMissing)
	}
	w := int(p.GetScoreWidth())
	scores := p.GetScores()
	if w < 0 || (w == 0 && len(scores) != 0) || (w > 0 && (len(scores)%w != 0 || len(scores)/w != n)) {
		return nil, fmt.Errorf("packed results: %d scores for %d items of %d scores each", len(scores), n, w)
	}
	labels := make([]predict.Value, n)
	var got int
	switch k := p.GetLabels().GetKind().(type) {
	case *swapwirev1.Value_Ints:
		vs := k.Ints.GetValues()
		if got = len(vs); got == n {
			for i := range labels {
				labels[i] = predict.Ints(vs[i : i+1 : i+1]...)
			}
		}
	case *swapwirev1.Value_Floats:
		vs := k.Floats.GetValues()
		if got = len(vs); got == n {
			for i := range labels {
				labels[i] = predict.Floats(vs[i : i+1 : i+1]...)
			}
		}
	case *swapwirev1.Value_Strings:
		vs := k.Strings.GetValues()
		if got = len(vs); got == n {
			for i := range labels {
				labels[i] = predict.Text(vs[i])
			}
		}
	default:
		return nil, fmt.Errorf("packed results: labels of kind %T; want ints, floats or strings", k)
	}
	if got != n {
		return nil, fmt.Errorf("packed results: %d labels for %d items", got, n)
	}
	out := make([]predict.Result, n)
	for i := range out {
		out[i].Label = labels[i]
		if w > 0 {
			out[i].Scores = scores[i*w : (i+1)*w : (i+1)*w]
		}
	}
	return out, nil
}
