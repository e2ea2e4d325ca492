//go:build !linux

package sidecar

// procUsage is not implemented outside Linux: it reports zeros.
func procUsage(int) (cpuSeconds float64, rssBytes int64) { return 0, 0 }
