package client

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// ModelStatus is one model as the server reports it: its policy, what
// serves, and every version it knows. The JSON form is what
// `swapwire models -o json` prints.
type ModelStatus struct {
	Name           string           `json:"name"`
	Default        bool             `json:"default"`                  // it answers requests that name no model
	ServingVersion int64            `json:"serving_version"`          // 0 when none serves
	PinnedVersion  int64            `json:"pinned_version,omitempty"` // 0 follows the latest
	Labels         map[string]int64 `json:"labels,omitempty"`
	Weights        []VersionWeight  `json:"weights,omitempty"` // the traffic split in force, by version
	// StoreError says why the server keeps its last good state instead of
	// following the store, or is empty.
	StoreError string          `json:"store_error,omitempty"`
	Versions   []VersionStatus `json:"versions"` // ascending
}

// VersionWeight is one version's share of a traffic split.
type VersionWeight struct {
	Version int64 `json:"version"`
	Weight  int32 `json:"weight"`
}

// VersionStatus is one version of a model.
type VersionStatus struct {
	Version      int64          `json:"version"`
	State        string         `json:"state"`           // available, loading, serving, standby, draining or failed
	Error        string         `json:"error,omitempty"` // why it failed, in full
	LoadDuration time.Duration  `json:"-"`
	LoadedAt     time.Time      `json:"loaded_at,omitzero"`
	InFlight     int64          `json:"in_flight"`
	Workers      []WorkerStatus `json:"workers,omitempty"` // for a version served by worker processes
}

// WorkerStatus is one worker process (or slot) behind a version.
type WorkerStatus struct {
	ID       int       `json:"id"`
	PID      int       `json:"pid,omitempty"` // 0 while none runs
	State    string    `json:"state"`         // starting, idle, busy, restarting, failed or stopped
	Since    time.Time `json:"since,omitzero"`
	Restarts int       `json:"restarts"`
	Error    string    `json:"error,omitempty"`
	// RetryAt is when a slot given up after a crash loop (State "failed")
	// is tried again.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// MarshalJSON writes LoadDuration as load_seconds, a float.
func (v VersionStatus) MarshalJSON() ([]byte, error) {
	type plain VersionStatus
	return json.Marshal(struct {
		plain
		LoadSeconds float64 `json:"load_seconds,omitempty"`
	}{plain(v), v.LoadDuration.Seconds()})
}

// Version returns the status of version v, and whether the model has it.
func (m ModelStatus) Version(v int64) (VersionStatus, bool) {
	for _, vs := range m.Versions {
		if vs.Version == v {
			return vs, true
		}
	}
	return VersionStatus{}, false
}

func modelFromProto(p *swapwirev1.ModelStatus) ModelStatus {
	m := ModelStatus{
		Name:           p.GetName(),
		Default:        p.GetDefault(),
		ServingVersion: p.GetServingVersion(),
		PinnedVersion:  p.GetPinnedVersion(),
		StoreError:     p.GetStoreError(),
		Versions:       []VersionStatus{},
	}
	if len(p.GetLabels()) > 0 {
		m.Labels = map[string]int64{}
		for k, v := range p.GetLabels() {
			m.Labels[k] = v
		}
	}
	for _, w := range p.GetWeights() {
		m.Weights = append(m.Weights, VersionWeight{Version: w.GetVersion(), Weight: w.GetWeight()})
	}
	sort.Slice(m.Weights, func(i, j int) bool { return m.Weights[i].Version < m.Weights[j].Version })
	for _, v := range p.GetVersions() {
		vs := VersionStatus{
			Version:  v.GetVersion(),
			State:    strings.ToLower(strings.TrimPrefix(v.GetState().String(), "VERSION_STATE_")),
			Error:    v.GetError(),
			InFlight: v.GetInFlight(),
		}
		if d := v.GetLoadDuration(); d != nil {
			vs.LoadDuration = d.AsDuration()
		}
		if t := v.GetLoadedAt(); t != nil {
			vs.LoadedAt = t.AsTime()
		}
		for _, w := range v.GetWorkers() {
			ws := WorkerStatus{ID: int(w.GetId()), PID: int(w.GetPid()), State: w.GetState(), Restarts: int(w.GetRestarts()), Error: w.GetError()}
			if t := w.GetSince(); t != nil {
				ws.Since = t.AsTime()
			}
			if t := w.GetRetryAt(); t != nil {
				ws.RetryAt = t.AsTime()
			}
			vs.Workers = append(vs.Workers, ws)
		}
		m.Versions = append(m.Versions, vs)
	}
	return m
}

// Models lists every model the server serves, sorted by name.
func (c *Client) Models(ctx context.Context) ([]ModelStatus, error) {
	return c.list(ctx, "")
}

// Model returns one model's status ("" for the default model).
func (c *Client) Model(ctx context.Context, name string) (ModelStatus, error) {
	ms, err := c.list(ctx, name)
	if err != nil {
		return ModelStatus{}, err
	}
	for _, m := range ms {
		if name == "" && m.Default || m.Name == name {
			return m, nil
		}
	}
	if len(ms) == 1 {
		return ms[0], nil
	}
	return ModelStatus{}, errNotListed(name)
}

func (c *Client) list(ctx context.Context, name string) ([]ModelStatus, error) {
	resp, err := c.admin.ListModels(ctx, &swapwirev1.ListModelsRequest{Model: name})
	if err != nil {
		return nil, err
	}
	out := make([]ModelStatus, 0, len(resp.GetModels()))
	for _, m := range resp.GetModels() {
		out = append(out, modelFromProto(m))
	}
	return out, nil
}

// Switch pins model to version, or makes it follow the latest version when
// version is 0. With wait, it returns only once that version serves
// (FailedPrecondition when it fails to load); else as soon as the policy
// is written to the store. It returns the model's state after the change.
func (c *Client) Switch(ctx context.Context, model string, version int64, wait bool) (ModelStatus, error) {
	resp, err := c.admin.SwitchModel(ctx, &swapwirev1.SwitchModelRequest{Model: model, Version: version, Wait: wait})
	if err != nil {
		return ModelStatus{}, err
	}
	return modelFromProto(resp.GetStatus()), nil
}

// SetLabel points label at version, or removes it when version is 0.
func (c *Client) SetLabel(ctx context.Context, model, label string, version int64) (ModelStatus, error) {
	resp, err := c.admin.SetLabel(ctx, &swapwirev1.SetLabelRequest{Model: model, Label: label, Version: version})
	if err != nil {
		return ModelStatus{}, err
	}
	return modelFromProto(resp.GetStatus()), nil
}

// Split shares the model's unnamed traffic among versions by weight; no
// weights sends it all to the serving version again.
func (c *Client) Split(ctx context.Context, model string, weights ...VersionWeight) (ModelStatus, error) {
	req := &swapwirev1.SplitTrafficRequest{Model: model}
	for _, w := range weights {
		req.Weights = append(req.Weights, &swapwirev1.VersionWeight{Version: w.Version, Weight: w.Weight})
	}
	resp, err := c.admin.SplitTraffic(ctx, req)
	if err != nil {
		return ModelStatus{}, err
	}
	return modelFromProto(resp.GetStatus()), nil
}

// Rollback pins the model to the good version that served before the
// current one, and returns the versions it moved from and to.
func (c *Client) Rollback(ctx context.Context, model string) (from, to int64, err error) {
	resp, err := c.admin.Rollback(ctx, &swapwirev1.RollbackRequest{Model: model})
	if err != nil {
		return 0, 0, err
	}
	return resp.GetFromVersion(), resp.GetToVersion(), nil
}

// Delete removes a version from the store. The serving version cannot be
// deleted.
func (c *Client) Delete(ctx context.Context, model string, version int64) error {
	_, err := c.admin.DeleteVersion(ctx, &swapwirev1.DeleteVersionRequest{Model: model, Version: version})
	return err
}

// PollInterval is how often WaitModel asks the server again.
const PollInterval = 100 * time.Millisecond

// WaitModel polls the model's status until done reports true or an error,
// or ctx ends, and returns the last status seen. done's error ends the wait
// at once (say, a version that failed).
func (c *Client) WaitModel(ctx context.Context, model string, done func(ModelStatus) (bool, error)) (ModelStatus, error) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		m, err := c.Model(ctx, model)
		if err != nil {
			return m, err
		}
		ok, err := done(m)
		if ok || err != nil {
			return m, err
		}
		select {
		case <-ctx.Done():
			return m, context.Cause(ctx)
		case <-t.C: // a remote server's state: polling is the only signal
		}
	}
}
