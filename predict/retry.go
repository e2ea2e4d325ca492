package predict

import "context"

// Retrier is implemented by a Predictor whose parts can be given up for a
// while and brought back, such as a pool of worker processes that stopped
// restarting a crash-looping worker for a cool-down. Retry starts bringing
// them back now instead of at the end of the cool-down; it returns without
// waiting for them, and does nothing to parts that serve. The server calls
// it when an operator asks for the version again (a switch or a reload of
// the version that serves).
type Retrier interface {
	Retry(ctx context.Context) error
}
