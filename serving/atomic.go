package serving

import "sync/atomic"

type atomicSnapshot = atomic.Pointer[snapshot]
