// Package s3test starts a real S3-compatible server, versitygw, for tests:
// on 127.0.0.1, with its data in a temporary directory, stopped when the
// test ends.
//
// The versitygw binary is found through $SWAPWIRE_VERSITYGW, then PATH,
// then $(go env GOPATH)/bin; `make tools` installs the pinned version.
// A missing binary fails the test, unless SWAPWIRE_SKIP_S3=1 is set, which
// skips it and says so.
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

// Server is a running versitygw.
type Server struct {
	t        testing.TB
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

// Binary returns the versitygw binary's path, or "" when there is none.
func Binary() string {
	if p := os.Getenv("SWAPWIRE_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Start starts versitygw with a fresh bucket and registers its stop with
// t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("SWAPWIRE_SKIP_S3") == "1" {
			t.Skip("SKIPPED: no versitygw binary and SWAPWIRE_SKIP_S3=1; run make tools")
		}
		t.Fatal("no versitygw binary: run `make tools` (or set SWAPWIRE_VERSITYGW, or SWAPWIRE_SKIP_S3=1 to skip S3 tests)")
	}
	s := &Server{
		t: t, bin: bin, root: t.TempDir(), Bucket: "models",
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.Client(t).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return s
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
	cmd := exec.Command(s.bin, "--port", addr, "--quiet", "posix", "--sidecar", filepath.Join(s.root, "meta"), filepath.Join(s.root, "data"))
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
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
			s.t.Logf("versitygw: %s", sc.Text())
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
			s.t.Fatalf("versitygw exited at start")
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("versitygw does not listen on %s: %v", addr, err)
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

// Restart starts the server again on the same address and data, after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(s.addr)
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
func (s *Server) String() string { return fmt.Sprintf("versitygw at %s", s.Endpoint) }
