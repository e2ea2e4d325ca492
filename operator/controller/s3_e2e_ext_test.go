package controller_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/s3store"
	"github.com/swapwire/swapwire/modelstore/s3store/s3test"
	"github.com/swapwire/swapwire/operator/api/v1alpha1"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// TestApplyingAVersionSwapsSwapwireServeOnS3 is the end-to-end
// loop: a real S3 server (versitygw on 127.0.0.1) holds two versions; a
// real `swapwire serve` process with a Python worker serves from it; a
// ModelService naming that bucket is applied with version 1, then 2; the
// operator writes the pin into the store's policy by compare-and-swap, the
// server swaps, and the resource's status reports the serving version.
func TestApplyingAVersionSwapsSwapwireServeOnS3(t *testing.T) {
	srv := s3test.Start(t) // sets the AWS_* variables the operator's S3 client reads
	ctx := context.Background()
	pub, err := s3store.New(srv.Client(t), srv.Bucket, "fleet", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for v, answer := range map[int64]string{1: "one", 2: "two"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte(answer+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := modelstore.PublishDir(ctx, pub, "m", v, dir); err != nil {
			t.Fatal(err)
		}
	}

	bin := filepath.Join(t.TempDir(), "swapwire")
	build := exec.Command("go", "build", "-o", bin, "./cmd/swapwire")
	build.Dir = filepath.Join("..", "..") // the root module
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build swapwire: %v\n%s", err, out)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "serving", "testdata", "pymodel.py"))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	store := fmt.Sprintf("s3://%s/fleet", srv.Bucket)
	const token = "operator-s3-e2e-token-0123456789abcdef"
	startEnv(t, t.TempDir(), append(append(os.Environ(), srv.Env()...), "SWAPWIRE_ADMIN_TOKEN="+token), bin, "serve", "--allow-plaintext-tokens",
		"--model-store="+store, "--s3-endpoint="+srv.Endpoint, "--s3-path-style",
		"--model-cache="+t.TempDir(), "--model=m", "--workers=1", "--worker=/usr/bin/python3 '"+script+"'",
		"--listen="+addr, "--poll=300ms", "--log-format=json")

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin := swapwirev1.NewModelServiceClient(conn)
	predictor := swapwirev1.NewPredictionServiceClient(conn)
	// serving asks the server which version serves, and checks that a
	// prediction really comes from it.
	serving := func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := admin.ListModels(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), &swapwirev1.ListModelsRequest{})
		if err != nil {
			return 0, err
		}
		if len(resp.GetModels()) != 1 {
			return 0, fmt.Errorf("models %v", resp.GetModels())
		}
		v := resp.GetModels()[0].GetServingVersion()
		out, err := predictor.Predict(ctx, &swapwirev1.PredictRequest{Model: "m", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}}})
		if err != nil {
			return 0, err
		}
		if got, want := out.GetOutput().GetText(), map[int64]string{1: "one", 2: "two"}[out.GetVersion()]; got != want {
			return 0, fmt.Errorf("version %d answered %q, want %q", out.GetVersion(), got, want)
		}
		if out.GetVersion() != v {
			return 0, fmt.Errorf("ListModels says %d serves, a prediction came from %d", v, out.GetVersion())
		}
		return v, nil
	}
	eventually(t, 90*time.Second, func(ctx context.Context) error {
		v, err := serving(ctx)
		if err == nil && v != 2 {
			err = fmt.Errorf("serving %d before any pin, want the latest, 2", v)
		}
		return err
	})

	ns := namespace(t)
	ms := sample(ns, "fleet")
	ms.Spec.Store = v1alpha1.StoreSpec{S3: &v1alpha1.S3Store{
		URL: store, Endpoint: srv.Endpoint, Region: "us-east-1", PathStyle: true,
		CredentialsSecret: corev1.LocalObjectReference{Name: "s3"},
	}}
	ms.Spec.Models = []v1alpha1.ModelSpec{{Name: "m", Version: ptr.To[int64](1)}}
	create(t, ms)
	swapTo := func(want int64) {
		t.Helper()
		eventually(t, 60*time.Second, func(ctx context.Context) error {
			v, err := serving(ctx)
			if err != nil {
				return err
			}
			if v != want {
				return fmt.Errorf("the server serves version %d, want %d", v, want)
			}
			ms, err := get(ctx, ns, "fleet", &v1alpha1.ModelService{})
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
	p1, err := pub.Policy(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	update(t, ns, "fleet", func(ms *v1alpha1.ModelService) { ms.Spec.Models[0].Version = ptr.To[int64](2) })
	swapTo(2)
	p2, err := pub.Policy(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if p1.Pinned != 1 || p2.Pinned != 2 || p2.Generation <= p1.Generation {
		t.Errorf("policies %+v then %+v: want pins 1 then 2 with a growing generation", p1, p2)
	}
	ms, err = get(ctx, ns, "fleet", &v1alpha1.ModelService{})
	if err != nil {
		t.Fatal(err)
	}
	if ms.Status.Models[0].PolicyGeneration != p2.Generation {
		t.Errorf("status policy generation %d, store %d", ms.Status.Models[0].PolicyGeneration, p2.Generation)
	}
	// The Deployment tells the pods the same store, and the keys come from
	// the Secret, never the command line.
	dep, err := get(ctx, ns, "fleet", &appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--model-store=" + store, "--s3-endpoint=" + srv.Endpoint, "--s3-path-style", "--s3-region=us-east-1"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %q", c.Args, want)
		}
	}
	keys := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			keys[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	if keys["AWS_ACCESS_KEY_ID"] != "s3/AWS_ACCESS_KEY_ID" || keys["AWS_SECRET_ACCESS_KEY"] != "s3/AWS_SECRET_ACCESS_KEY" {
		t.Errorf("S3 keys from secrets: %v", keys)
	}
}
