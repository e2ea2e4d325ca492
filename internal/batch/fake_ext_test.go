package batch_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// fake is a BatchPredictor that records its calls and answers by the
// inputs' text:
//
//   - a batch with an input starting with "block" waits for a value on block;
//   - "panic" panics, "fail" fails the whole batch with FailedPrecondition,
//     "short" returns one result too few, "badlen" returns too few ItemErrors;
//   - an input starting with "err" fails alone with InvalidArgument;
//   - anything else gets the label "r:" + its text.
type fake struct {
	block chan struct{}

	mu    sync.Mutex
	calls []fakeCall
}

type fakeCall struct {
	at     time.Time
	ctx    context.Context
	inputs []predict.Value
}

func newFake() *fake { return &fake{block: make(chan struct{})} }

func (f *fake) Load(context.Context, string) error { return nil }

func (f *fake) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	res, err := f.PredictBatch(ctx, []predict.Request{{Input: in, Option: opt}})
	if err != nil {
		if items, ok := err.(predict.ItemErrors); ok {
			return predict.Result{}, items[0]
		}
		return predict.Result{}, err
	}
	return res[0], nil
}

func (f *fake) PredictBatch(ctx context.Context, reqs []predict.Request) ([]predict.Result, error) {
	c := fakeCall{at: time.Now(), ctx: ctx}
	for _, r := range reqs {
		c.inputs = append(c.inputs, r.Input)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()

	has := func(pred func(string) bool) bool {
		for _, r := range reqs {
			if pred(r.Input.String()) {
				return true
			}
		}
		return false
	}
	is := func(s string) func(string) bool { return func(x string) bool { return x == s } }
	if has(func(s string) bool { return strings.HasPrefix(s, "block") }) {
		<-f.block
	}
	switch {
	case has(is("panic")):
		panic("boom")
	case has(is("fail")):
		return nil, predict.Errorf(codes.FailedPrecondition, "model says no")
	}
	res := make([]predict.Result, len(reqs))
	items := make(predict.ItemErrors, len(reqs))
	failed := false
	for i, r := range reqs {
		s := r.Input.String()
		if strings.HasPrefix(s, "err") {
			items[i] = predict.InvalidArgument("bad input %s", s)
			failed = true
			continue
		}
		res[i] = predict.Result{Label: predict.Text("r:" + s)}
	}
	switch {
	case has(is("short")):
		return res[:len(res)-1], nil
	case has(is("badlen")):
		return res, items[:len(items)-1]
	case failed:
		return res, items
	}
	return res, nil
}

// snapshot returns the calls so far.
func (f *fake) snapshot() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

// texts returns the inputs of call i as strings.
func (f *fake) texts(t *testing.T, i int) []string {
	t.Helper()
	calls := f.snapshot()
	if i >= len(calls) {
		t.Fatalf("want call %d, model got %d calls", i, len(calls))
	}
	var out []string
	for _, v := range calls[i].inputs {
		out = append(out, v.String())
	}
	return out
}

// pending is a Predict running in its own goroutine.
type pending struct {
	done chan struct{}
	res  predict.Result
	err  error
	at   time.Time // when Predict returned
}

func start(b *batch.Batcher, ctx context.Context, in predict.Value) *pending {
	p := &pending{done: make(chan struct{})}
	go func() {
		p.res, p.err = b.Predict(ctx, in, nil)
		p.at = time.Now()
		close(p.done)
	}()
	return p
}

// startText starts one Predict per text, in order. Call it in a bubble.
func startText(b *batch.Batcher, texts ...string) []*pending {
	var ps []*pending
	for _, s := range texts {
		ps = append(ps, start(b, context.Background(), predict.Text(s)))
		synctest.Wait() // keep arrival order
	}
	return ps
}

func (p *pending) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wantLabel checks that p finished with the label want.
func wantLabel(t *testing.T, p *pending, want string) {
	t.Helper()
	if !p.finished() {
		t.Fatalf("request for %q still waiting", want)
	}
	if p.err != nil || p.res.Label.String() != want {
		t.Fatalf("got (%q, %v), want label %q", p.res.Label.String(), p.err, want)
	}
}

// wantCode checks that p finished with an error of code want.
func wantCode(t *testing.T, p *pending, want codes.Code) {
	t.Helper()
	if !p.finished() {
		t.Fatalf("request still waiting, want code %v", want)
	}
	if got := predict.CodeOf(p.err); got != want {
		t.Fatalf("got code %v (err %v, label %q), want %v", got, p.err, p.res.Label.String(), want)
	}
}
