package engine

import "github.com/swapwire/swapwire/internal/batch"

// The attributes Swapwire sets on a request's span when tracing is on
// (see Config.Tracer).
const (
	AttrModel     = "swapwire.model"
	AttrVersion   = "swapwire.version"
	AttrBatchSize = batch.AttrBatchSize
	AttrQueueTime = batch.AttrQueueTime
)
