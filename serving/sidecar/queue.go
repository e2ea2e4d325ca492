package sidecar

import (
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// Bounds of the wait for a worker; see Config.MaxQueue and QueueTimeout.
const (
	DefaultMaxQueue     = 1024
	DefaultQueueTimeout = 30 * time.Second
)

// slotQueue bounds the requests that wait for a busy worker: at most max
// wait at once, and each waits at most timeout. A request over either
// bound fails with RESOURCE_EXHAUSTED at once instead of queueing until its
// deadline, so an overloaded pool sheds load that a client or a load
// balancer can send elsewhere.
type slotQueue struct {
	max     int64
	timeout time.Duration
	waiting atomic.Int64
}

func newSlotQueue(max int, timeout time.Duration) *slotQueue {
	if max <= 0 {
		max = DefaultMaxQueue
	}
	if timeout <= 0 {
		timeout = DefaultQueueTimeout
	}
	return &slotQueue{max: int64(max), timeout: timeout}
}

// enter counts one more waiting request, or refuses it when max already
// wait; leave must be called after a successful enter.
func (q *slotQueue) enter(workers int) error {
	if n := q.waiting.Add(1); n > q.max {
		q.waiting.Add(-1)
		return predict.Errorf(codes.ResourceExhausted, "sidecar: all %d workers are busy and %d requests already wait for one (MaxQueue)", workers, q.max)
	}
	return nil
}

func (q *slotQueue) leave() { q.waiting.Add(-1) }

// expired is the error of a request that waited timeout for a worker.
func (q *slotQueue) expired(workers int) error {
	return predict.Errorf(codes.ResourceExhausted, "sidecar: no worker of %d became idle within %v (QueueTimeout)", workers, q.timeout)
}
