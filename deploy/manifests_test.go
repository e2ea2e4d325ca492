package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// serviceMonitor mirrors the fields of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that the manifests use, so that a
// misspelt field fails here as it would in the cluster, without importing
// the operator's module.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// object returns an empty typed object for a document's apiVersion and kind.
func object(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, nil
	case "v1 Secret":
		return nil, fmt.Errorf("a Secret is shipped: reference one the operator creates instead")
	}
	return nil, fmt.Errorf("unexpected %s %s", apiVersion, kind)
}

// decodeStrict converts one YAML document to JSON (duplicate keys are
// errors) and decodes it into obj, rejecting unknown fields.
func decodeStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(obj)
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// manifests decodes every document of every deploy/kubernetes/*.yaml.
func manifests(t *testing.T) map[string][]any {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := map[string][]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSep.Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			obj, err := object(tm.APIVersion, tm.Kind)
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
			out[f] = append(out[f], obj)
		}
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// A field the API does not know fails the decode.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 3\n"
	if err := decodeStrict([]byte(doc), &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
}

// Every manifest decodes strictly, and each Deployment is production-shaped.
func TestManifests(t *testing.T) {
	for file, objs := range manifests(t) {
		var deployments []*appsv1.Deployment
		for _, o := range objs {
			if d, ok := o.(*appsv1.Deployment); ok {
				deployments = append(deployments, d)
			}
		}
		if len(deployments) != 1 {
			t.Errorf("%s: %d Deployments, want 1", file, len(deployments))
			continue
		}
		checkDeployment(t, file, deployments[0])
		for _, o := range objs {
			checkTargets(t, file, deployments[0], o)
		}
	}
}

func checkDeployment(t *testing.T, file string, d *appsv1.Deployment) {
	t.Helper()
	errorf := func(format string, args ...any) { t.Errorf("%s: "+format, append([]any{file}, args...)...) }
	pod := d.Spec.Template.Spec
	sel := d.Spec.Selector.MatchLabels
	for k, v := range sel {
		if d.Spec.Template.Labels[k] != v {
			errorf("the selector %s=%s does not match the pod labels", k, v)
		}
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil {
		errorf("the pod must run as non-root with a seccomp profile")
	}
	var sw *corev1.Container
	for i := range pod.Containers {
		c := &pod.Containers[i]
		if c.Name == "swapwire" {
			sw = c
		}
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			errorf("container %s: want no privilege escalation, a read-only root and every capability dropped", c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			errorf("container %s: want CPU and memory requests and a memory limit", c.Name)
		}
		for _, e := range c.Env {
			if strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "TOKEN") || strings.Contains(e.Name, "PASSWORD") {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					errorf("container %s: %s must come from a Secret", c.Name, e.Name)
				}
			}
		}
		for _, a := range append(c.Args, c.Command...) {
			if strings.Contains(a, "token=") || strings.Contains(a, "secret") || strings.Contains(a, "@") {
				errorf("container %s: argument %q may carry a secret", c.Name, a)
			}
		}
	}
	if sw == nil {
		errorf("no container named swapwire")
		return
	}
	for name, p := range map[string]*corev1.Probe{"startup": sw.StartupProbe, "readiness": sw.ReadinessProbe, "liveness": sw.LivenessProbe} {
		if p == nil || p.GRPC == nil || p.GRPC.Port != 50051 {
			errorf("the %s probe must be a gRPC health check on 50051", name)
		}
	}
	if lp := sw.LivenessProbe; lp != nil && lp.PeriodSeconds*lp.FailureThreshold < 60 {
		errorf("liveness restarts after %ds NOT_SERVING: too eager (a slow load must not kill the pod)", lp.PeriodSeconds*lp.FailureThreshold)
	}
	// The grace period covers the preStop sleep, the 30s drain and spare.
	const drain = 30
	var preStop int64
	if sw.Lifecycle == nil || sw.Lifecycle.PreStop == nil || sw.Lifecycle.PreStop.Sleep == nil {
		errorf("want a preStop sleep so endpoints go before the drain starts")
	} else {
		preStop = sw.Lifecycle.PreStop.Sleep.Seconds
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < preStop+drain+5 {
		errorf("terminationGracePeriodSeconds must be at least preStop %ds + drain %ds + 5s", preStop, drain)
	}
	if len(pod.TopologySpreadConstraints) == 0 {
		errorf("want topology spread constraints")
	}
	args := strings.Join(sw.Args, " ")
	if !strings.Contains(args, "--model-store=") {
		errorf("swapwire must name its --model-store")
	}
	if strings.Contains(args, "--model-store=s3://") {
		found := false
		for _, ef := range sw.EnvFrom {
			found = found || ef.SecretRef != nil
		}
		if !found {
			errorf("an s3:// store needs its credentials from a referenced Secret")
		}
		mounted := false
		for _, m := range sw.VolumeMounts {
			mounted = mounted || strings.Contains(args, "--model-cache="+m.MountPath)
		}
		if !mounted {
			errorf("the --model-cache directory must be a mounted volume (the root file system is read-only)")
		}
	}
}

// checkTargets checks that Services, PDBs, HPAs and ServiceMonitors in the
// file point at the Deployment's pods.
func checkTargets(t *testing.T, file string, d *appsv1.Deployment, o any) {
	t.Helper()
	podLabels := d.Spec.Template.Labels
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if podLabels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	switch o := o.(type) {
	case *corev1.Service:
		if !matches(o.Spec.Selector) {
			t.Errorf("%s: Service %s selects no pod of the Deployment", file, o.Name)
		}
	case *policyv1.PodDisruptionBudget:
		if o.Spec.Selector == nil || !matches(o.Spec.Selector.MatchLabels) {
			t.Errorf("%s: PodDisruptionBudget %s selects no pod of the Deployment", file, o.Name)
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o.Spec.ScaleTargetRef.Kind != "Deployment" || o.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("%s: the HPA scales %s %s, not the Deployment", file, o.Spec.ScaleTargetRef.Kind, o.Spec.ScaleTargetRef.Name)
		}
		if o.Spec.MinReplicas == nil || *o.Spec.MinReplicas < 2 {
			t.Errorf("%s: the HPA must keep at least 2 replicas for the PDB to allow a disruption", file)
		}
	case *serviceMonitor:
		if len(o.Spec.Endpoints) == 0 || o.Spec.Endpoints[0].Port != "metrics" {
			t.Errorf("%s: the ServiceMonitor must scrape the metrics port", file)
		}
	}
}
