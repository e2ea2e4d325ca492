package batch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// costModel charges a fixed overhead per call plus a small cost per item,
// and runs one call at a time, like a model on one accelerator or one
// interpreter. The cost is CPU work (an LCG loop), not sleeping.
type costModel struct {
	fixed, perItem int

	mu      sync.Mutex
	sink    uint64
	calls   atomic.Int64
	inItems atomic.Int64
}

func (m *costModel) work(items int) uint64 {
	x := uint64(1)
	for range m.fixed + items*m.perItem {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func (m *costModel) Load(context.Context, string) error { return nil }

func (m *costModel) Predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	m.mu.Lock()
	m.sink += m.work(1)
	m.mu.Unlock()
	m.calls.Add(1)
	m.inItems.Add(1)
	return predict.Result{Label: in}, nil
}

func (m *costModel) PredictBatch(ctx context.Context, reqs []predict.Request) ([]predict.Result, error) {
	m.mu.Lock()
	m.sink += m.work(len(reqs))
	m.mu.Unlock()
	m.calls.Add(1)
	m.inItems.Add(int64(len(reqs)))
	res := make([]predict.Result, len(reqs))
	for i, r := range reqs {
		res[i] = predict.Result{Label: r.Input}
	}
	return res, nil
}

// benchModel runs b.N predictions from 8 goroutines per GOMAXPROCS through p
// and reports the mean items per model call.
func benchModel(b *testing.B, m *costModel, p predict.Predictor) {
	b.ReportAllocs()
	b.SetParallelism(8)
	in := predict.Floats(1, 2, 3, 4)
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := p.Predict(ctx, in, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if c := m.calls.Load(); c > 0 {
		b.ReportMetric(float64(m.inItems.Load())/float64(c), "items/call")
	}
}

const (
	benchFixed   = 20000 // about 10µs of work per call
	benchPerItem = 500
)

// BenchmarkBatcherOff calls the model's Predict directly.
func BenchmarkBatcherOff(b *testing.B) {
	m := &costModel{fixed: benchFixed, perItem: benchPerItem}
	benchModel(b, m, m)
}

// BenchmarkBatcherOn sends the same load through a Batcher.
func BenchmarkBatcherOn(b *testing.B) {
	for _, cfg := range []struct {
		name string
		cfg  batch.Config
	}{
		{"max8", batch.Config{MaxBatchSize: 8}},
		{"max32", batch.Config{MaxBatchSize: 32}},
		{"max32-nodelay", batch.Config{MaxBatchSize: 32, MaxDelay: -1}},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			m := &costModel{fixed: benchFixed, perItem: benchPerItem}
			bt := batch.New(m, cfg.cfg)
			defer bt.Close()
			benchModel(b, m, bt)
		})
	}
}

// BenchmarkBatcherIdle measures the overhead a lone caller pays: one
// request at a time, so every batch has one item and nothing waits.
func BenchmarkBatcherIdle(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			m := &costModel{fixed: 0, perItem: 0}
			var p predict.Predictor = m
			if on {
				bt := batch.New(m, batch.Config{})
				defer bt.Close()
				p = bt
			}
			b.ReportAllocs()
			ctx := context.Background()
			in := predict.Text("x")
			for b.Loop() {
				if _, err := p.Predict(ctx, in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
