package batch_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// idModel answers each input from its value alone and records which
// request ids it saw; see answer.
type idModel struct {
	mu      sync.Mutex
	seen    map[int64]int
	batches int
	items   int
	largest int
	mixed   int // batches with more than one kind
}

func (m *idModel) Load(context.Context, string) error { return nil }

func (m *idModel) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	return predict.Result{}, errors.New("idModel: Predict must not be called")
}

// id returns the request id an input carries.
func id(in predict.Value) int64 {
	switch in.Kind() {
	case predict.KindText:
		n, _ := strconv.ParseInt(in.Text(), 10, 64)
		return n
	case predict.KindInts:
		return in.Ints()[0]
	case predict.KindFloats:
		return int64(in.Floats()[0])
	}
	return -1
}

// input builds request n's input; its kind cycles through three.
func input(n int64) predict.Value {
	switch n % 3 {
	case 0:
		return predict.Text(strconv.FormatInt(n, 10))
	case 1:
		return predict.Ints(n, 7)
	}
	return predict.Floats(float64(n), 0.25)
}

// answer is the model's function: a label derived from the input, or an
// item error for every 11th id.
func answer(in predict.Value) (predict.Result, error) {
	n := id(in)
	if n%11 == 0 {
		return predict.Result{}, predict.InvalidArgument("id %d refused", n)
	}
	return predict.Result{Label: predict.Text(fmt.Sprintf("%v:%s", in.Kind(), in.String())), Scores: []float64{float64(n)}}, nil
}

func (m *idModel) PredictBatch(ctx context.Context, reqs []predict.Request) ([]predict.Result, error) {
	res := make([]predict.Result, len(reqs))
	items := make(predict.ItemErrors, len(reqs))
	failed := false
	m.mu.Lock()
	m.batches++
	m.items += len(reqs)
	m.largest = max(m.largest, len(reqs))
	for i, r := range reqs {
		if r.Input.Kind() != reqs[0].Input.Kind() {
			m.mixed++
		}
		m.seen[id(r.Input)]++
		res[i], items[i] = answer(r.Input)
		failed = failed || items[i] != nil
	}
	m.mu.Unlock()
	if failed {
		return res, items
	}
	return res, nil
}

func TestManyCallersGetTheirOwnAnswers(t *testing.T) {
	const (
		goroutines = 32
		each       = 125 // 4000 requests
		maxBatch   = 8
	)
	m := &idModel{seen: make(map[int64]int)}
	b := batch.New(m, batch.Config{MaxBatchSize: maxBatch, MaxDelay: 200 * time.Microsecond, Slots: 2, MaxQueue: goroutines})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		problems []string
		timedOut = make(map[int64]bool)
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for g := range goroutines {
		wg.Go(func() {
			for j := range each {
				n := int64(g*each + j)
				rctx, rcancel := ctx, context.CancelFunc(func() {})
				short := n%50 == 0 // some callers leave early
				if short {
					rctx, rcancel = context.WithTimeout(ctx, 50*time.Microsecond)
				}
				in := input(n)
				got, err := b.Predict(rctx, in, nil)
				rcancel()
				if short && predict.CodeOf(err) == codes.DeadlineExceeded {
					mu.Lock()
					timedOut[n] = true
					mu.Unlock()
					continue
				}
				want, wantErr := answer(in)
				switch {
				case wantErr != nil:
					if err == nil || err.Error() != wantErr.Error() {
						report("request %d: err %v, want %v", n, err, wantErr)
					}
				case err != nil:
					report("request %d: %v", n, err)
				case got.Label.String() != want.Label.String() || len(got.Scores) != 1 || got.Scores[0] != float64(n):
					report("request %d got %q %v, want %q", n, got.Label.String(), got.Scores, want.Label.String())
				}
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := range int64(goroutines * each) {
		if c := m.seen[n]; c > 1 || (c == 0 && !timedOut[n]) {
			t.Errorf("model saw request %d %d times", n, c)
		}
	}
	if m.mixed != 0 || m.largest > maxBatch {
		t.Errorf("%d batches mixed kinds; largest batch %d (max %d)", m.mixed, m.largest, maxBatch)
	}
	t.Logf("%d requests (%d left early) in %d batches, mean %.2f, largest %d",
		goroutines*each, len(timedOut), m.batches, float64(m.items)/float64(m.batches), m.largest)
}
