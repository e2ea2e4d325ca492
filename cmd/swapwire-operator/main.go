// Command swapwire-operator runs the ModelService controller: each
// ModelService becomes a Deployment of swapwire servers, its Services, a
// ConfigMap, an HPA, a PDB (production) and a ServiceMonitor (when the
// Prometheus Operator is installed), and the models' pins, labels and
// traffic weights are written into the model store's policies.
//
//	swapwire-operator --leader-elect --claim-root=/stores
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/swapwire/swapwire/operator/api/v1alpha1"
	"github.com/swapwire/swapwire/operator/controller"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "swapwire-operator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("swapwire-operator", flag.ContinueOnError)
	metricsAddr := fs.String("metrics-listen", ":8080", "address of /metrics; 0 for none")
	probeAddr := fs.String("health-listen", ":8081", "address of /healthz and /readyz")
	leaderElect := fs.Bool("leader-elect", false, "elect one active replica through a Lease, so two replicas can run")
	leaderNS := fs.String("leader-election-namespace", "", "namespace of the Lease (default: the pod's namespace)")
	namespace := fs.String("namespace", "", "watch only this namespace (default: every namespace)")
	claimRoot := fs.String("claim-root", "", "directory where each volume store's claim is mounted as <claim-root>/<claimName>; empty to leave claim stores' policies alone")
	resync := fs.Duration("resync", 30*time.Second, "how often each ModelService's store is read again")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if *logFormat == "text" {
		h = slog.NewTextHandler(os.Stderr, nil)
	}
	ctrl.SetLogger(logr.FromSlogHandler(h))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	opts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:  *probeAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "swapwire-operator.serving.swapwire.dev",
		LeaderElectionNamespace: *leaderNS,
		// Step down at once on SIGTERM, so the other replica takes over fast.
		LeaderElectionReleaseOnCancel: true,
	}
	if *namespace != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{*namespace: {}}
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return err
	}
	r := &controller.Reconciler{
		Client:   mgr.GetClient(),
		Scheme:   scheme,
		Recorder: mgr.GetEventRecorder("swapwire-operator"),
		Stores:   &controller.Stores{Volumes: controller.VolumeStores{ClaimRoot: *claimRoot}},
		Resync:   *resync,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
