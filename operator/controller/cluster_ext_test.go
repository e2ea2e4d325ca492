package controller_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
	"github.com/swapwire/swapwire/operator/controller"
)

// TestServiceLevelsNeverShareANodeAndDeletionCollects runs a whole control
// plane of its own: API server, etcd, kube-scheduler, kube-controller-manager
// (Deployment, ReplicaSet and garbage collector controllers) and kwok for
// four simulated nodes, plus the operator. Pods are really scheduled, so
// the anti-affinity between service levels is what the scheduler does, and
// deleting a ModelService really collects what it owned.
func TestServiceLevelsNeverShareANodeAndDeletionCollects(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	for _, bin := range []string{"kube-scheduler", "kube-controller-manager", "kwok"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("%s is missing from KUBEBUILDER_ASSETS (scripts/k8s-controlplane.sh builds it): %v", bin, err)
		}
	}
	cluster := &envtest.Environment{CRDDirectoryPaths: []string{crdDir}, ErrorIfCRDPathMissing: true, Scheme: scheme, ControlPlaneStartTimeout: startTimeout}
	noWatchListDefaulting(cluster)
	// The TaintNodesByCondition admission plugin gives every new node the
	// not-ready NoSchedule taint, which only the node-lifecycle controller
	// lifts; that controller stays off here because, without kubelet
	// heartbeats, it would soon mark kwok's nodes unreachable and evict.
	cluster.ControlPlane.GetAPIServer().Configure().Append("disable-admission-plugins", "TaintNodesByCondition")
	cfg, err := cluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Error(err)
		}
	})
	admin, err := cluster.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, dir, filepath.Join(assets, "kube-scheduler"), "--kubeconfig="+kc, "--leader-elect=false", "--secure-port=0")
	start(t, dir, filepath.Join(assets, "kube-controller-manager"), "--kubeconfig="+kc, "--leader-elect=false", "--secure-port=0",
		"--controllers=deployment-controller,replicaset-controller,garbage-collector-controller")
	stages, err := filepath.Abs(filepath.Join("testdata", "kwok-stages.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, dir, filepath.Join(assets, "kwok"), "--kubeconfig="+kc, "--config="+stages, "--manage-all-nodes=true",
		"--node-lease-duration-seconds=0", "--server-address=")

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// TestMain's manager runs a controller of the same name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &controller.Reconciler{Client: mgr.GetClient(), Scheme: scheme, Recorder: mgr.GetEventRecorder("swapwire-operator")}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	// On failure, say where every pod stands and what each ModelService
	// reports: the control plane's logs alone rarely tell.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace("default")); err == nil {
			for _, p := range pods.Items {
				t.Logf("pod %s: node %q phase %s conditions %+v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
			}
		}
		list := &v1alpha1.ModelServiceList{}
		if err := c.List(ctx, list, client.InNamespace("default")); err == nil {
			for _, ms := range list.Items {
				t.Logf("modelservice %s: generation %d status %+v", ms.Name, ms.Generation, ms.Status)
			}
		}
	})
	for i := range 4 {
		name := fmt.Sprintf("node-%d", i)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      map[string]string{corev1.LabelHostname: name, "type": "kwok"},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		}}
		if err := c.Create(ctx, node); err != nil {
			t.Fatal(err)
		}
	}
	for _, level := range []v1alpha1.ServiceLevel{v1alpha1.Development, v1alpha1.Production} {
		ms := sample("default", string(level))
		ms.Spec.ServiceLevel = level
		ms.Spec.Replicas = ptr.To[int32](2)
		ms.Spec.Store = v1alpha1.StoreSpec{Volume: &v1alpha1.VolumeStore{HostPath: "/srv/models"}}
		if err := c.Create(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}

	// Both services roll out: two ready pods each, and Ready on the resource.
	nodesOf := func(ctx context.Context, instance string) ([]string, error) {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels{controller.LabelInstance: instance}); err != nil {
			return nil, err
		}
		var nodes []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Spec.NodeName != "" {
				nodes = append(nodes, p.Spec.NodeName)
			}
		}
		sort.Strings(nodes)
		return nodes, nil
	}
	const timeout = 90 * time.Second
	for _, name := range []string{"development", "production"} {
		eventually(t, timeout, func(ctx context.Context) error {
			ms := &v1alpha1.ModelService{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, ms); err != nil {
				return err
			}
			if cond := condition(ms, v1alpha1.ConditionReady); cond == nil || cond.Status != metav1.ConditionTrue || ms.Status.ReadyReplicas != 2 {
				return fmt.Errorf("%s: Ready = %+v, ready replicas %d", name, cond, ms.Status.ReadyReplicas)
			}
			return nil
		})
	}
	dev, err := nodesOf(ctx, "development")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := nodesOf(ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("development on %v, production on %v", dev, prod)
	if len(dev) != 2 || len(prod) != 2 {
		t.Fatalf("scheduled pods: development %v, production %v; want 2 each", dev, prod)
	}
	for _, n := range dev {
		if slices.Contains(prod, n) {
			t.Errorf("node %s runs development and production pods", n)
		}
	}
	if prod[0] == prod[1] {
		t.Errorf("both production replicas on %s; want them spread", prod[0])
	}

	// A third level finds no node free of other levels: its pods stay
	// Pending, unschedulable, rather than share a node.
	staging := sample("default", "staging")
	staging.Spec.Replicas = ptr.To[int32](1)
	staging.Spec.Store = v1alpha1.StoreSpec{Volume: &v1alpha1.VolumeStore{HostPath: "/srv/models"}}
	if err := c.Create(ctx, staging); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func(ctx context.Context) error {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels{controller.LabelInstance: "staging"}); err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("%d staging pods", len(pods.Items))
		}
		p := pods.Items[0]
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				if p.Spec.NodeName != "" {
					return fmt.Errorf("unschedulable pod on %s", p.Spec.NodeName)
				}
				return nil
			}
		}
		return fmt.Errorf("staging pod on %q, conditions %+v", p.Spec.NodeName, p.Status.Conditions)
	})

	// Deleting development collects its Deployment, ReplicaSet, pods,
	// Services and ConfigMap; the freed nodes then take the staging pod.
	if err := c.Delete(ctx, &v1alpha1.ModelService{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "development"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func(ctx context.Context) error {
		for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &corev1.ConfigMap{}} {
			name := "development"
			if _, ok := obj.(*corev1.ConfigMap); ok {
				name += "-config"
			}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, obj); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%T %s: err = %v, want not found", obj, name, err)
			}
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "development-http"}, &corev1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("HTTP service: err = %v, want not found", err)
		}
		for _, list := range []client.ObjectList{&appsv1.ReplicaSetList{}, &corev1.PodList{}} {
			if err := c.List(ctx, list, client.InNamespace("default"), client.MatchingLabels{controller.LabelInstance: "development"}); err != nil {
				return err
			}
			if n := len(itemsOf(list)); n != 0 {
				return fmt.Errorf("%d %T items left", n, list)
			}
		}
		return nil
	})
	eventually(t, timeout, func(ctx context.Context) error {
		nodes, err := nodesOf(ctx, "staging")
		if err != nil {
			return err
		}
		if len(nodes) != 1 || !slices.Contains(dev, nodes[0]) {
			return fmt.Errorf("staging on %v, want one of development's freed nodes %v", nodes, dev)
		}
		return nil
	})
}

// noWatchListDefaulting turns off the API server's WatchList feature. With
// it on (1.37's default) the server turns every watch from resourceVersion
// "0" into a watch-list request, which needs etcd's progress notifications
// (RequestWatchProgress): Debian's etcd 3.4.23 lacks them, so the server
// answers each such watch with an error event. kwok's node and pod
// informers watch from "0", so with the feature on kwok sees no pod and no
// node change and nothing ever runs. Clients that ask for watch-list
// themselves fall back to list-then-watch when the feature is off.
func noWatchListDefaulting(e *envtest.Environment) {
	e.ControlPlane.GetAPIServer().Configure().Append("feature-gates", "WatchList=false")
}

func itemsOf(list client.ObjectList) []any {
	var out []any
	switch l := list.(type) {
	case *appsv1.ReplicaSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *corev1.PodList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// start runs a control-plane process for the test's life, logging to a
// file kept in the test's directory (printed when the test fails).
func start(t *testing.T, dir, bin string, args ...string) {
	t.Helper()
	startEnv(t, dir, nil, bin, args...)
}

// startEnv is start with the process's environment (nil: the test's).
func startEnv(t *testing.T, dir string, env []string, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, filepath.Base(bin)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		if t.Failed() {
			if data, err := os.ReadFile(logPath); err == nil {
				tail := data[max(0, len(data)-4000):]
				t.Logf("last of %s:\n%s", filepath.Base(logPath), tail)
			}
		}
	})
}
