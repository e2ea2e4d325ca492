package s3store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/s3store"
	"github.com/swapwire/swapwire/modelstore/storetest"
)

// Child processes of these tests find their server and bucket here.
const (
	envEndpoint = "SWAPWIRE_TEST_S3_ENDPOINT"
	envBucket   = "SWAPWIRE_TEST_S3_BUCKET"
	envCache    = "SWAPWIRE_TEST_S3_CACHE"
	envPublish  = "SWAPWIRE_TEST_S3_PUBLISH_AND_HANG"
)

func TestMain(m *testing.M) {
	open := func(opts ...s3store.Option) (*s3store.Store, error) {
		c, err := s3store.NewClient(context.Background(), s3store.ClientConfig{Endpoint: os.Getenv(envEndpoint), PathStyle: true})
		if err != nil {
			return nil, err
		}
		return s3store.New(c, os.Getenv(envBucket), "models", os.Getenv(envCache), opts...)
	}
	if code, ok := storetest.RunChild(func() (modelstore.Store, error) { return open() }); ok {
		os.Exit(code)
	}
	if src := os.Getenv(envPublish); src != "" {
		os.Exit(publishAndHang(open, src))
	}
	goleak.VerifyTestMain(m)
}

// publishAndHang publishes src as a version of model "m", but stops after
// uploading the files and before the manifest: it prints "uploaded" and
// waits to be killed.
func publishAndHang(open func(...s3store.Option) (*s3store.Store, error), src string) int {
	s, err := open(s3store.WithBeforeManifest(func() {
		fmt.Println("uploaded")
		time.Sleep(time.Hour) // killed by the parent test
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	if _, err := modelstore.PublishDir(ctx, s, "m", 0, src); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// writeTree creates files (slash path → content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func childEnv(endpoint, bucket, cache string, extra ...string) []string {
	return append([]string{envEndpoint + "=" + endpoint, envBucket + "=" + bucket, envCache + "=" + cache}, extra...)
}
