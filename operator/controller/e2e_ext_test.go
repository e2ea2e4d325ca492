package controller_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"k8s.io/utils/ptr"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/operator/api/v1alpha1"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// TestApplyingAVersionSwapsARealServer is the loop end to end: a real
// Swapwire server process (examples/digits, on the same engine as
// `swapwire serve`) serves from a store; the operator writes the pin of a
// ModelService into that store; the server swaps; the status says so.
func TestApplyingAVersionSwapsARealServer(t *testing.T) {
	root := t.TempDir()
	store, err := modelstore.NewLocal(root, modelstore.WithFSNotify(false))
	if err != nil {
		t.Fatal(err)
	}
	for v, dir := range map[int64]string{1: "v1", 2: "v2"} {
		if _, err := modelstore.PublishDir(context.Background(), store, "digits", v, filepath.Join("..", "..", "examples", "digits", "model", dir)); err != nil {
			t.Fatal(err)
		}
	}
	server := filepath.Join(t.TempDir(), "digits")
	build := exec.Command("go", "build", "-o", server, "./examples/digits")
	build.Dir = filepath.Join("..", "..") // in the root module
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the server: %v\n%s", err, out)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	// The server's admin identity is a token from its environment; this
	// test reads its models with it over the plaintext loopback connection.
	const token = "operator-e2e-token-0123456789abcdef"
	startEnv(t, t.TempDir(), append(os.Environ(), "SWAPWIRE_ADMIN_TOKEN="+token), server,
		"--store="+root, "--listen="+addr, "--poll=200ms", "--allow-plaintext-tokens")

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	models := swapwirev1.NewModelServiceClient(conn)
	serving := func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		resp, err := models.ListModels(ctx, &swapwirev1.ListModelsRequest{})
		if err != nil {
			return 0, err
		}
		for _, m := range resp.GetModels() {
			if m.GetName() == "digits" {
				return m.GetServingVersion(), nil
			}
		}
		return 0, fmt.Errorf("no digits among %v", resp.GetModels())
	}
	// Unpinned, the server serves the latest version.
	eventually(t, 60*time.Second, func(ctx context.Context) error {
		v, err := serving(ctx)
		if err == nil && v != 2 {
			err = fmt.Errorf("serving version %d, want 2", v)
		}
		return err
	})

	ns := namespace(t)
	ms := sample(ns, "digits")
	ms.Spec.Store = v1alpha1.StoreSpec{Volume: &v1alpha1.VolumeStore{HostPath: root}}
	ms.Spec.Models[0].Version = ptr.To[int64](1)
	create(t, ms)
	swapTo := func(want int64) {
		t.Helper()
		eventually(t, 30*time.Second, func(ctx context.Context) error {
			v, err := serving(ctx)
			if err != nil {
				return err
			}
			if v != want {
				return fmt.Errorf("the server serves version %d, want %d", v, want)
			}
			ms, err := get(ctx, ns, "digits", &v1alpha1.ModelService{})
			if err != nil {
				return err
			}
			if len(ms.Status.Models) != 1 || ms.Status.Models[0].ServingVersion != want || ms.Status.ObservedGeneration != ms.Generation {
				return fmt.Errorf("status = %+v at generation %d, want serving %d", ms.Status, ms.Generation, want)
			}
			return nil
		})
	}
	swapTo(1)
	update(t, ns, "digits", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Version = ptr.To[int64](2) })
	swapTo(2)
	update(t, ns, "digits", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Version = ptr.To[int64](1) })
	swapTo(1)
	if _, err := os.Stat(filepath.Join(root, "digits", modelstore.PolicyName)); err != nil {
		t.Errorf("no policy file: %v", err)
	}
}
