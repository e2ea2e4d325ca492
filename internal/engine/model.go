package engine

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

// model is one model's serving state.
type model struct {
	name    string
	factory Factory
	snap    atomic.Pointer[snapshot]
	kick    chan struct{}

	mu       sync.Mutex // guards the fields below
	status   map[int64]*versionStatus
	draining map[int64]*version
	history  []int64 // serving versions, oldest first, without repeats in a row
	policy   modelstore.Policy
	inStore  []int64
	health   error // from predict.Checker
	// storeErr says why the store's word was not taken on the last
	// reconcile (it failed, listed no versions, or the policy is invalid)
	// and the last good state was kept; nil when all was well.
	storeErr error
	// policyKnown says whether policy holds a policy read from the store.
	policyKnown bool
}

// versionStatus records a version's load outcome.
type versionStatus struct {
	loading  bool
	err      error
	errGen   int64 // the store generation the failure belongs to
	loadDur  time.Duration
	loadedAt time.Time
}

// snapshot is an immutable view of a model that requests read without locks.
type snapshot struct {
	serving *version
	loaded  map[int64]*version
	labels  map[string]int64
	split   *split // nil: unnamed traffic goes to serving
}

// split shares unnamed traffic among loaded versions by weight.
type split struct {
	versions []*version
	cum      []int // cumulative weights, ascending
	weights  map[int64]int
}

// pick chooses a version with probability proportional to its weight.
func (sp *split) pick() *version {
	r := rand.IntN(sp.cum[len(sp.cum)-1])
	i, _ := slices.BinarySearch(sp.cum, r+1)
	return sp.versions[i]
}

// newSplit returns the split among the weighted versions that are loaded,
// or nil when none of them is.
func newSplit(weights map[int64]int, loaded map[int64]*version) *split {
	nums := make([]int64, 0, len(weights))
	for num, w := range weights {
		if w > 0 && loaded[num] != nil {
			nums = append(nums, num)
		}
	}
	if len(nums) == 0 {
		return nil
	}
	slices.Sort(nums)
	sp := &split{weights: map[int64]int{}}
	total := 0
	for _, num := range nums {
		total += weights[num]
		sp.versions = append(sp.versions, loaded[num])
		sp.cum = append(sp.cum, total)
		sp.weights[num] = weights[num]
	}
	return sp
}

// previous returns the newest version that served before cur, is still in
// the store and has not failed, or 0.
func (m *model) previous(cur int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.history) - 1; i >= 0; i-- {
		num := m.history[i]
		if num == cur || !slices.Contains(m.inStore, num) {
			continue
		}
		if st := m.status[num]; st != nil && st.err != nil {
			continue
		}
		return num
	}
	return 0
}

// acquire returns a referenced version of the model for one request: the
// pinned version, the labelled one, or the serving one.
func (m *model) acquire(num int64, label string) (*version, error) {
	for {
		s := m.snap.Load()
		var v *version
		switch {
		case num > 0:
			v = s.loaded[num]
			if v == nil {
				return nil, predict.Errorf(codes.NotFound, "model %q version %d is not loaded (loaded: %v)", m.name, num, loadedNums(s))
			}
		case label != "":
			n, ok := s.labels[label]
			if !ok {
				return nil, predict.Errorf(codes.NotFound, "model %q has no label %q", m.name, label)
			}
			v = s.loaded[n]
			if v == nil {
				return nil, predict.Errorf(codes.NotFound, "model %q label %q points at version %d, which is not loaded", m.name, label, n)
			}
		case s.split != nil:
			v = s.split.pick()
		default:
			v = s.serving
			if v == nil {
				return nil, predict.Errorf(codes.Unavailable, "model %q has no version loaded yet", m.name)
			}
		}
		if v.acquire() {
			return v, nil
		}
		// The version was unloaded between reading the snapshot and taking
		// the reference; a newer snapshot is already in place.
	}
}

// acquireServing returns a referenced serving version, ignoring any
// traffic split: for health checks and evaluations.
func (m *model) acquireServing() (*version, error) {
	for {
		v := m.snap.Load().serving
		if v == nil {
			return nil, predict.Errorf(codes.Unavailable, "model %q has no version loaded yet", m.name)
		}
		if v.acquire() {
			return v, nil
		}
	}
}

func loadedNums(s *snapshot) []int64 {
	nums := make([]int64, 0, len(s.loaded))
	for n := range s.loaded {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums
}
