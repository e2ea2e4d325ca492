package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

func testLogger() logr.Logger {
	level := slog.LevelWarn
	if os.Getenv("SWAPWIRE_OPERATOR_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// eventually calls check until it returns nil, for at most timeout; the
// test fails with check's last error. The API server answers through a
// watch in the reconciler, so the tests poll with a bound.
func eventually(t *testing.T, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	// last is the newest error not caused by the deadline itself, which
	// says more than "context deadline exceeded".
	var last error
	for {
		err := check(ctx)
		if err == nil {
			return
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %v: %v", timeout, last)
		case <-tick.C:
		}
	}
}

var nsCounter atomic.Int64

// namespace creates a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
	if len(name) > 60 {
		name = name[:60]
	}
	name = strings.TrimRight(name, "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return name
}

// sample is a valid ModelService to start from.
func sample(ns, name string) *v1alpha1.ModelService {
	return &v1alpha1.ModelService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ModelServiceSpec{
			ServiceLevel: v1alpha1.Staging,
			Image:        "registry.example.com/swapwire-digits:1.0",
			Store:        v1alpha1.StoreSpec{Volume: &v1alpha1.VolumeStore{ClaimName: "models"}},
			Models:       []v1alpha1.ModelSpec{{Name: "digits"}},
			Worker:       v1alpha1.WorkerSpec{Command: "python3 /app/worker.py", Count: 2},
			Replicas:     ptr.To[int32](2),
		},
	}
}

func get[T client.Object](ctx context.Context, ns, name string, obj T) (T, error) {
	err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
	return obj, err
}

// create creates obj and deletes it when the test ends (this control plane
// has no namespace controller to do it), so no reconcile outlives the
// test's files.
func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k8s.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
			t.Error(err)
		}
		if ms, ok := obj.(*v1alpha1.ModelService); ok {
			waitUntouchable(t, client.ObjectKeyFromObject(ms))
		}
	})
}

// waitUntouchable waits until the reconciler can no longer act on a
// deleted ModelService, so the test may remove the store it named: the
// manager's cache no longer has it (a reconcile that starts now finds
// nothing and touches no store), and no reconcile that began before is
// still running. Without this, a resync in flight could write a policy
// file into a directory as the test's TempDir cleanup removed it.
func waitUntouchable(t *testing.T, key client.ObjectKey) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		if err := cached.Get(ctx, key, &v1alpha1.ModelService{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s is still in the manager's cache (err %v)", key, err)
		}
		n, err := activeReconciles()
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%v reconciles still running", n)
		}
		return nil
	})
}

// activeReconciles reads controller-runtime's gauge of the modelservice
// controller's busy workers.
func activeReconciles() (float64, error) {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return 0, err
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_active_workers" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "modelservice" {
					return m.GetGauge().GetValue(), nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no controller_runtime_active_workers gauge for modelservice")
}

// update re-reads the ModelService and applies change until no conflict.
func update(t *testing.T, ns, name string, change func(*v1alpha1.ModelService)) {
	t.Helper()
	eventually(t, 10*time.Second, func(ctx context.Context) error {
		ms, err := get(ctx, ns, name, &v1alpha1.ModelService{})
		if err != nil {
			return err
		}
		change(ms)
		return k8s.Update(ctx, ms)
	})
}

func condition(ms *v1alpha1.ModelService, typ string) *metav1.Condition {
	for i := range ms.Status.Conditions {
		if ms.Status.Conditions[i].Type == typ {
			return &ms.Status.Conditions[i]
		}
	}
	return nil
}
