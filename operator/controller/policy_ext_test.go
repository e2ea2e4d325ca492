package controller_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// storeWithVersions makes a local store holding versions 1..n of model.
func storeWithVersions(t *testing.T, model string, n int) (string, *modelstore.Local) {
	t.Helper()
	root := t.TempDir()
	s, err := modelstore.NewLocal(root, modelstore.WithFSNotify(false))
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= n; v++ {
		src := t.TempDir()
		if err := os.WriteFile(filepath.Join(src, "model.txt"), []byte(fmt.Sprintf("version %d\n", v)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := modelstore.PublishDir(context.Background(), s, model, int64(v), src); err != nil {
			t.Fatal(err)
		}
	}
	return root, s
}

func TestSpecVersionLabelsAndTrafficAreWrittenToTheStorePolicy(t *testing.T) {
	root, store := storeWithVersions(t, "digits", 3)
	ns := namespace(t)
	ms := sample(ns, "pol")
	ms.Spec.Store = v1alpha1.StoreSpec{Volume: &v1alpha1.VolumeStore{HostPath: root}}
	ms.Spec.Models[0].Version = ptr.To[int64](1)
	create(t, ms)

	waitPolicy := func(want modelstore.Policy, serving int64) {
		t.Helper()
		eventually(t, wait, func(ctx context.Context) error {
			p, err := store.Policy(ctx, "digits")
			if err != nil {
				return err
			}
			if p.Pinned != want.Pinned || !maps.Equal(p.Labels, want.Labels) || !maps.Equal(p.Weights, want.Weights) {
				return fmt.Errorf("policy = %+v, want %+v", p, want)
			}
			ms, err := get(ctx, ns, "pol", &v1alpha1.ModelService{})
			if err != nil {
				return err
			}
			if len(ms.Status.Models) != 1 {
				return fmt.Errorf("status models = %+v", ms.Status.Models)
			}
			st := ms.Status.Models[0]
			if st.Name != "digits" || st.ServingVersion != serving || !slices.Equal(st.Versions, []int64{1, 2, 3}) || st.Error != "" {
				return fmt.Errorf("status model = %+v, want serving %d of [1 2 3]", st, serving)
			}
			if ms.Status.ObservedGeneration != ms.Generation {
				return fmt.Errorf("observed generation %d of %d", ms.Status.ObservedGeneration, ms.Generation)
			}
			return nil
		})
	}
	waitPolicy(modelstore.Policy{Pinned: 1}, 1)

	update(t, ns, "pol", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Version = ptr.To[int64](2) })
	waitPolicy(modelstore.Policy{Pinned: 2}, 2)

	update(t, ns, "pol", func(ms *v1alpha1.ModelService) {
		ms.Spec.Models[0].Labels = map[string]int64{"stable": 2, "canary": 3}
		ms.Spec.Models[0].Traffic = []v1alpha1.TrafficWeight{{Version: 2, Weight: 90}, {Version: 3, Weight: 10}}
	})
	waitPolicy(modelstore.Policy{Pinned: 2, Labels: map[string]int64{"stable": 2, "canary": 3}, Weights: map[int64]int{2: 90, 3: 10}}, 2)

	// Unpinned: the policy follows the latest version.
	update(t, ns, "pol", func(ms *v1alpha1.ModelService) {
		ms.Spec.Models[0].Version = nil
		ms.Spec.Models[0].Labels = nil
		ms.Spec.Models[0].Traffic = nil
	})
	waitPolicy(modelstore.Policy{}, 3)

	// Someone else switches the model behind the operator's back: the
	// resource is the source of truth, so the next reconcile puts it back.
	if err := store.SetPolicy(context.Background(), "digits", modelstore.Policy{Pinned: 1}); err != nil {
		t.Fatal(err)
	}
	waitPolicy(modelstore.Policy{}, 3)
}

func TestAPinMissingFromTheStoreDegradesAndKeepsServing(t *testing.T) {
	root, store := storeWithVersions(t, "digits", 1)
	ns := namespace(t)
	ms := sample(ns, "missing")
	ms.Spec.Store = v1alpha1.StoreSpec{Volume: &v1alpha1.VolumeStore{HostPath: root}}
	ms.Spec.Models[0].Version = ptr.To[int64](7)
	create(t, ms)
	eventually(t, wait, func(ctx context.Context) error {
		ms, err := get(ctx, ns, "missing", &v1alpha1.ModelService{})
		if err != nil {
			return err
		}
		c := condition(ms, v1alpha1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "StoreError" {
			return fmt.Errorf("Degraded = %+v", c)
		}
		if len(ms.Status.Models) != 1 || ms.Status.Models[0].Error == "" {
			return fmt.Errorf("status models = %+v, want an error", ms.Status.Models)
		}
		return nil
	})
	// The pin is written (a server that has version 7 later swaps to it),
	// and a Warning event says what is wrong.
	p, err := store.Policy(context.Background(), "digits")
	if err != nil || p.Pinned != 7 {
		t.Errorf("policy = %+v, %v; want pinned 7", p, err)
	}
	eventually(t, wait, func(ctx context.Context) error {
		list := &eventsv1.EventList{}
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Regarding.Name == "missing" && e.Regarding.Namespace == ns && e.Type == corev1.EventTypeWarning && e.Reason == "PolicyFailed" {
				return nil
			}
		}
		return fmt.Errorf("no PolicyFailed warning among %d events", len(list.Items))
	})
}
