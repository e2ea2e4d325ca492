package controller_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
	"github.com/swapwire/swapwire/operator/controller"
)

// The tests run against a real kube-apiserver and etcd (built by
// scripts/k8s-controlplane.sh; KUBEBUILDER_ASSETS names their directory),
// with the reconciler running in a manager as it does in the operator.
var (
	k8s client.Client
	// cached reads through the manager's cache, as the reconciler does.
	cached  client.Client
	restCfg *rest.Config
	scheme  = runtime.NewScheme()
	env     *envtest.Environment
)

// startTimeout bounds each control-plane process's start.
const startTimeout = 2 * time.Minute

// crdDir holds the CRD that controller-gen generates.
var crdDir = filepath.Join("..", "..", "deploy", "operator", "crd")

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("SWAPWIRE_SKIP_K8S") == "1" {
			fmt.Println("SWAPWIRE_SKIP_K8S=1: skipping the operator tests that need a control plane")
			return 0
		}
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run `make test-operator` (it builds the control plane), or set SWAPWIRE_SKIP_K8S=1 to skip on purpose")
		return 1
	}
	log.SetLogger(testLogger())
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	env = &envtest.Environment{
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		// envtest's default, 20 s, is short on a busy 2-core machine,
		// where the API server has been seen to need longer.
		ControlPlaneStartTimeout: startTimeout,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the control plane:", err)
		return 1
	}
	defer env.Stop()
	restCfg = cfg
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cached = mgr.GetClient()
	r := &controller.Reconciler{
		Client:   mgr.GetClient(),
		Scheme:   scheme,
		Recorder: mgr.GetEventRecorder("swapwire-operator"),
		Stores:   &controller.Stores{},
		Resync:   time.Second,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		code = 1
	}
	return code
}
