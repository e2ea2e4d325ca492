package engine

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/swapwire/swapwire/predict"
)

// VersionState is where one version of a model stands.
type VersionState int

// The states of a version.
const (
	StateAvailable VersionState = iota // in the store, not loaded
	StateLoading                       // being loaded and warmed
	StateStandby                       // loaded, answering only requests that name it (version, label, split)
	StateServing                       // loaded and answering the model's unnamed traffic
	StateDraining                      // replaced; finishing its requests in flight
	StateFailed                        // its load failed; see Err
)

var stateNames = [...]string{"available", "loading", "standby", "serving", "draining", "failed"}

// String returns the state's lower-case name, such as "serving".
func (s VersionState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// VersionStatus describes one version of a model.
type VersionStatus struct {
	Version      int64
	State        VersionState
	Err          error         // why its load failed (StateFailed)
	LoadDuration time.Duration // how long its last load took, if it was loaded
	LoadedAt     time.Time     // when it finished loading, if it is loaded
	InFlight     int64         // requests running on it now
	Batching     bool          // whether its requests go through a dynamic batcher
	Workers      []predict.WorkerStatus
}

// ModelStatus describes one model: its policy as last read from the store,
// what serves, and every version known from the store or in memory.
type ModelStatus struct {
	Name    string
	Default bool             // it answers requests that name no model
	Serving int64            // the serving version; 0 when none
	Pinned  int64            // the policy's pinned version; 0 follows the latest
	Labels  map[string]int64 // the labels in force
	Weights map[int64]int    // the policy's traffic weights
	Split   map[int64]int    // the weights in force: of versions loaded
	Health  error            // why the serving version's predictor says it cannot answer, or nil
	// StoreErr says why the server keeps its last good state instead of
	// following the store (the store failed, listed no version, or holds
	// an invalid policy), or nil.
	StoreErr error
	Versions []VersionStatus // ascending
}

// Loaded returns the versions that are loaded (serving or standby).
func (s ModelStatus) Loaded() []int64 {
	var out []int64
	for _, v := range s.Versions {
		if v.State == StateServing || v.State == StateStandby {
			out = append(out, v.Version)
		}
	}
	return out
}

// Models returns the status of every model, sorted by name.
func (e *Engine) Models() []ModelStatus {
	def := e.DefaultModel()
	list := e.modelList()
	out := make([]ModelStatus, 0, len(list))
	for _, m := range list {
		out = append(out, m.report(m.name == def))
	}
	return out
}

// Model returns the status of one model ("" for the default model).
func (e *Engine) Model(name string) (ModelStatus, error) {
	m, err := e.lookup(name)
	if err != nil {
		return ModelStatus{}, err
	}
	return m.report(m.name == e.DefaultModel()), nil
}

// report returns the model's status.
func (m *model) report(isDefault bool) ModelStatus {
	snap := m.snap.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	st := ModelStatus{
		Name:     m.name,
		Default:  isDefault,
		Pinned:   m.policy.Pinned,
		Labels:   maps.Clone(snap.labels),
		Weights:  maps.Clone(m.policy.Weights),
		Health:   m.health,
		StoreErr: m.storeErr,
	}
	if snap.split != nil {
		st.Split = maps.Clone(snap.split.weights)
	}
	nums := slices.Clone(m.inStore)
	for n := range snap.loaded {
		nums = append(nums, n)
	}
	for n := range m.draining {
		nums = append(nums, n)
	}
	for n := range m.status {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	nums = slices.Compact(nums)
	if snap.serving != nil {
		st.Serving = snap.serving.num
	}
	for _, n := range nums {
		vs := VersionStatus{Version: n, State: StateAvailable}
		if rec := m.status[n]; rec != nil {
			switch {
			case rec.loading:
				vs.State = StateLoading
			case rec.err != nil:
				vs.State = StateFailed
				vs.Err = rec.err
			}
			vs.LoadDuration = rec.loadDur
			vs.LoadedAt = rec.loadedAt
		}
		v := m.draining[n]
		if v != nil {
			vs.State = StateDraining
			vs.InFlight = v.inFlight(false)
		}
		if lv := snap.loaded[n]; lv != nil {
			v = lv
			vs.State = StateStandby
			vs.InFlight = v.inFlight(true)
			if v == snap.serving {
				vs.State = StateServing
			}
		}
		if v != nil {
			vs.Batching = v.batcher != nil
			if wr, ok := v.p.(predict.WorkerReporter); ok {
				vs.Workers = wr.Workers()
			}
		}
		st.Versions = append(st.Versions, vs)
	}
	return st
}

// Loaded reports whether the model ("" for the default) has version
// loaded, or with version 0, serves any version. An unknown model is an
// error with code NotFound (Unavailable for the default model).
func (e *Engine) Loaded(model string, version int64) (bool, error) {
	m, err := e.lookup(model)
	if err != nil {
		return false, err
	}
	snap := m.snap.Load()
	if version == 0 {
		return snap.serving != nil, nil
	}
	return snap.loaded[version] != nil, nil
}
