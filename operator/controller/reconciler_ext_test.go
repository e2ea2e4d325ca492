package controller_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
	"github.com/swapwire/swapwire/operator/controller"
)

const wait = 20 * time.Second

func TestCreateMakesTheObjectsTheSpecAsksFor(t *testing.T) {
	ns := namespace(t)
	ms := sample(ns, "digits")
	ms.Spec.Replicas = ptr.To[int32](3)
	ms.Spec.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}
	ms.Spec.Batching = &v1alpha1.BatchingSpec{MaxBatchSize: 16, MaxQueue: ptr.To[int32](256)}
	ms.Spec.AdminTokenSecret = &corev1.LocalObjectReference{Name: "admin"}
	create(t, ms)

	var dep *appsv1.Deployment
	eventually(t, wait, func(ctx context.Context) (err error) {
		if _, err := get(ctx, ns, "digits-http", &corev1.Service{}); err != nil {
			return err // applied last of the four
		}
		dep, err = get(ctx, ns, "digits", &appsv1.Deployment{})
		return err
	})
	if got := ptr.Deref(dep.Spec.Replicas, 0); got != 3 {
		t.Errorf("replicas = %d, want 3", got)
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != ms.Spec.Image {
		t.Errorf("image = %q", c.Image)
	}
	for _, want := range []string{"serve", "--model-store=/models", "--model=digits", "--worker=python3 /app/worker.py", "--workers=2",
		"--batch-size=16", "--batch-queue=256", "--service-level=staging", "--listen=0.0.0.0:50051"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %q", c.Args, want)
		}
	}
	if got := c.Resources.Requests.Cpu().String(); got != "500m" {
		t.Errorf("cpu request = %s, want 500m", got)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.GRPC == nil || c.ReadinessProbe.GRPC.Port != controller.GRPCPort {
		t.Errorf("readiness probe = %+v, want gRPC on %d", c.ReadinessProbe, controller.GRPCPort)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "SWAPWIRE_ADMIN_TOKEN" || c.Env[0].ValueFrom.SecretKeyRef.Name != "admin" {
		t.Errorf("env = %+v, want the admin token from Secret admin", c.Env)
	}
	for _, a := range c.Args {
		if strings.Contains(strings.ToLower(a), "token") || strings.Contains(a, "SECRET") {
			t.Errorf("a secret reaches the command line: %q", a)
		}
	}
	if pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "models" {
		t.Errorf("volume = %+v, want claim models", pod.Volumes[0])
	}
	if got := dep.Spec.Template.Labels[controller.LabelServiceLevel]; got != "staging" {
		t.Errorf("pod label %s = %q", controller.LabelServiceLevel, got)
	}
	// Rekcurd's scheduling rules: no other service level on this node,
	// replicas spread over nodes.
	terms := pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if len(terms) != 1 || terms[0].TopologyKey != corev1.LabelHostname ||
		terms[0].LabelSelector.MatchExpressions[0].Operator != metav1.LabelSelectorOpNotIn ||
		!slices.Equal(terms[0].LabelSelector.MatchExpressions[0].Values, []string{"staging"}) {
		t.Errorf("anti-affinity = %+v", terms)
	}
	if len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != corev1.LabelHostname {
		t.Errorf("spread = %+v", pod.TopologySpreadConstraints)
	}
	if dep.Spec.Template.Annotations[controller.AnnotationConfigHash] == "" {
		t.Error("no config hash on the pod template")
	}
	checkOwned(t, ms, dep)

	svc, err := get(context.Background(), ns, "digits", &corev1.Service{})
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != controller.GRPCPort || svc.Spec.Ports[0].Name != "grpc" ||
		ptr.Deref(svc.Spec.Ports[0].AppProtocol, "") != "kubernetes.io/h2c" {
		t.Errorf("gRPC service ports = %+v", svc.Spec.Ports)
	}
	if svc.Spec.Selector[controller.LabelInstance] != "digits" {
		t.Errorf("selector = %v", svc.Spec.Selector)
	}
	checkOwned(t, ms, svc)
	httpSvc, err := get(context.Background(), ns, "digits-http", &corev1.Service{})
	if err != nil {
		t.Fatal(err)
	}
	if len(httpSvc.Spec.Ports) != 1 || httpSvc.Spec.Ports[0].Port != controller.HTTPPort {
		t.Errorf("HTTP service ports = %+v", httpSvc.Spec.Ports)
	}
	checkOwned(t, ms, httpSvc)
	cm, err := get(context.Background(), ns, "digits-config", &corev1.ConfigMap{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["models"] != "digits" || cm.Data["service-level"] != "staging" {
		t.Errorf("config = %v", cm.Data)
	}
	checkOwned(t, ms, cm)

	// Staging without autoscaling: neither an HPA nor a PDB.
	if _, err := get(context.Background(), ns, "digits", &autoscalingv2.HorizontalPodAutoscaler{}); !apierrors.IsNotFound(err) {
		t.Errorf("HPA: err = %v, want not found", err)
	}
	if _, err := get(context.Background(), ns, "digits", &policyv1.PodDisruptionBudget{}); !apierrors.IsNotFound(err) {
		t.Errorf("PDB: err = %v, want not found", err)
	}
}

// checkOwned asserts obj is controlled by ms, so that deleting ms makes
// the garbage collector delete obj.
func checkOwned(t *testing.T, ms *v1alpha1.ModelService, obj client.Object) {
	t.Helper()
	refs := obj.GetOwnerReferences()
	if len(refs) != 1 || refs[0].Kind != "ModelService" || refs[0].Name != ms.Name || refs[0].UID != ms.UID ||
		!ptr.Deref(refs[0].Controller, false) || !ptr.Deref(refs[0].BlockOwnerDeletion, false) {
		t.Errorf("%T %s owner references = %+v, want the ModelService as controller", obj, obj.GetName(), refs)
	}
}

func TestProductionGetsPDBAndAutoscalingGetsHPA(t *testing.T) {
	ns := namespace(t)
	ms := sample(ns, "prod")
	ms.Spec.ServiceLevel = v1alpha1.Production
	ms.Spec.Replicas = nil
	ms.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 3, MaxReplicas: 9, TargetCPUUtilization: ptr.To[int32](60)}
	create(t, ms)

	var h *autoscalingv2.HorizontalPodAutoscaler
	eventually(t, wait, func(ctx context.Context) (err error) {
		h, err = get(ctx, ns, "prod", &autoscalingv2.HorizontalPodAutoscaler{})
		return err
	})
	if ptr.Deref(h.Spec.MinReplicas, 0) != 3 || h.Spec.MaxReplicas != 9 || h.Spec.ScaleTargetRef.Name != "prod" || h.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("HPA spec = %+v", h.Spec)
	}
	if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || ptr.Deref(h.Spec.Metrics[0].Resource.Target.AverageUtilization, 0) != 60 {
		t.Errorf("HPA metrics = %+v", h.Spec.Metrics)
	}
	checkOwned(t, ms, h)
	var p *policyv1.PodDisruptionBudget
	eventually(t, wait, func(ctx context.Context) (err error) {
		p, err = get(ctx, ns, "prod", &policyv1.PodDisruptionBudget{})
		return err
	})
	if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.Selector.MatchLabels[controller.LabelInstance] != "prod" {
		t.Errorf("PDB spec = %+v", p.Spec)
	}
	checkOwned(t, ms, p)
	// In-flight target instead of CPU: a Pods metric.
	update(t, ns, "prod", func(ms *v1alpha1.ModelService) {
		ms.Spec.Autoscaling.TargetCPUUtilization = nil
		ms.Spec.Autoscaling.TargetInFlight = ptr.To[int32](8)
	})
	eventually(t, wait, func(ctx context.Context) error {
		h, err := get(ctx, ns, "prod", &autoscalingv2.HorizontalPodAutoscaler{})
		if err != nil {
			return err
		}
		if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Pods == nil || h.Spec.Metrics[0].Pods.Metric.Name != "swapwire_inflight_requests" ||
			h.Spec.Metrics[0].Pods.Target.AverageValue.Value() != 8 {
			return fmt.Errorf("HPA metrics = %+v", h.Spec.Metrics)
		}
		return nil
	})
}

func TestEditUpdatesAndRemovesObjects(t *testing.T) {
	ns := namespace(t)
	ms := sample(ns, "edit")
	ms.Spec.ServiceLevel = v1alpha1.Production
	ms.Spec.Replicas = nil
	ms.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 2, MaxReplicas: 4, TargetCPUUtilization: ptr.To[int32](70)}
	create(t, ms)
	eventually(t, wait, func(ctx context.Context) error {
		_, err := get(ctx, ns, "edit", &policyv1.PodDisruptionBudget{})
		if err != nil {
			return err
		}
		_, err = get(ctx, ns, "edit", &autoscalingv2.HorizontalPodAutoscaler{})
		return err
	})
	first, err := get(context.Background(), ns, "edit", &appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}

	// Development, fixed replicas, a new image, a worker image in attach mode.
	update(t, ns, "edit", func(ms *v1alpha1.ModelService) {
		ms.Spec.ServiceLevel = v1alpha1.Development
		ms.Spec.Autoscaling = nil
		ms.Spec.Replicas = ptr.To[int32](4)
		ms.Spec.Image = "registry.example.com/swapwire:2.0"
		ms.Spec.Worker = v1alpha1.WorkerSpec{Image: "registry.example.com/digits-worker:2.0", Count: 4}
	})
	eventually(t, wait, func(ctx context.Context) error {
		dep, err := get(ctx, ns, "edit", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		pod := dep.Spec.Template.Spec
		switch {
		case ptr.Deref(dep.Spec.Replicas, 0) != 4:
			return fmt.Errorf("replicas = %d, want 4", ptr.Deref(dep.Spec.Replicas, 0))
		case len(pod.Containers) != 2:
			return fmt.Errorf("containers = %d, want 2", len(pod.Containers))
		case pod.Containers[0].Image != "registry.example.com/swapwire:2.0" || pod.Containers[1].Image != "registry.example.com/digits-worker:2.0":
			return fmt.Errorf("images = %s, %s", pod.Containers[0].Image, pod.Containers[1].Image)
		case !slices.Contains(pod.Containers[0].Args, "--worker-addr=127.0.0.1:50052") || !slices.Contains(pod.Containers[0].Args, "--worker-concurrency=4"):
			return fmt.Errorf("args = %q", pod.Containers[0].Args)
		case dep.Spec.Template.Labels[controller.LabelServiceLevel] != "development":
			return fmt.Errorf("level label = %q", dep.Spec.Template.Labels[controller.LabelServiceLevel])
		case dep.Spec.Template.Annotations[controller.AnnotationConfigHash] == first.Spec.Template.Annotations[controller.AnnotationConfigHash]:
			return errors.New("the config hash did not change")
		}
		if _, err := get(ctx, ns, "edit", &policyv1.PodDisruptionBudget{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("PDB after leaving production: %v, want not found", err)
		}
		if _, err := get(ctx, ns, "edit", &autoscalingv2.HorizontalPodAutoscaler{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("HPA after autoscaling was removed: %v, want not found", err)
		}
		return nil
	})
}

func TestInvalidSpecIsRejectedAtAdmission(t *testing.T) {
	ns := namespace(t)
	cases := []struct {
		name   string
		change func(*v1alpha1.ModelService)
		want   string
	}{
		{"unknown service level", func(ms *v1alpha1.ModelService) { ms.Spec.ServiceLevel = "prod" }, "spec.serviceLevel"},
		{"no image", func(ms *v1alpha1.ModelService) { ms.Spec.Image = "" }, "spec.image"},
		{"no models", func(ms *v1alpha1.ModelService) { ms.Spec.Models = nil }, "spec.models"},
		{"bad model name", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Name = "../etc" }, "spec.models[0].name"},
		{"version zero", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Version = ptr.To[int64](0) }, "spec.models[0].version"},
		{"two stores", func(ms *v1alpha1.ModelService) {
			ms.Spec.Store.S3 = &v1alpha1.S3Store{URL: "s3://models/a", CredentialsSecret: corev1.LocalObjectReference{Name: "s3"}}
		}, "exactly one of s3 or volume"},
		{"no store", func(ms *v1alpha1.ModelService) { ms.Spec.Store = v1alpha1.StoreSpec{} }, "exactly one of s3 or volume"},
		{"not an s3 URL", func(ms *v1alpha1.ModelService) {
			ms.Spec.Store = v1alpha1.StoreSpec{S3: &v1alpha1.S3Store{URL: "https://models", CredentialsSecret: corev1.LocalObjectReference{Name: "s3"}}}
		}, "spec.store.s3.url"},
		{"worker command and image", func(ms *v1alpha1.ModelService) { ms.Spec.Worker.Image = "w:1" }, "exactly one of command or image"},
		{"replicas and autoscaling", func(ms *v1alpha1.ModelService) {
			ms.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 1, MaxReplicas: 2, TargetCPUUtilization: ptr.To[int32](50)}
		}, "replicas or autoscaling, not both"},
		{"min above max", func(ms *v1alpha1.ModelService) {
			ms.Spec.Replicas = nil
			ms.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 5, MaxReplicas: 2, TargetCPUUtilization: ptr.To[int32](50)}
		}, "minReplicas must not exceed maxReplicas"},
		{"no autoscaling target", func(ms *v1alpha1.ModelService) {
			ms.Spec.Replicas = nil
			ms.Spec.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 1, MaxReplicas: 2}
		}, "exactly one of targetCPUUtilization or targetInFlight"},
		{"label at version 0", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Labels = map[string]int64{"canary": 0} }, "label versions are positive"},
		{"all weights zero", func(ms *v1alpha1.ModelService) {
			ms.Spec.Models[0].Traffic = []v1alpha1.TrafficWeight{{Version: 1, Weight: 0}}
		}, "at least one traffic weight"},
		{"negative replicas", func(ms *v1alpha1.ModelService) { ms.Spec.Replicas = ptr.To[int32](-1) }, "spec.replicas"},
		{"batch of one", func(ms *v1alpha1.ModelService) { ms.Spec.Batching = &v1alpha1.BatchingSpec{MaxBatchSize: 1} }, "spec.batching.maxBatchSize"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := sample(ns, fmt.Sprintf("bad%d", i))
			tc.change(ms)
			err := k8s.Create(context.Background(), ms)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("create: err = %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// And the valid sample is accepted, so the cases fail for their change.
	create(t, sample(ns, "good"))
}

func TestStatusReportsConditionsForTheObservedGeneration(t *testing.T) {
	ns := namespace(t)
	create(t, sample(ns, "st"))
	var ms *v1alpha1.ModelService
	eventually(t, wait, func(ctx context.Context) (err error) {
		ms, err = get(ctx, ns, "st", &v1alpha1.ModelService{})
		if err != nil {
			return err
		}
		if ms.Status.ObservedGeneration != ms.Generation {
			return fmt.Errorf("observedGeneration = %d, generation %d", ms.Status.ObservedGeneration, ms.Generation)
		}
		if c := condition(ms, v1alpha1.ConditionProgressing); c == nil || c.Reason != "RollingOut" {
			return fmt.Errorf("Progressing = %+v, want RollingOut once the Deployment is seen", c)
		}
		return nil
	})
	// No pods run here (no controller manager): the Deployment is not
	// rolled out, so Ready is False and Progressing True.
	wantCond(t, ms, v1alpha1.ConditionReady, metav1.ConditionFalse, "RollingOut")
	wantCond(t, ms, v1alpha1.ConditionProgressing, metav1.ConditionTrue, "RollingOut")
	wantCond(t, ms, v1alpha1.ConditionDegraded, metav1.ConditionFalse, "AsExpected")

	// Play the Deployment controller: two replicas updated and available.
	eventually(t, wait, func(ctx context.Context) error {
		dep, err := get(ctx, ns, "st", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
		return k8s.Status().Update(ctx, dep)
	})
	eventually(t, wait, func(ctx context.Context) (err error) {
		ms, err = get(ctx, ns, "st", &v1alpha1.ModelService{})
		if err != nil {
			return err
		}
		if c := condition(ms, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("Ready = %+v", c)
		}
		return nil
	})
	wantCond(t, ms, v1alpha1.ConditionProgressing, metav1.ConditionFalse, "RolledOut")
	if ms.Status.ReadyReplicas != 2 || ms.Status.Replicas != 2 {
		t.Errorf("replicas %d, ready %d; want 2, 2", ms.Status.Replicas, ms.Status.ReadyReplicas)
	}

	// A new generation: observedGeneration follows and, until the
	// Deployment catches up, the service is progressing again.
	update(t, ns, "st", func(ms *v1alpha1.ModelService) { ms.Spec.Replicas = ptr.To[int32](3) })
	eventually(t, wait, func(ctx context.Context) (err error) {
		ms, err = get(ctx, ns, "st", &v1alpha1.ModelService{})
		if err != nil {
			return err
		}
		if ms.Generation != 2 || ms.Status.ObservedGeneration != 2 {
			return fmt.Errorf("generation %d, observed %d; want 2, 2", ms.Generation, ms.Status.ObservedGeneration)
		}
		if c := condition(ms, v1alpha1.ConditionProgressing); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != 2 {
			return fmt.Errorf("Progressing = %+v", c)
		}
		return nil
	})
	wantCond(t, ms, v1alpha1.ConditionReady, metav1.ConditionFalse, "RollingOut")
}

func wantCond(t *testing.T, ms *v1alpha1.ModelService, typ string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	c := condition(ms, typ)
	if c == nil {
		t.Fatalf("no %s condition in %+v", typ, ms.Status.Conditions)
	}
	if c.Status != status || c.Reason != reason || c.ObservedGeneration != ms.Generation {
		t.Errorf("%s = %s/%s at generation %d, want %s/%s at %d", typ, c.Status, c.Reason, c.ObservedGeneration, status, reason, ms.Generation)
	}
}
