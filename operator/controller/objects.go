package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
)

// Labels the operator puts on everything it makes.
const (
	LabelName         = "app.kubernetes.io/name"
	LabelInstance     = "app.kubernetes.io/instance"
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelServiceLevel = "serving.swapwire.dev/service-level"

	// AnnotationConfigHash on the pod template changes when the ConfigMap
	// does, so a changed server configuration rolls the pods.
	AnnotationConfigHash = "serving.swapwire.dev/config-hash"

	managerName = "swapwire-operator"
)

// Ports of the swapwire container.
const (
	GRPCPort    = 50051
	HTTPPort    = 9090
	storeMount  = "/models"
	defaultPort = 50052
)

// selectorLabels pick the pods of one ModelService. They never change for
// the life of the resource (a Deployment's selector is immutable), so the
// service level is not among them.
func selectorLabels(ms *v1alpha1.ModelService) map[string]string {
	return map[string]string{LabelName: "swapwire", LabelInstance: ms.Name}
}

func objectLabels(ms *v1alpha1.ModelService) map[string]string {
	l := selectorLabels(ms)
	l[LabelManagedBy] = managerName
	l[LabelServiceLevel] = string(ms.Spec.ServiceLevel)
	return l
}

func objectMeta(ms *v1alpha1.ModelService, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ms.Namespace, Labels: objectLabels(ms)}
}

// Names of the owned objects.
func httpServiceName(ms *v1alpha1.ModelService) string { return ms.Name + "-http" }
func configMapName(ms *v1alpha1.ModelService) string   { return ms.Name + "-config" }

// serverArgs are the arguments of `swapwire serve`. They hold no secret:
// credentials and tokens reach the server through the environment.
func serverArgs(ms *v1alpha1.ModelService) []string {
	spec := &ms.Spec
	names := make([]string, len(spec.Models))
	for i, m := range spec.Models {
		names[i] = m.Name
	}
	args := []string{"serve"}
	if s3 := spec.Store.S3; s3 != nil {
		args = append(args, "--model-store="+s3.URL, "--model-cache="+storeMount)
		if s3.Endpoint != "" {
			args = append(args, "--s3-endpoint="+s3.Endpoint)
		}
		if s3.Region != "" {
			args = append(args, "--s3-region="+s3.Region)
		}
		if s3.PathStyle {
			args = append(args, "--s3-path-style")
		}
	} else {
		args = append(args, "--model-store="+storeMount, "--no-fsnotify")
	}
	args = append(args,
		"--model="+strings.Join(names, ","),
		fmt.Sprintf("--listen=0.0.0.0:%d", GRPCPort),
		fmt.Sprintf("--metrics-listen=0.0.0.0:%d", HTTPPort),
		"--poll=5s",
		"--name="+ms.Name,
		"--service-level="+string(spec.ServiceLevel),
		"--log-format=json",
	)
	count := int32(1)
	if spec.Worker.Count > 0 {
		count = spec.Worker.Count
	}
	if spec.Worker.Image != "" {
		args = append(args,
			fmt.Sprintf("--worker-addr=127.0.0.1:%d", workerPort(ms)),
			fmt.Sprintf("--worker-concurrency=%d", count))
	} else {
		args = append(args, "--worker="+spec.Worker.Command, fmt.Sprintf("--workers=%d", count))
	}
	if b := spec.Batching; b != nil {
		args = append(args, fmt.Sprintf("--batch-size=%d", b.MaxBatchSize))
		if b.MaxDelay != nil {
			args = append(args, "--batch-delay="+b.MaxDelay.Duration.String())
		}
		if b.MaxQueue != nil {
			args = append(args, fmt.Sprintf("--batch-queue=%d", *b.MaxQueue))
		}
	}
	return args
}

func workerPort(ms *v1alpha1.ModelService) int32 {
	if ms.Spec.Worker.Port > 0 {
		return ms.Spec.Worker.Port
	}
	return defaultPort
}

// configMap records the server's configuration, readable with kubectl;
// its hash on the pod template rolls the pods when it changes.
func configMap(ms *v1alpha1.ModelService) *corev1.ConfigMap {
	models := make([]string, len(ms.Spec.Models))
	for i, m := range ms.Spec.Models {
		models[i] = m.Name
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(ms, configMapName(ms)),
		Data: map[string]string{
			"args":          strings.Join(serverArgs(ms), "\n") + "\n",
			"models":        strings.Join(models, ","),
			"service-level": string(ms.Spec.ServiceLevel),
		},
	}
}

func hashData(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%q\n", k, data[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func replicas(ms *v1alpha1.ModelService) *int32 {
	if ms.Spec.Autoscaling != nil {
		return nil // the HPA owns the count
	}
	n := int32(1)
	if ms.Spec.Replicas != nil {
		n = *ms.Spec.Replicas
	}
	return &n
}

// affinity keeps pods of other service levels off this pod's node
// (Rekcurd's rule: development never shares a node with production).
func affinity(ms *v1alpha1.ModelService) *corev1.Affinity {
	return &corev1.Affinity{
		PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key:      LabelServiceLevel,
					Operator: metav1.LabelSelectorOpNotIn,
					Values:   []string{string(ms.Spec.ServiceLevel)},
				}, {
					Key:      LabelServiceLevel,
					Operator: metav1.LabelSelectorOpExists,
				}}},
				TopologyKey:       corev1.LabelHostname,
				NamespaceSelector: &metav1.LabelSelector{}, // every namespace
			}},
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchLabels: selectorLabels(ms)},
					TopologyKey:   corev1.LabelHostname,
				},
			}},
		},
	}
}

// spread puts the replicas of one service on different nodes when it can.
// It is a preference, not a rule: a node that the service-level rule
// excludes still counts as a domain, so a hard spread would leave replicas
// Pending in any cluster shared by several levels.
func spread(ms *v1alpha1.ModelService) []corev1.TopologySpreadConstraint {
	return []corev1.TopologySpreadConstraint{{
		MaxSkew:           1,
		TopologyKey:       corev1.LabelHostname,
		WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: selectorLabels(ms)},
	}}
}

func containerSecurity() *corev1.SecurityContext {
	no := false
	yes := true
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no,
		ReadOnlyRootFilesystem:   &yes,
		RunAsNonRoot:             &yes,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func deployment(ms *v1alpha1.ModelService, configHash string) *appsv1.Deployment {
	spec := &ms.Spec
	env := []corev1.EnvVar{}
	if spec.AdminTokenSecret != nil {
		env = append(env, corev1.EnvVar{Name: "SWAPWIRE_ADMIN_TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: *spec.AdminTokenSecret, Key: "token"},
		}})
	}
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if s3 := spec.Store.S3; s3 != nil {
		for _, key := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			env = append(env, corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: s3.CredentialsSecret, Key: key},
			}})
		}
		// The server keeps downloaded versions here.
		volumes = append(volumes, corev1.Volume{Name: "models", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "models", MountPath: storeMount})
	} else if v := spec.Store.Volume; v != nil {
		src := corev1.VolumeSource{}
		if v.ClaimName != "" {
			src.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.ClaimName}
		} else {
			dir := corev1.HostPathDirectory
			src.HostPath = &corev1.HostPathVolumeSource{Path: v.HostPath, Type: &dir}
		}
		volumes = append(volumes, corev1.Volume{Name: "models", VolumeSource: src})
		mounts = append(mounts, corev1.VolumeMount{Name: "models", MountPath: storeMount})
	}
	volumes = append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	mounts = append(mounts, corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"})

	grpcProbe := func(period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: GRPCPort}},
			PeriodSeconds:    period,
			FailureThreshold: failures,
		}
	}
	server := corev1.Container{
		Name:            "swapwire",
		Image:           spec.Image,
		ImagePullPolicy: spec.ImagePullPolicy,
		Args:            serverArgs(ms),
		Env:             env,
		Ports: []corev1.ContainerPort{
			{Name: "grpc", ContainerPort: GRPCPort, Protocol: corev1.ProtocolTCP},
			{Name: "http", ContainerPort: HTTPPort, Protocol: corev1.ProtocolTCP},
		},
		ReadinessProbe: grpcProbe(5, 2),
		LivenessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(GRPCPort)}},
			PeriodSeconds:    10,
			FailureThreshold: 3,
		},
		StartupProbe:    grpcProbe(5, 60),
		Resources:       spec.Resources,
		VolumeMounts:    mounts,
		SecurityContext: containerSecurity(),
	}
	containers := []corev1.Container{server}
	if spec.Worker.Image != "" {
		containers = append(containers, corev1.Container{
			Name:            "worker",
			Image:           spec.Worker.Image,
			ImagePullPolicy: spec.ImagePullPolicy,
			Ports:           []corev1.ContainerPort{{Name: "worker", ContainerPort: workerPort(ms), Protocol: corev1.ProtocolTCP}},
			Resources:       spec.Worker.Resources,
			VolumeMounts:    mounts,
			SecurityContext: containerSecurity(),
		})
	}
	grace := int64(45) // the server drains for up to 30 s
	maxUnavailable := intstr.FromInt32(0)
	maxSurge := intstr.FromInt32(1)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(ms, ms.Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas(ms),
			Selector: &metav1.LabelSelector{MatchLabels: selectorLabels(ms)},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: objectLabels(ms),
					Annotations: map[string]string{
						AnnotationConfigHash:   configHash,
						"prometheus.io/scrape": "true",
						"prometheus.io/port":   strconv.Itoa(HTTPPort),
					},
				},
				Spec: corev1.PodSpec{
					Containers:                    containers,
					Volumes:                       volumes,
					Affinity:                      affinity(ms),
					TopologySpreadConstraints:     spread(ms),
					TerminationGracePeriodSeconds: &grace,
					SecurityContext: &corev1.PodSecurityContext{
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
				},
			},
		},
	}
}

func grpcService(ms *v1alpha1.ModelService) *corev1.Service {
	h2c := "kubernetes.io/h2c"
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(ms, ms.Name),
		Spec: corev1.ServiceSpec{
			Selector: selectorLabels(ms),
			Ports: []corev1.ServicePort{{
				Name: "grpc", Port: GRPCPort, TargetPort: intstr.FromString("grpc"),
				Protocol: corev1.ProtocolTCP, AppProtocol: &h2c,
			}},
		},
	}
}

func httpService(ms *v1alpha1.ModelService) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(ms, httpServiceName(ms)),
		Spec: corev1.ServiceSpec{
			Selector: selectorLabels(ms),
			Ports: []corev1.ServicePort{{
				Name: "http", Port: HTTPPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

func hpa(ms *v1alpha1.ModelService) *autoscalingv2.HorizontalPodAutoscaler {
	a := ms.Spec.Autoscaling
	min := a.MinReplicas
	var metric autoscalingv2.MetricSpec
	if a.TargetCPUUtilization != nil {
		metric = autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: a.TargetCPUUtilization},
			},
		}
	} else {
		avg := resource.NewQuantity(int64(*a.TargetInFlight), resource.DecimalSI)
		metric = autoscalingv2.MetricSpec{
			Type: autoscalingv2.PodsMetricSourceType,
			Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "swapwire_inflight_requests"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: avg},
			},
		}
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: objectMeta(ms, ms.Name),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: ms.Name},
			MinReplicas:    &min,
			MaxReplicas:    a.MaxReplicas,
			Metrics:        []autoscalingv2.MetricSpec{metric},
		},
	}
}

func pdb(ms *v1alpha1.ModelService) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(ms, ms.Name),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: selectorLabels(ms)},
		},
	}
}

// serviceMonitor is a Prometheus Operator ServiceMonitor for the HTTP
// Service, built unstructured so the operator needs no Prometheus module.
func serviceMonitor(ms *v1alpha1.ModelService) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "ServiceMonitor",
		"metadata": map[string]any{
			"name":      ms.Name,
			"namespace": ms.Namespace,
		},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": toAny(selectorLabels(ms))},
			"endpoints": []any{map[string]any{
				"port":     "http",
				"path":     "/metrics",
				"interval": (30 * time.Second).String(),
			}},
		},
	}}
	u.SetLabels(objectLabels(ms))
	return u
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
