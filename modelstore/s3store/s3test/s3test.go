// Package s3test starts a real S3-compatible server for tests: on
// 127.0.0.1, with its data in a temporary directory, stopped when the test
// ends. [Start] runs versitygw (Apache-2.0, a Go module: light to install).
// [StartAtomic] runs MinIO, for the tests that need conditional writes to
// be atomic under concurrency: versitygw v1.8.0 evaluates If-Match and
// If-None-Match and then writes, without a lock, so two racing conditional
// writes can both succeed there.
//
// A binary is found through $SWAPWIRE_VERSITYGW or $SWAPWIRE_MINIO, then
// PATH, then $(go env GOPATH)/bin; `make tools` installs the pinned
// versions. A missing binary fails the test, unless SWAPWIRE_SKIP_S3=1 is
// set, which skips it and says so.
package s3test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/swapwire/swapwire/modelstore/s3store"
)

// Server is a running S3 server.
type Server struct {
	t        testing.TB
	kind     string // "versitygw" or "minio"
	bin      string
	root     string
	addr     string
	cmd      *exec.Cmd
	done     chan struct{}
	Bucket   string
	Endpoint string // http://127.0.0.1:PORT
	// AccessKey and SecretKey are random per server; pass them to clients
	// through the environment (Env), never on a command line.
	AccessKey, SecretKey string
}

// Binary returns the path of the named server's binary ("versitygw" or
// "minio"), or "" when there is none.
func Binary(kind string) string {
	if p := os.Getenv("SWAPWIRE_" + strings.ToUpper(kind)); p != "" {
		return p
	}
	if p, err := exec.LookPath(kind); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", kind)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Start starts versitygw (or the server $SWAPWIRE_S3_SERVER names:
// versitygw or minio) with a fresh bucket and registers its stop with
// t.Cleanup.
func Start(t testing.TB) *Server {
	if kind := os.Getenv("SWAPWIRE_S3_SERVER"); kind != "" {
		if kind != "versitygw" && kind != "minio" {
			t.Fatalf("SWAPWIRE_S3_SERVER=%q: want versitygw or minio", kind)
		}
		return start(t, kind)
	}
	return start(t, "versitygw")
}

// StartAtomic starts MinIO, whose conditional writes are atomic, with a
// fresh bucket.
func StartAtomic(t testing.TB) *Server { return start(t, "minio") }

func start(t testing.TB, kind string) *Server {
	t.Helper()
	bin := Binary(kind)
	if bin == "" {
		if os.Getenv("SWAPWIRE_SKIP_S3") == "1" {
			t.Skipf("SKIPPED: no %s binary and SWAPWIRE_SKIP_S3=1; run make tools", kind)
		}
		t.Fatalf("no %s binary: run `make tools` (or set SWAPWIRE_%s, or SWAPWIRE_SKIP_S3=1 to skip S3 tests)", kind, strings.ToUpper(kind))
	}
	s := &Server{
		t: t, kind: kind, bin: bin, root: t.TempDir(), Bucket: "models",
		AccessKey: "swapwire" + randomHex(4), SecretKey: randomHex(20),
	}
	if err := os.Mkdir(filepath.Join(s.root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(s.root, "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.start("127.0.0.1:0")
	t.Cleanup(s.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// MinIO accepts connections before it serves requests: retry.
	for {
		_, err := s.Client(t).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
		if err == nil {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("create bucket on %s: %v", kind, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// start runs versitygw on addr (host:0 picks a free port the first time;
// Restart reuses the port) and waits until it accepts connections.
func (s *Server) start(addr string) {
	s.t.Helper()
	if strings.HasSuffix(addr, ":0") {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			s.t.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	s.addr = addr
	s.Endpoint = "http://" + addr
	var cmd *exec.Cmd
	if s.kind == "minio" {
		cmd = exec.Command(s.bin, "server", "--quiet", "--address", addr, "--console-address", "127.0.0.1:0", filepath.Join(s.root, "data"))
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	} else {
		cmd = exec.Command(s.bin, "--port", addr, "--quiet", "posix", "--sidecar", filepath.Join(s.root, "meta"), filepath.Join(s.root, "data"))
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start versitygw: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.t.Logf("%s: %s", s.kind, sc.Text())
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("%s exited at start", s.kind)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s does not listen on %s: %v", s.kind, addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port that gives no signal
	}
}

// Stop kills the server and waits for it; safe to call twice.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same address and data, after
// Stop, and waits until it answers requests (MinIO answers 503 while it
// starts).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(s.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := s.Client(s.t)
	for {
		_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket)})
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("%s does not serve after a restart: %v", s.kind, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Env returns the environment a client process needs: the standard AWS
// variables with this server's keys and region.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Client returns an S3 client for the server.
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := s3store.NewClient(context.Background(), s3store.ClientConfig{Endpoint: s.Endpoint, PathStyle: true, Region: "us-east-1", MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// String describes the server for messages.
func (s *Server) String() string { return fmt.Sprintf("%s at %s", s.kind, s.Endpoint) }
