package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// apply server-side-applies obj, owned by ms, as the operator's field
// manager. Fields the operator stops setting (replicas once an HPA takes
// over) are released, not left behind; fields others own are left alone.
func (r *Reconciler) apply(ctx context.Context, ms *v1alpha1.ModelService, obj client.Object) error {
	if err := controllerutil.SetControllerReference(ms, obj, r.Scheme); err != nil {
		return err
	}
	var u *unstructured.Unstructured
	if uu, ok := obj.(*unstructured.Unstructured); ok {
		u = uu
	} else {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err
		}
		u = &unstructured.Unstructured{Object: m}
	}
	delete(u.Object, "status")
	prune(u.Object)
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(managerName), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// prune drops the nulls and empty objects a typed Go value turns into, so
// the operator does not claim fields it never meant to set
// (creationTimestamp: null, resources: {}).
func prune(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			prune(v)
			if len(v) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}
