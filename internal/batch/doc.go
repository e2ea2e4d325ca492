// Package batch gives a [predict.BatchPredictor] dynamic batching: concurrent
// Predict calls are gathered into PredictBatch calls.
//
// A [Batcher] runs at most Config.Slots batches at once. The rules, in order:
//
//   - Idle means no wait. A request that finds a slot free and no request of
//     its kind queued is sent at once, as a batch of one, in its caller's
//     goroutine and with its caller's context.
//   - Otherwise it queues. Requests arriving while every slot is busy wait
//     in a queue per input kind; inputs of different kinds never share a
//     batch.
//   - When a slot is free, the queue whose oldest request is oldest among
//     the ready queues is sent as one batch of up to Config.MaxBatchSize
//     requests. A queue is ready when it holds MaxBatchSize requests, or its
//     oldest request has waited MaxDelay (counted from its arrival, so time
//     spent behind busy slots counts), or the Batcher is closing. A queue
//     that is not ready waits for whichever comes first. So a request waits
//     at most until a slot is free or MaxDelay has passed, whichever is
//     later, and never waits when the batcher is idle.
//   - Each request keeps its own context. One whose context ends while
//     queued is answered at once with the context's error and is never sent
//     to the model; one whose context ends while its batch runs is answered
//     at once too, and its result is dropped.
//   - The queue is bounded: past Config.MaxQueue queued requests, Predict
//     answers ResourceExhausted at once.
//
// MaxDelay is the price of batching: a request that queued behind busy slots
// may wait up to MaxDelay after a slot frees, for its batch to fill. Choose
// MaxBatchSize no larger than the number of requests that are really
// concurrent, or a negative MaxDelay to send whatever is queued as soon as a
// slot frees.
//
// PredictBatch gets a context that carries the values of the batch's first
// request, ends at the latest deadline among the batch's requests (never, if
// one has none), and is cancelled only when every caller of the batch has
// gone. Its answer is split per request: an [predict.ItemErrors] error goes
// item by item, any other error goes to every request of the batch, a result
// slice of the wrong length and a panic become Internal errors, and the
// Batcher keeps serving.
package batch
