package serving

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// newBuildInfo returns the gauge swapwire_build_info, always 1, whose
// labels say what runs: the Swapwire library version, the VCS revision the
// binary was built from ("unknown" without one, with "-dirty" for a
// modified tree) and the Go version.
func newBuildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "swapwire_build_info",
		Help: "Always 1; the labels say which Swapwire version, VCS revision and Go version run.",
		ConstLabels: prometheus.Labels{
			"version":   Version,
			"revision":  buildRevision(),
			"goversion": runtime.Version(),
		},
	})
	g.Set(1)
	return g
}

// buildRevision returns the VCS revision the Go toolchain stamped into the
// binary, or "unknown".
func buildRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
