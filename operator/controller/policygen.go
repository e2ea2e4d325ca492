package controller

import "github.com/swapwire/swapwire/modelstore"

// generation is the store's write counter of p.
func generation(p modelstore.Policy) int64 { return p.Generation }
