package engine

import (
	"context"
	"log/slog"
	"sort"

	"github.com/swapwire/swapwire/predict"
)

// Evaluation runs labelled examples through one model version, holding a
// reference on it until Close, and accumulates accuracy, per-label
// precision, recall and F1, and the confusion matrix. Labels compare by
// their text form (predict.Value.String). It is not safe for concurrent use.
type Evaluation struct {
	e     *Engine
	v     *version
	actor string
	log   *slog.Logger

	n, errs, correct int64
	details          bool
	results          []ExampleResult
	confusion        map[[2]string]int64 // expected, predicted
	labels           map[string]bool
	support          map[string]int64 // examples per expected label, failed ones included
}

// ExampleResult is the outcome of one example of an evaluation.
type ExampleResult struct {
	Index     int64
	Expected  string
	Predicted string // empty when the prediction failed
	Correct   bool
	Error     string // the prediction's error, if it failed
}

// LabelMetrics are one label's figures in an evaluation.
type LabelMetrics struct {
	Label                 string
	Precision, Recall, F1 float64
	Support               int64 // examples whose expected label this is
}

// EvaluationReport is the outcome of an evaluation.
type EvaluationReport struct {
	Model     string
	Version   int64
	Examples  int64
	Errors    int64   // examples whose prediction failed
	Accuracy  float64 // correct / examples
	Labels    []LabelMetrics
	Confusion [][]int64 // [expected][predicted], indexed like ConfusionLabels
	// ConfusionLabels are every label seen, expected or predicted, sorted.
	ConfusionLabels []string
	Details         []ExampleResult // one per example, when asked for
}

// Evaluate starts an evaluation of model ("" for the default) on version,
// or on the serving version (whatever the traffic split) for 0. With
// details, the report lists every example.
// The context names the actor for the log (see WithActor).
func (e *Engine) Evaluate(ctx context.Context, model string, num int64, details bool) (*Evaluation, error) {
	m, err := e.lookup(model)
	if err != nil {
		return nil, err
	}
	var v *version
	if num == 0 {
		v, err = m.acquireServing()
	} else {
		v, err = m.acquire(num, "")
	}
	if err != nil {
		return nil, err
	}
	return &Evaluation{e: e, log: e.log, v: v, actor: Actor(ctx), details: details, confusion: map[[2]string]int64{}, labels: map[string]bool{}, support: map[string]int64{}}, nil
}

// Model returns the evaluated model's name.
func (ev *Evaluation) Model() string { return ev.v.model }

// Version returns the evaluated version.
func (ev *Evaluation) Version() int64 { return ev.v.num }

// Examples returns how many examples were added.
func (ev *Evaluation) Examples() int64 { return ev.n }

// Predict runs one input through the evaluated version.
func (ev *Evaluation) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	return ev.v.predict(ctx, in, opt)
}

// Example runs one labelled example and records its outcome. It returns
// the prediction and its error, which counts against the model but does
// not end the evaluation.
func (ev *Evaluation) Example(ctx context.Context, in predict.Value, opt predict.Option, want predict.Value) (predict.Result, error) {
	res, err := ev.Predict(ctx, in, opt)
	ev.add(want.String(), res.Label.String(), err)
	return res, err
}

func (ev *Evaluation) add(want, got string, err error) {
	r := ExampleResult{Index: ev.n, Expected: want}
	ev.n++
	ev.labels[want] = true
	ev.support[want]++
	if err != nil {
		ev.errs++
		r.Error = err.Error()
	} else {
		r.Predicted = got
		r.Correct = got == want
		if r.Correct {
			ev.correct++
		}
		ev.labels[got] = true
		ev.confusion[[2]string{want, got}]++
	}
	if ev.details {
		ev.results = append(ev.results, r)
	}
}

// Close releases the evaluated version. It is safe to call more than once.
func (ev *Evaluation) Close() {
	if ev.v != nil && ev.e != nil {
		ev.v.release()
		ev.e = nil
	}
}

// Report returns the figures so far, and logs them.
func (ev *Evaluation) Report() EvaluationReport {
	rep := ev.report()
	ev.log.Info("model evaluated", "model", rep.Model, "version", rep.Version, "examples", rep.Examples, "accuracy", rep.Accuracy, "actor", ev.actor)
	return rep
}

func (ev *Evaluation) report() EvaluationReport {
	labels := make([]string, 0, len(ev.labels))
	for l := range ev.labels {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	rep := EvaluationReport{
		Model:           ev.v.model,
		Version:         ev.v.num,
		Examples:        ev.n,
		Errors:          ev.errs,
		ConfusionLabels: labels,
		Details:         ev.results,
	}
	if ev.n > 0 {
		rep.Accuracy = float64(ev.correct) / float64(ev.n)
	}
	for _, want := range labels {
		row := make([]int64, len(labels))
		for j, got := range labels {
			row[j] = ev.confusion[[2]string{want, got}]
		}
		rep.Confusion = append(rep.Confusion, row)
	}
	for _, l := range labels {
		var predicted int64
		for _, other := range labels {
			predicted += ev.confusion[[2]string{other, l}]
		}
		tp := ev.confusion[[2]string{l, l}]
		// A failed prediction counts against recall: it is in the support.
		lm := LabelMetrics{Label: l, Support: ev.support[l]}
		if predicted > 0 {
			lm.Precision = float64(tp) / float64(predicted)
		}
		if lm.Support > 0 {
			lm.Recall = float64(tp) / float64(lm.Support)
		}
		if lm.Precision+lm.Recall > 0 {
			lm.F1 = 2 * lm.Precision * lm.Recall / (lm.Precision + lm.Recall)
		}
		rep.Labels = append(rep.Labels, lm)
	}
	return rep
}
