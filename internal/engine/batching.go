package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/swapwire/swapwire/internal/batch"
	"github.com/swapwire/swapwire/predict"
)

// BatchingFile is the name of an optional file in a version directory that
// overrides the server's batching for that version, for example
//
//	{"max_batch_size": 32, "max_delay": "2ms", "slots": 4, "max_queue": 512}
//
// A max_batch_size of 0 or 1 turns batching off for the version.
const BatchingFile = "batching.json"

type batchingFile struct {
	MaxBatchSize *int    `json:"max_batch_size"`
	MaxDelay     *string `json:"max_delay"`
	Slots        *int    `json:"slots"`
	MaxQueue     *int    `json:"max_queue"`
}

// BatchConfig configures dynamic batching for models whose Predictor
// implements predict.BatchPredictor.
type BatchConfig struct {
	// MaxBatchSize is the largest batch; 0 or 1 turns batching off.
	MaxBatchSize int
	// MaxDelay is how long a queued request may keep a free slot waiting
	// for its batch to fill (never on an idle engine); negative sends a
	// partial batch as soon as a slot is free. See batch.Config.
	MaxDelay time.Duration
	// Slots is how many batches may run at once; 0 means the predictor's
	// concurrency (the workers of a pool), else GOMAXPROCS. A CPU-bound Go
	// model forms batches only with fewer slots than GOMAXPROCS: see
	// docs/benchmarks.md.
	Slots int
	// MaxQueue bounds the requests waiting; past it requests get
	// RESOURCE_EXHAUSTED. 0 means 1024.
	MaxQueue int
}

// concurrency is implemented by predictors that know how many requests
// they can run at once, such as a pool of worker processes; a batcher then
// runs that many batches at once.
type concurrency interface {
	Concurrency() int
}

// BatchConfigFor returns the batching configuration for a version: the
// server's, overridden by the version's batching.json.
func (e *Engine) BatchConfigFor(dir string) (BatchConfig, error) {
	cfg := e.cfg.Batch
	data, err := os.ReadFile(filepath.Join(dir, BatchingFile))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	var f batchingFile
	if err := json.Unmarshal(data, &f); err != nil {
		return cfg, fmt.Errorf("%s: %w", BatchingFile, err)
	}
	if f.MaxBatchSize != nil {
		cfg.MaxBatchSize = *f.MaxBatchSize
	}
	if f.MaxDelay != nil {
		d, err := time.ParseDuration(*f.MaxDelay)
		if err != nil {
			return cfg, fmt.Errorf("%s: max_delay: %w", BatchingFile, err)
		}
		cfg.MaxDelay = d
	}
	if f.Slots != nil {
		cfg.Slots = *f.Slots
	}
	if f.MaxQueue != nil {
		cfg.MaxQueue = *f.MaxQueue
	}
	return cfg, nil
}

// wrapBatching returns the predictor requests should call for v: a batcher
// when v's predictor can batch and batching is on, else the predictor.
func (e *Engine) wrapBatching(v *version) (predict.Predictor, error) {
	bp, ok := v.p.(predict.BatchPredictor)
	if !ok {
		return v.p, nil
	}
	cfg, err := e.BatchConfigFor(v.dir)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBatchSize <= 1 {
		return v.p, nil
	}
	slots := cfg.Slots
	if slots <= 0 {
		if c, ok := v.p.(concurrency); ok {
			slots = c.Concurrency()
		} else {
			slots = runtime.GOMAXPROCS(0)
		}
	}
	b := batch.New(bp, batch.Config{
		MaxBatchSize: cfg.MaxBatchSize,
		MaxDelay:     cfg.MaxDelay,
		Slots:        slots,
		MaxQueue:     cfg.MaxQueue,
		Metrics:      e.metrics.batch,
		Model:        v.model,
		Version:      strconv.FormatInt(v.num, 10),
		Tracer:       e.cfg.Tracer,
	})
	v.batcher = b
	e.log.Info("batching on", "model", v.model, "version", v.num, "max_batch_size", cfg.MaxBatchSize, "max_delay_seconds", cfg.MaxDelay.Seconds(), "slots", slots)
	return b, nil
}
