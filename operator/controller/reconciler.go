package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// ServiceMonitorGVK is the Prometheus Operator's ServiceMonitor.
var ServiceMonitorGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}

// Reconciler turns a ModelService into a Deployment, two Services, a
// ConfigMap, an HPA when autoscaling, a PDB in production and a
// ServiceMonitor when the Prometheus Operator is installed, and writes the
// models' policies into the store. Its permissions are in rbac.go.
type Reconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	// Stores opens the store of a ModelService for policy writes; nil
	// leaves policies alone.
	Stores StoreOpener
	// Resync is how often a ModelService is looked at again to report
	// versions published since (default 30 s).
	Resync time.Duration
}

// SetupWithManager registers the reconciler with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ModelService{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Named("modelservice").
		Complete(r)
}

// Reconcile brings the cluster and the store to what one ModelService asks.
// An error is returned to controller-runtime, whose queue retries with
// exponential backoff: a broken store or API never makes a hot loop.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ms := &v1alpha1.ModelService{}
	if err := r.Client.Get(ctx, req.NamespacedName, ms); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ms.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references collect the rest
	}

	applyErr := r.applyObjects(ctx, ms)
	if applyErr != nil {
		r.event(ms, corev1.EventTypeWarning, "ApplyFailed", "Apply", "%v", applyErr)
	}
	models, storeErr, retry := r.syncStore(ctx, ms)

	dep := &appsv1.Deployment{}
	depErr := r.Client.Get(ctx, client.ObjectKey{Namespace: ms.Namespace, Name: ms.Name}, dep)
	if depErr != nil && !apierrors.IsNotFound(depErr) {
		return ctrl.Result{}, depErr
	}
	if apierrors.IsNotFound(depErr) {
		dep = nil
	}
	if err := r.writeStatus(ctx, ms, dep, models, applyErr, storeErr); err != nil {
		return ctrl.Result{}, err
	}
	if applyErr != nil {
		return ctrl.Result{}, applyErr
	}
	if storeErr != nil && retry {
		return ctrl.Result{}, storeErr
	}
	// A pin the store lacks is not retried fast: the status says so, and
	// the next resync sees the version once it is published.
	resync := r.Resync
	if resync <= 0 {
		resync = 30 * time.Second
	}
	return ctrl.Result{RequeueAfter: resync}, nil
}

func (r *Reconciler) event(ms *v1alpha1.ModelService, kind, reason, action, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(ms, nil, kind, reason, action, format, args...)
	}
}

// applyObjects applies every object the spec asks for and deletes the
// optional ones it no longer asks for.
func (r *Reconciler) applyObjects(ctx context.Context, ms *v1alpha1.ModelService) error {
	cm := configMap(ms)
	objs := []client.Object{cm, deployment(ms, hashData(cm.Data)), grpcService(ms), httpService(ms)}
	if ms.Spec.Autoscaling != nil {
		objs = append(objs, hpa(ms))
	} else if err := r.deleteOwned(ctx, ms, &autoscalingv2.HorizontalPodAutoscaler{}); err != nil {
		return err
	}
	if ms.Spec.ServiceLevel == v1alpha1.Production {
		objs = append(objs, pdb(ms))
	} else if err := r.deleteOwned(ctx, ms, &policyv1.PodDisruptionBudget{}); err != nil {
		return err
	}
	if ok, err := r.hasKind(ServiceMonitorGVK); err != nil {
		return err
	} else if ok {
		objs = append(objs, serviceMonitor(ms))
	}
	for _, o := range objs {
		if err := r.apply(ctx, ms, o); err != nil {
			return err
		}
	}
	return nil
}

// hasKind reports whether the API server serves gvk (a CRD installed).
func (r *Reconciler) hasKind(gvk schema.GroupVersionKind) (bool, error) {
	_, err := r.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}

// deleteOwned deletes the object named like ms of obj's kind if ms owns it.
func (r *Reconciler) deleteOwned(ctx context.Context, ms *v1alpha1.ModelService, obj client.Object) error {
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ms.Namespace, Name: ms.Name}, obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !metav1.IsControlledBy(obj, ms) {
		return nil
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, obj))
}

// syncStore writes each model's policy and reads back what the store
// holds. retry is false when every error is a pin the store lacks or an
// invalid policy: retrying soon cannot help.
func (r *Reconciler) syncStore(ctx context.Context, ms *v1alpha1.ModelService) (_ []v1alpha1.ModelStatus, _ error, retry bool) {
	if r.Stores == nil {
		return nil, nil, false
	}
	s, err := r.Stores.Open(ctx, ms)
	if errors.Is(err, ErrStoreUnsupported) {
		return nil, nil, false
	}
	if err != nil {
		r.event(ms, corev1.EventTypeWarning, "StoreUnavailable", "OpenStore", "%v", err)
		return nil, fmt.Errorf("open store: %w", err), true
	}
	var errs []error
	out := make([]v1alpha1.ModelStatus, 0, len(ms.Spec.Models))
	for _, m := range ms.Spec.Models {
		st, wrote, err := syncModel(ctx, s, m)
		if err != nil {
			st.Error = err.Error()
			errs = append(errs, err)
			retry = retry || !(errors.Is(err, errPinMissing) || errors.Is(err, modelstore.ErrInvalid))
			r.event(ms, corev1.EventTypeWarning, "PolicyFailed", "WritePolicy", "%v", err)
		} else if wrote {
			r.event(ms, corev1.EventTypeNormal, "PolicyWritten", "WritePolicy", "model %s: %s", m.Name, describePolicy(m))
		}
		out = append(out, st)
	}
	return out, errors.Join(errs...), retry
}

func describePolicy(m v1alpha1.ModelSpec) string {
	p := desiredPolicy(m)
	var parts []string
	if p.Pinned != 0 {
		parts = append(parts, fmt.Sprintf("pinned %d", p.Pinned))
	} else {
		parts = append(parts, "following the latest version")
	}
	if len(p.Labels) > 0 {
		parts = append(parts, fmt.Sprintf("labels %v", p.Labels))
	}
	if len(p.Weights) > 0 {
		parts = append(parts, fmt.Sprintf("weights %v", p.Weights))
	}
	return strings.Join(parts, ", ")
}

// writeStatus sets the conditions from what this reconcile saw.
func (r *Reconciler) writeStatus(ctx context.Context, ms *v1alpha1.ModelService, dep *appsv1.Deployment, models []v1alpha1.ModelStatus, applyErr, storeErr error) error {
	gen := ms.Generation
	st := ms.Status.DeepCopy()
	st.ObservedGeneration = gen
	if models != nil {
		st.Models = models
	}
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}

	var want, ready, updated, available int32
	rolledOut := false
	if dep != nil {
		want = 1
		if dep.Spec.Replicas != nil {
			want = *dep.Spec.Replicas
		}
		ready, updated, available = dep.Status.ReadyReplicas, dep.Status.UpdatedReplicas, dep.Status.AvailableReplicas
		rolledOut = dep.Status.ObservedGeneration >= dep.Generation && updated >= want && dep.Status.Replicas == updated && available >= want
		st.Replicas, st.ReadyReplicas = dep.Status.Replicas, ready
	}

	switch {
	case applyErr != nil:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, "ApplyFailed", applyErr.Error())
	case storeErr != nil:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, "StoreError", storeErr.Error())
	case dep != nil && deploymentFailed(dep):
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, "RolloutFailed", "the Deployment's rollout exceeded its progress deadline or cannot create pods")
	default:
		set(v1alpha1.ConditionDegraded, metav1.ConditionFalse, "AsExpected", "")
	}
	switch {
	case dep == nil:
		set(v1alpha1.ConditionProgressing, metav1.ConditionTrue, "Creating", "creating the Deployment")
	case !rolledOut:
		set(v1alpha1.ConditionProgressing, metav1.ConditionTrue, "RollingOut", fmt.Sprintf("%d of %d replicas updated and available", min(updated, available), want))
	default:
		set(v1alpha1.ConditionProgressing, metav1.ConditionFalse, "RolledOut", fmt.Sprintf("%d replicas updated and available", want))
	}
	switch {
	case applyErr != nil || storeErr != nil:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, "Degraded", "see the Degraded condition")
	case dep == nil || !rolledOut:
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, "RollingOut", fmt.Sprintf("%d of %d replicas ready", ready, want))
	default:
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, "Available", fmt.Sprintf("%d of %d replicas ready", ready, want))
	}

	if equalStatus(&ms.Status, st) {
		return nil
	}
	ms.Status = *st
	if err := r.Client.Status().Update(ctx, ms); err != nil {
		if apierrors.IsConflict(err) {
			return nil // a newer object is queued already
		}
		return err
	}
	return nil
}

func deploymentFailed(dep *appsv1.Deployment) bool {
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// equalStatus reports whether writing b over a would change nothing;
// SetStatusCondition keeps transition times when a condition holds.
func equalStatus(a, b *v1alpha1.ModelServiceStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}
