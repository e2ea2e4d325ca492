package serving

import (
	"errors"
	"io"
	"sort"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// EvaluateModel runs labelled examples through one model version and
// reports accuracy, per-label precision, recall and F1, and the confusion
// matrix. Labels compare by their text form (predict.Value.String).
func (ms *modelService) EvaluateModel(stream swapwirev1.ModelService_EvaluateModelServer) error {
	ctx := stream.Context()
	if err := ms.s.adminAllowed(ctx); err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return predict.Status(predict.InvalidArgument("the first evaluation message must be a header"))
	}
	m, err := ms.s.mgr.lookup(h.GetModel())
	if err != nil {
		return predict.Status(err)
	}
	var v *version
	if h.GetVersion() == 0 {
		v, err = m.acquireServing() // the serving version, whatever the traffic split
	} else {
		v, err = m.acquire(h.GetVersion(), "")
	}
	if err != nil {
		return predict.Status(err)
	}
	defer v.release()
	ev := newEvaluation(h.GetDetails())
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		ex := msg.GetExample()
		if ex == nil {
			return predict.Status(predict.InvalidArgument("example %d: a header may come only first", ev.n))
		}
		in, err := valueconv.ValueFromProto(ex.GetInput())
		if err != nil {
			return predict.Status(predict.InvalidArgument("example %d input: %v", ev.n, err))
		}
		want, err := valueconv.ValueFromProto(ex.GetLabel())
		if err != nil {
			return predict.Status(predict.InvalidArgument("example %d label: %v", ev.n, err))
		}
		res, err := v.predict(ctx, in, valueconv.OptionFromProto(ex.GetOption()))
		if ctx.Err() != nil {
			return predict.Status(ctx.Err())
		}
		ev.add(want.String(), res.Label.String(), err)
	}
	resp := ev.report()
	resp.Model, resp.Version = m.name, v.num
	ms.s.cfg.logger.Info("model evaluated", "model", m.name, "version", v.num, "examples", resp.Examples, "accuracy", resp.Accuracy)
	return stream.SendAndClose(resp)
}

// evaluation accumulates the figures of an evaluation.
type evaluation struct {
	n, errs, correct int64
	details          bool
	results          []*swapwirev1.ExampleResult
	confusion        map[[2]string]int64 // expected, predicted
	labels           map[string]bool
	support          map[string]int64 // examples per expected label, failed ones included
}

func newEvaluation(details bool) *evaluation {
	return &evaluation{details: details, confusion: map[[2]string]int64{}, labels: map[string]bool{}, support: map[string]int64{}}
}

func (e *evaluation) add(want, got string, err error) {
	r := &swapwirev1.ExampleResult{Index: e.n, Expected: want}
	e.n++
	e.labels[want] = true
	e.support[want]++
	if err != nil {
		e.errs++
		r.Error = err.Error()
	} else {
		r.Predicted = got
		r.Correct = got == want
		if r.Correct {
			e.correct++
		}
		e.labels[got] = true
		e.confusion[[2]string{want, got}]++
	}
	if e.details {
		e.results = append(e.results, r)
	}
}

func (e *evaluation) report() *swapwirev1.EvaluateModelResponse {
	labels := make([]string, 0, len(e.labels))
	for l := range e.labels {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	resp := &swapwirev1.EvaluateModelResponse{
		Examples:  e.n,
		Errors:    e.errs,
		Confusion: &swapwirev1.ConfusionMatrix{Labels: labels},
		Details:   e.results,
	}
	if e.n > 0 {
		resp.Accuracy = float64(e.correct) / float64(e.n)
	}
	for _, want := range labels {
		row := &swapwirev1.ConfusionRow{Counts: make([]int64, len(labels))}
		for j, got := range labels {
			row.Counts[j] = e.confusion[[2]string{want, got}]
		}
		resp.Confusion.Rows = append(resp.Confusion.Rows, row)
	}
	for _, l := range labels {
		var predicted int64
		for _, other := range labels {
			predicted += e.confusion[[2]string{other, l}]
		}
		tp := e.confusion[[2]string{l, l}]
		// A failed prediction counts against recall: it is in the support.
		lm := &swapwirev1.LabelMetrics{Label: l, Support: e.support[l]}
		if predicted > 0 {
			lm.Precision = float64(tp) / float64(predicted)
		}
		if lm.Support > 0 {
			lm.Recall = float64(tp) / float64(lm.Support)
		}
		if lm.Precision+lm.Recall > 0 {
			lm.F1 = 2 * lm.Precision * lm.Recall / (lm.Precision + lm.Recall)
		}
		resp.Labels = append(resp.Labels, lm)
	}
	return resp
}
