package batch_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

func TestIdleRequestIsSentAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxDelay: time.Hour, MaxBatchSize: 8})
		defer b.Close()
		t0 := time.Now()
		for i, s := range []string{"a", "b", "c"} {
			res, err := b.Predict(context.Background(), predict.Text(s), nil)
			if err != nil || res.Label.String() != "r:"+s {
				t.Fatalf("Predict(%q) = (%q, %v)", s, res.Label.String(), err)
			}
			if got := f.texts(t, i); !slices.Equal(got, []string{s}) {
				t.Fatalf("call %d inputs %q, want [%q]", i, got, s)
			}
		}
		if d := time.Since(t0); d != 0 {
			t.Fatalf("lone requests on an idle batcher took %v of fake time, want 0", d)
		}
	})
}

func TestEverySlotTakesALoneRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{Slots: 2, MaxDelay: time.Hour})
		defer b.Close()
		ps := startText(b, "block1", "block2")
		synctest.Wait()
		if n := len(f.snapshot()); n != 2 {
			t.Fatalf("two idle slots ran %d batches, want 2", n)
		}
		third := startText(b, "c")[0]
		synctest.Wait()
		if n := len(f.snapshot()); n != 2 || third.finished() {
			t.Fatalf("with both slots busy the model got %d calls (want 2) and the third request finished=%v", n, third.finished())
		}
		f.block <- struct{}{}
		f.block <- struct{}{}
		synctest.Wait()
		// The freed slot sends "c" only after MaxDelay: it arrived while busy.
		if third.finished() {
			t.Fatal(`"c" was sent before MaxDelay though it queued behind busy slots`)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		wantLabel(t, ps[0], "r:block1")
		wantLabel(t, ps[1], "r:block2")
		wantLabel(t, third, "r:c")
	})
}

func TestBatchClosesAtMaxSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxBatchSize: 4, MaxDelay: time.Hour})
		defer b.Close()
		t0 := time.Now()
		first := startText(b, "block")[0]
		synctest.Wait()
		queued := startText(b, "b1", "b2", "b3")
		synctest.Wait()
		f.block <- struct{}{}
		synctest.Wait()
		wantLabel(t, first, "r:block")
		if n := len(f.snapshot()); n != 1 {
			t.Fatalf("a partial batch of 3 (max 4) was sent before MaxDelay: %d calls", n)
		}
		queued = append(queued, startText(b, "b4")...)
		synctest.Wait()
		if got := f.texts(t, 1); !slices.Equal(got, []string{"b1", "b2", "b3", "b4"}) {
			t.Fatalf("second batch %q, want b1..b4", got)
		}
		if at := f.snapshot()[1].at; !at.Equal(t0) {
			t.Fatalf("full batch sent after %v, want at once", at.Sub(t0))
		}
		for i, p := range queued {
			wantLabel(t, p, "r:b"+string(rune('1'+i)))
		}
	})
}

func TestFullQueueSplitsAtMaxSizeAndRestWaitsMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxBatchSize: 4, MaxDelay: time.Hour})
		defer b.Close()
		t0 := time.Now()
		startText(b, "block")
		synctest.Wait()
		queued := startText(b, "q1", "q2", "q3", "q4", "q5")
		synctest.Wait()
		f.block <- struct{}{}
		synctest.Wait()
		calls := f.snapshot()
		if len(calls) != 2 || len(calls[1].inputs) != 4 || !calls[1].at.Equal(t0) {
			t.Fatalf("after release: %d calls, want the first 4 queued sent at once", len(calls))
		}
		if queued[4].finished() {
			t.Fatal("q5 was sent without waiting for MaxDelay")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := f.texts(t, 2); !slices.Equal(got, []string{"q5"}) {
			t.Fatalf("third batch %q, want [q5]", got)
		}
		if at := f.snapshot()[2].at; at.Sub(t0) != time.Hour {
			t.Fatalf("q5 sent after %v, want MaxDelay (1h) after its arrival", at.Sub(t0))
		}
		wantLabel(t, queued[4], "r:q5")
	})
}

func TestBatchClosesAtMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxBatchSize: 8, MaxDelay: 10 * time.Millisecond})
		defer b.Close()
		t0 := time.Now()
		startText(b, "block")
		synctest.Wait()
		p1 := startText(b, "b1")[0] // arrives while the slot is busy
		time.Sleep(time.Millisecond)
		f.block <- struct{}{} // the slot is free at t0+1ms
		time.Sleep(2 * time.Millisecond)
		p2 := startText(b, "b2")[0] // trickles in at t0+3ms
		time.Sleep(6 * time.Millisecond)
		synctest.Wait()
		if n := len(f.snapshot()); n != 1 || p1.finished() {
			t.Fatalf("at t0+9ms the partial batch was already sent (%d calls)", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := f.texts(t, 1); !slices.Equal(got, []string{"b1", "b2"}) {
			t.Fatalf("second batch %q, want [b1 b2]", got)
		}
		if at := f.snapshot()[1].at.Sub(t0); at != 10*time.Millisecond {
			t.Fatalf("partial batch sent at t0+%v, want t0+10ms (MaxDelay after b1 arrived)", at)
		}
		wantLabel(t, p1, "r:b1")
		wantLabel(t, p2, "r:b2")
	})
}

func TestQueuedWhileBusyGoTogetherWhenSlotFrees(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxBatchSize: 8, MaxDelay: 2 * time.Millisecond})
		defer b.Close()
		t0 := time.Now()
		startText(b, "block")
		time.Sleep(time.Millisecond)
		queued := startText(b, "q1", "q2", "q3", "q4", "q5")
		time.Sleep(4 * time.Millisecond)
		synctest.Wait()
		if n := len(f.snapshot()); n != 1 {
			t.Fatalf("requests were sent while every slot was busy: %d calls", n)
		}
		f.block <- struct{}{} // free at t0+5ms; the queued waited 4ms > MaxDelay
		synctest.Wait()
		if got := f.texts(t, 1); !slices.Equal(got, []string{"q1", "q2", "q3", "q4", "q5"}) {
			t.Fatalf("second batch %q, want q1..q5", got)
		}
		if at := f.snapshot()[1].at.Sub(t0); at != 5*time.Millisecond {
			t.Fatalf("queued batch sent at t0+%v, want t0+5ms, when the slot freed", at)
		}
		for i, p := range queued {
			wantLabel(t, p, "r:q"+string(rune('1'+i)))
		}
	})
}

func TestQueuedRequestKeepsItsOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxDelay: time.Millisecond})
		defer b.Close()
		t0 := time.Now()
		startText(b, "block")
		synctest.Wait()
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer dcancel()
		cctx, ccancel := context.WithCancel(context.Background())
		pd := start(b, dctx, predict.Text("deadline"))
		pk := start(b, cctx, predict.Text("cancel"))
		pc := startText(b, "c")[0]
		synctest.Wait()

		ccancel()
		synctest.Wait()
		wantCode(t, pk, codes.Canceled)
		if !errors.Is(pk.err, context.Canceled) || !pk.at.Equal(t0) {
			t.Fatalf("cancelled request: err %v at t0+%v, want context.Canceled at once", pk.err, pk.at.Sub(t0))
		}
		time.Sleep(5 * time.Millisecond)
		synctest.Wait()
		wantCode(t, pd, codes.DeadlineExceeded)
		if pd.at.Sub(t0) != 5*time.Millisecond {
			t.Fatalf("expired request answered at t0+%v, want t0+5ms", pd.at.Sub(t0))
		}
		if pc.finished() {
			t.Fatal("request behind a busy slot finished early")
		}

		f.block <- struct{}{}
		synctest.Wait()
		wantLabel(t, pc, "r:c")
		for i := range f.snapshot() {
			for _, s := range f.texts(t, i) {
				if s == "deadline" || s == "cancel" {
					t.Fatalf("model got %q, whose context ended while queued", s)
				}
			}
		}
	})
}

func TestDoneContextIsNotQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{})
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := b.Predict(ctx, predict.Text("x"), nil)
		if !errors.Is(err, context.Canceled) || len(f.snapshot()) != 0 {
			t.Fatalf("got %v and %d model calls, want context.Canceled and none", err, len(f.snapshot()))
		}
	})
}

func TestQueueIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxQueue: 2, MaxDelay: -1})
		defer b.Close()
		t0 := time.Now()
		first := startText(b, "block")[0] // running, not queued
		synctest.Wait()
		queued := startText(b, "q1", "q2")
		synctest.Wait()
		_, err := b.Predict(context.Background(), predict.Text("over"), nil)
		if got := predict.CodeOf(err); got != codes.ResourceExhausted || time.Since(t0) != 0 {
			t.Fatalf("past MaxQueue: code %v after %v, want ResourceExhausted at once", got, time.Since(t0))
		}
		f.block <- struct{}{}
		synctest.Wait()
		wantLabel(t, first, "r:block")
		wantLabel(t, queued[0], "r:q1")
		wantLabel(t, queued[1], "r:q2")
		res, err := b.Predict(context.Background(), predict.Text("after"), nil)
		if err != nil || res.Label.String() != "r:after" {
			t.Fatalf("after the queue drained: (%q, %v)", res.Label.String(), err)
		}
	})
}

// runQueued sends "block", queues texts behind it, releases the block and
// returns the queued requests once they are answered.
func runQueued(t *testing.T, f *fake, b *batch.Batcher, texts ...string) []*pending {
	t.Helper()
	startText(b, "block")
	synctest.Wait()
	ps := startText(b, texts...)
	synctest.Wait()
	f.block <- struct{}{}
	synctest.Wait()
	return ps
}

func TestItemErrorsReachOnlyTheirRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxDelay: -1})
		defer b.Close()
		ps := runQueued(t, f, b, "a", "err1", "b", "err2")
		if got := f.texts(t, 1); len(got) != 4 {
			t.Fatalf("batch %q, want the 4 queued together", got)
		}
		wantLabel(t, ps[0], "r:a")
		wantCode(t, ps[1], codes.InvalidArgument)
		wantLabel(t, ps[2], "r:b")
		wantCode(t, ps[3], codes.InvalidArgument)
		if !strings.Contains(ps[1].err.Error(), "err1") || !strings.Contains(ps[3].err.Error(), "err2") {
			t.Fatalf("item errors crossed: %v / %v", ps[1].err, ps[3].err)
		}
	})
}

func TestBatchFailures(t *testing.T) {
	for _, tc := range []struct {
		bad  string
		want codes.Code
	}{
		{"fail", codes.FailedPrecondition}, // whole-batch error, passed through
		{"short", codes.Internal},          // wrong number of results
		{"badlen", codes.Internal},         // wrong number of item errors
		{"panic", codes.Internal},          // recovered
	} {
		t.Run(tc.bad, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake()
				b := batch.New(f, batch.Config{MaxDelay: -1})
				defer b.Close()
				ps := runQueued(t, f, b, "a", tc.bad, "b")
				for _, p := range ps {
					wantCode(t, p, tc.want)
				}
				// The batcher keeps serving.
				res, err := b.Predict(context.Background(), predict.Text("next"), nil)
				if err != nil || res.Label.String() != "r:next" {
					t.Fatalf("after a failed batch: (%q, %v)", res.Label.String(), err)
				}
			})
		})
	}
}

func TestKindsNeverShareABatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxDelay: -1})
		defer b.Close()
		startText(b, "block")
		synctest.Wait()
		ctx := context.Background()
		var ps []*pending
		for _, in := range []predict.Value{
			predict.Text("t1"), predict.Ints(1), predict.Text("t2"), predict.Ints(2),
			predict.Floats(1.5), predict.Strings("s", "t"),
		} {
			ps = append(ps, start(b, ctx, in))
			synctest.Wait() // keep arrival order
		}
		f.block <- struct{}{}
		synctest.Wait()
		calls := f.snapshot()
		var got [][]string
		for i, c := range calls[1:] {
			for _, in := range c.inputs {
				if in.Kind() != c.inputs[0].Kind() {
					t.Fatalf("batch %d mixes kinds %v and %v", i+1, c.inputs[0].Kind(), in.Kind())
				}
			}
			got = append(got, f.texts(t, i+1))
		}
		want := [][]string{{"t1", "t2"}, {"1", "2"}, {"1.5"}, {"s,t"}}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("batches %q, want %q (oldest head first)", got, want)
		}
		for _, p := range ps {
			if !p.finished() || p.err != nil {
				t.Fatalf("request not answered: %v", p.err)
			}
		}
	})
}

type ctxKey struct{}

func TestBatchContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxDelay: -1})
		defer b.Close()
		t0 := time.Now()
		startText(b, "block")
		synctest.Wait()
		base := context.WithValue(context.Background(), ctxKey{}, "first")
		actx, acancel := context.WithTimeout(base, 10*time.Second)
		defer acancel()
		bctx, bcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer bcancel()
		pa := start(b, actx, predict.Text("block-a"))
		synctest.Wait()
		pb := start(b, bctx, predict.Text("b"))
		synctest.Wait()
		f.block <- struct{}{}
		synctest.Wait() // the batch [block-a b] now runs and blocks

		got := f.snapshot()[1].ctx
		if d, ok := got.Deadline(); !ok || d.Sub(t0) != 20*time.Second {
			t.Fatalf("batch deadline %v (set %v), want the latest: t0+20s", d.Sub(t0), ok)
		}
		if got.Value(ctxKey{}) != "first" {
			t.Fatal("batch context lost the first request's values")
		}
		acancel()
		synctest.Wait()
		wantCode(t, pa, codes.Canceled)
		if got.Err() != nil {
			t.Fatalf("one caller leaving ended the batch context: %v", got.Err())
		}
		bcancel()
		synctest.Wait()
		wantCode(t, pb, codes.Canceled)
		if !errors.Is(got.Err(), context.Canceled) {
			t.Fatalf("every caller gone, batch context err %v, want Canceled", got.Err())
		}
		f.block <- struct{}{}
		synctest.Wait()

		// One request without a deadline: the batch has none.
		startText(b, "block")
		synctest.Wait()
		pc := start(b, actx, predict.Text("c")) // actx is done: never sent
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		pd := start(b, dctx, predict.Text("block-d"))
		pe := startText(b, "e")[0]
		synctest.Wait()
		f.block <- struct{}{}
		synctest.Wait()
		calls := f.snapshot()
		if _, ok := calls[len(calls)-1].ctx.Deadline(); ok {
			t.Fatal("batch has a deadline though one request has none")
		}
		f.block <- struct{}{}
		synctest.Wait()
		wantCode(t, pc, codes.Canceled)
		wantLabel(t, pd, "r:block-d")
		wantLabel(t, pe, "r:e")
	})
}

func TestCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{MaxDelay: time.Hour})
		t0 := time.Now()
		first := startText(b, "block")[0]
		synctest.Wait()
		queued := startText(b, "q")[0]
		synctest.Wait()
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v while a batch ran", err)
		default:
		}
		_, err := b.Predict(context.Background(), predict.Text("late"), nil)
		if got := predict.CodeOf(err); got != codes.Unavailable {
			t.Fatalf("Predict after Close: code %v, want Unavailable", got)
		}
		f.block <- struct{}{}
		synctest.Wait()
		wantLabel(t, first, "r:block")
		wantLabel(t, queued, "r:q") // flushed without waiting for MaxDelay
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(t0); d != 0 {
			t.Fatalf("Close took %v of fake time, want 0 (no MaxDelay wait)", d)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		for i := range f.snapshot() {
			if slices.Contains(f.texts(t, i), "late") {
				t.Fatal("a request made after Close reached the model")
			}
		}
	})
}

func TestShutdownIsBoundedByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := batch.New(f, batch.Config{})
		first := startText(b, "block")[0]
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a batch stuck: %v, want DeadlineExceeded", err)
		}
		f.block <- struct{}{}
		if err := b.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		synctest.Wait()
		wantLabel(t, first, "r:block")
	})
}

func TestUnknownKindIsInvalid(t *testing.T) {
	f := newFake()
	b := batch.New(f, batch.Config{})
	defer b.Close()
	_, err := b.Predict(context.Background(), predict.Value{}, nil)
	// The zero Value is a kind of its own; the model decides about it.
	if err != nil {
		t.Fatalf("zero Value: %v", err)
	}
	if got := f.texts(t, 0); !slices.Equal(got, []string{""}) {
		t.Fatalf("model got %q", got)
	}
}

// TestContextEndingAsSlotFrees races a caller leaving against its batch
// being formed: whichever wins, the caller gets its context's error and the
// model never sees its request.
func TestContextEndingAsSlotFrees(t *testing.T) {
	for range 50 {
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			b := batch.New(f, batch.Config{MaxDelay: -1})
			defer b.Close()
			startText(b, "block")
			synctest.Wait()
			ctx, cancel := context.WithCancel(context.Background())
			gone := start(b, ctx, predict.Text("gone"))
			synctest.Wait()
			kept := startText(b, "kept")[0]
			cancel()
			f.block <- struct{}{}
			synctest.Wait()
			wantCode(t, gone, codes.Canceled)
			wantLabel(t, kept, "r:kept")
			if got := f.texts(t, 1); !slices.Equal(got, []string{"kept"}) {
				t.Fatalf("second batch %q, want [kept]", got)
			}
		})
	}
}
