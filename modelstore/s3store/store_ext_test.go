package s3store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/s3store"
	"github.com/swapwire/swapwire/modelstore/s3store/s3test"
	"github.com/swapwire/swapwire/modelstore/storetest"
)

func newStore(t *testing.T, srv *s3test.Server, cache string, opts ...s3store.Option) *s3store.Store {
	t.Helper()
	if cache == "" {
		cache = t.TempDir()
	}
	s, err := s3store.New(srv.Client(t), srv.Bucket, "models", cache, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The server honours conditional writes: the store's compare-and-swap
// rests on this.
func TestServerHonoursConditionalWrites(t *testing.T) {
	srv := s3test.Start(t)
	c := srv.Client(t)
	ctx := context.Background()
	put := func(body, ifMatch, ifNoneMatch string) (*s3.PutObjectOutput, error) {
		in := &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("k"), Body: strings.NewReader(body)}
		if ifMatch != "" {
			in.IfMatch = aws.String(ifMatch)
		}
		if ifNoneMatch != "" {
			in.IfNoneMatch = aws.String(ifNoneMatch)
		}
		return c.PutObject(ctx, in)
	}
	first, err := put("a", "", "*")
	if err != nil {
		t.Fatalf("create with If-None-Match: *: %v", err)
	}
	if _, err := put("b", "", "*"); err == nil {
		t.Fatal("second create with If-None-Match: * succeeded")
	}
	second, err := put("c", aws.ToString(first.ETag), "")
	if err != nil {
		t.Fatalf("If-Match on the current ETag: %v", err)
	}
	if _, err := put("d", aws.ToString(first.ETag), ""); err == nil {
		t.Fatal("If-Match on a stale ETag succeeded")
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(out.Body)
	if b.String() != "c" || aws.ToString(out.ETag) != aws.ToString(second.ETag) {
		t.Fatalf("object = %q (ETag %s), want c (ETag %s)", b.String(), aws.ToString(out.ETag), aws.ToString(second.ETag))
	}
}

func TestPublishListOpen(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	cache := t.TempDir()
	s := newStore(t, srv, cache)
	v1 := map[string]string{"model.bin": "weights one", "sub/labels.txt": "a\nb\n"}
	v2 := map[string]string{"model.bin": "weights two"}
	if v, err := modelstore.PublishDir(ctx, s, "digits", 0, writeTree(t, v1)); err != nil || v != 1 {
		t.Fatalf("publish v1 = %d, %v", v, err)
	}
	if v, err := modelstore.PublishDir(ctx, s, "digits", 0, writeTree(t, v2)); err != nil || v != 2 {
		t.Fatalf("publish v2 = %d, %v", v, err)
	}
	if _, err := modelstore.PublishDir(ctx, s, "digits", 2, writeTree(t, v2)); !errors.Is(err, modelstore.ErrExists) {
		t.Fatalf("publish over v2: %v, want ErrExists", err)
	}
	if v, err := modelstore.PublishDir(ctx, s, "other", 7, writeTree(t, v2)); err != nil || v != 7 {
		t.Fatalf("publish other v7 = %d, %v", v, err)
	}
	if ms, err := s.Models(ctx); err != nil || !slices.Equal(ms, []string{"digits", "other"}) {
		t.Fatalf("Models = %v, %v", ms, err)
	}
	if vs, err := s.Versions(ctx, "digits"); err != nil || !slices.Equal(vs, []int64{1, 2}) {
		t.Fatalf("Versions = %v, %v", vs, err)
	}
	if vs, err := s.Versions(ctx, "nothing"); err != nil || len(vs) != 0 {
		t.Fatalf("Versions(nothing) = %v, %v", vs, err)
	}
	dir, err := s.Open(ctx, "digits", 1)
	if err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dir)
	delete(got, modelstore.ManifestName)
	if !maps.Equal(got, v1) {
		t.Fatalf("Open(1) holds %v, want %v", got, v1)
	}
	if !strings.HasPrefix(dir, cache) {
		t.Fatalf("Open returned %s, outside the cache %s", dir, cache)
	}
	if _, err := s.Open(ctx, "digits", 3); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Open(3): %v, want ErrNotFound", err)
	}
	// A new Store on the same cache (a restarted process) reuses the cached
	// copy: with the server down it still opens it.
	srv.Stop()
	s2 := newStore(t, srv, cache)
	if dir2, err := s2.Open(ctx, "digits", 1); err != nil || dir2 != dir {
		t.Fatalf("Open from the cache with the store down = %s, %v", dir2, err)
	}
	if _, err := s2.Open(ctx, "digits", 2); !errors.Is(err, modelstore.ErrUnavailable) {
		t.Fatalf("Open(uncached) with the store down: %v, want ErrUnavailable", err)
	}
	srv.Restart()
	// Delete removes the version everywhere.
	if err := s.Delete(ctx, "digits", 1); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.Versions(ctx, "digits"); !slices.Equal(vs, []int64{2}) {
		t.Fatalf("after Delete: %v", vs)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cached copy of a deleted version: %v", err)
	}
	if err := s.Delete(ctx, "digits", 1); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
}

// A process killed between uploading the files and the manifest leaves a
// version nobody lists or loads; Clean removes its objects.
func TestManifestLastKilledUploader(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newStore(t, srv, "")
	src := writeTree(t, map[string]string{"a.bin": strings.Repeat("a", 1<<20), "b.bin": "b"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv(srv.Endpoint, srv.Bucket, t.TempDir(), envPublish+"="+src)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "uploaded\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("publisher said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	keys := listKeys(t, srv)
	if !slices.Contains(keys, "models/m/1/a.bin") || !slices.Contains(keys, "models/m/1/b.bin") {
		t.Fatalf("the killed publisher uploaded %v, want both files", keys)
	}
	if vs, err := s.Versions(ctx, "m"); err != nil || len(vs) != 0 {
		t.Fatalf("Versions after a killed upload = %v, %v; want none", vs, err)
	}
	if _, err := s.Open(ctx, "m", 1); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Open of the half-uploaded version: %v, want ErrNotFound", err)
	}
	// Young orphans are kept (an upload may be in progress); old ones go.
	if err := s.Clean(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if keys := listKeys(t, srv); len(keys) != 3 {
		t.Fatalf("Clean(1h) left %v, want the 3 young objects", keys)
	}
	if err := s.Clean(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if keys := listKeys(t, srv); len(keys) != 0 {
		t.Fatalf("Clean(0) left %v", keys)
	}
	if v, err := modelstore.PublishDir(ctx, s, "m", 0, src); err != nil || v != 1 {
		t.Fatalf("publish after clean = %d, %v", v, err)
	}
}

func listKeys(t *testing.T, srv *s3test.Server) []string {
	t.Helper()
	out, err := srv.Client(t).ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// An object changed behind the manifest's back is refused with ErrCorrupt
// and nothing of it is cached.
func TestCorruptObject(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newStore(t, srv, "")
	if _, err := modelstore.PublishDir(ctx, s, "m", 0, writeTree(t, map[string]string{"w.bin": "good weights"})); err != nil {
		t.Fatal(err)
	}
	bad := "evil weights" // the same size
	if _, err := srv.Client(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("models/m/1/w.bin"), Body: strings.NewReader(bad)}); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	fresh := newStore(t, srv, cache)
	_, err := fresh.Open(ctx, "m", 1)
	if !errors.Is(err, modelstore.ErrCorrupt) || !strings.Contains(err.Error(), "w.bin") {
		t.Fatalf("Open of a tampered object: %v, want ErrCorrupt naming w.bin", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "m", "1")); !os.IsNotExist(err) {
		t.Fatalf("a corrupt download was cached: %v", err)
	}
	// A cached copy damaged on disk is refetched, not served.
	if _, err := srv.Client(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("models/m/1/w.bin"), Body: strings.NewReader("good weights")}); err != nil {
		t.Fatal(err)
	}
	dir, err := fresh.Open(ctx, "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), []byte("rotten bits!"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err = fresh.Open(ctx, "m", 1)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "w.bin")); string(b) != "good weights" {
		t.Fatalf("after bit rot Open served %q", b)
	}
}

// Two processes each making 50 concurrent label updates lose none.
func TestUpdatePolicyRacingProcesses(t *testing.T) {
	srv := s3test.Start(t)
	s := newStore(t, srv, "")
	storetest.RaceLabels(t, s, childEnv(srv.Endpoint, srv.Bucket, t.TempDir()), 2, 50)
}

func TestPolicy(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	s := newStore(t, srv, "")
	if p, err := s.Policy(ctx, "m"); err != nil || p.Generation != 0 || p.Pinned != 0 {
		t.Fatalf("Policy of nothing = %+v, %v", p, err)
	}
	p, err := s.UpdatePolicy(ctx, "m", func(p *modelstore.Policy) error { p.Pinned = 3; return nil })
	if err != nil || p.Pinned != 3 || p.Generation != 1 {
		t.Fatalf("UpdatePolicy = %+v, %v", p, err)
	}
	if err := s.SetPolicy(ctx, "m", modelstore.Policy{Labels: map[string]int64{"stable": 2}}); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Policy(ctx, "m"); err != nil || p.Generation != 2 || p.Pinned != 0 || p.Labels["stable"] != 2 {
		t.Fatalf("Policy = %+v, %v", p, err)
	}
	// A garbage POLICY.json is an error, never the zero policy.
	if _, err := srv.Client(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String("models/m/POLICY.json"), Body: strings.NewReader("{garbage")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Policy(ctx, "m"); !errors.Is(err, modelstore.ErrInvalid) {
		t.Fatalf("garbage policy: %v, want ErrInvalid", err)
	}
}

// While the server is down, calls fail with ErrUnavailable, Watch keeps
// polling and sends nothing; once it is back, Watch reports the recovery
// and then the changes.
func TestOutageAndRecovery(t *testing.T) {
	srv := s3test.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newStore(t, srv, "", s3store.WithPollInterval(50*time.Millisecond), s3store.WithMaxBackoff(200*time.Millisecond))
	if _, err := modelstore.PublishDir(ctx, s, "m", 0, writeTree(t, map[string]string{"w": "1"})); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Models(ctx); !errors.Is(err, modelstore.ErrUnavailable) {
		t.Fatalf("Models with the store down: %v, want ErrUnavailable", err)
	}
	if _, err := s.Versions(ctx, "m"); !errors.Is(err, modelstore.ErrUnavailable) {
		t.Fatalf("Versions with the store down: %v, want ErrUnavailable", err)
	}
	if _, err := s.UpdatePolicy(ctx, "m", func(*modelstore.Policy) error { return nil }); !errors.Is(err, modelstore.ErrUnavailable) {
		t.Fatalf("UpdatePolicy with the store down: %v, want ErrUnavailable", err)
	}
	deadline := time.After(20 * time.Second)
	for s.Err() == nil {
		select {
		case <-ch:
			t.Fatal("Watch notified while the store was down")
		case <-deadline:
			t.Fatal("Err stayed nil with the store down")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !errors.Is(s.Err(), modelstore.ErrUnavailable) {
		t.Fatalf("Err = %v, want ErrUnavailable", s.Err())
	}
	srv.Restart()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("no notification after the store came back")
	}
	if s.Err() != nil {
		t.Fatalf("Err after recovery = %v", s.Err())
	}
	other := newStore(t, srv, "")
	if _, err := modelstore.PublishDir(ctx, other, "m", 0, writeTree(t, map[string]string{"w": "2"})); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("no notification of a version published after recovery")
	}
	if vs, err := s.Versions(ctx, "m"); err != nil || !slices.Equal(vs, []int64{1, 2}) {
		t.Fatalf("Versions after recovery = %v, %v", vs, err)
	}
	cancel()
	for range ch {
	}
}
