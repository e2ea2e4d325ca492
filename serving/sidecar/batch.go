package sidecar

import (
	"context"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// batchCaller runs fn on one worker; info is what the worker's Info said
// (PredictBatch, packed batches).
type batchCaller func(ctx context.Context, fn func(ctx context.Context, c *frameConn, info *workerv1.InfoResponse) error) error

// predictBatch sends reqs to one worker's PredictBatch through call, or,
// when workers do not batch, runs them through single with up to fanout
// items at once. noBatch remembers that workers do not batch. version names
// the model version for the worker; empty for the only one it holds.
func predictBatch(ctx context.Context, reqs []predict.Request, version string, fanout int, noBatch *atomic.Bool,
	call batchCaller, single func(context.Context, *workerv1.PredictRequest) (predict.Result, error),
) ([]predict.Result, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	results := make([]predict.Result, len(reqs))
	errs := make(predict.ItemErrors, len(reqs))
	items := make([]*workerv1.PredictRequest, len(reqs))
	var batch []*workerv1.PredictRequest
	var index []int // batch position → request position
	for i, r := range reqs {
		items[i], errs[i] = valueconv.RequestToProto(r)
		if errs[i] == nil {
			batch = append(batch, items[i])
			index = append(index, i)
		}
	}
	if len(batch) == 0 {
		return results, errs
	}

	if !noBatch.Load() {
		var resp *workerv1.PredictBatchResponse
		skipped, packed := false, false
		err := call(ctx, func(ctx context.Context, c *frameConn, info *workerv1.InfoResponse) error {
			if !info.GetBatch() {
				skipped = true
				return nil
			}
			req := &workerv1.PredictBatchRequest{Version: version}
			if info.GetPackedBatch() {
				req.Packed = valueconv.PackInputs(batch)
			}
			if packed = req.Packed != nil; !packed {
				req.Items = batch
			}
			var err error
			resp, err = callPredictBatch(ctx, c, req)
			return err
		})
		switch {
		case skipped || predict.CodeOf(err) == codes.Unimplemented:
			noBatch.Store(true)
		case err != nil:
			return nil, err
		case resp.GetPacked() != nil:
			if !packed {
				return nil, predict.Errorf(codes.Internal, "sidecar: the worker answered a batch of items with packed results")
			}
			got, err := valueconv.ResultsFromPacked(resp.GetPacked(), len(batch))
			if err != nil {
				return nil, predict.Errorf(codes.Internal, "sidecar: the worker sent bad results: %w", err)
			}
			for j, r := range got {
				results[index[j]] = r
			}
			return finishBatch(results, errs)
		default:
			got := resp.GetResults()
			if len(got) != len(batch) {
				return nil, predict.Errorf(codes.Internal,
					"sidecar: the worker answered %d results for a batch of %d", len(got), len(batch))
			}
			for j, r := range got {
				i := index[j]
				if e := r.GetError(); e != nil {
					errs[i] = valueconv.ErrorFromProto(e)
					continue
				}
				results[i], errs[i] = resultFromProto(r.GetResponse())
			}
			return finishBatch(results, errs)
		}
	}

	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(fanout, len(batch)) {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(batch) {
					return
				}
				i := index[j]
				results[i], errs[i] = single(ctx, items[i])
			}
		})
	}
	wg.Wait()
	return finishBatch(results, errs)
}

func finishBatch(results []predict.Result, errs predict.ItemErrors) ([]predict.Result, error) {
	for _, err := range errs {
		if err != nil {
			return results, errs
		}
	}
	return results, nil
}
