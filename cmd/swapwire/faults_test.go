package main

// The process-level fault tests: each starts the swapwire binary (and the
// test worker) as real processes and injects one fault from outside. Each
// logs one "FAULT|" row with its figures; make faults runs them and prints
// the rows as the matrix of docs/reliability.md.

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

var (
	binsOnce sync.Once
	binsDir  string
	binsErr  error
)

// bins builds swapwire and the test worker once per test binary.
func bins(t *testing.T) (swapwire, worker string) {
	t.Helper()
	binsOnce.Do(func() {
		binsDir, binsErr = os.MkdirTemp("", "swapwire-faults-")
		if binsErr != nil {
			return
		}
		for pkg, out := range map[string]string{".": "swapwire", "../../internal/testworker": "testworker"} {
			if b, err := exec.Command("go", "build", "-o", filepath.Join(binsDir, out), pkg).CombinedOutput(); err != nil {
				binsErr = err
				t.Logf("go build %s: %s", pkg, b)
				return
			}
		}
	})
	if binsErr != nil {
		t.Fatal(binsErr)
	}
	return filepath.Join(binsDir, "swapwire"), filepath.Join(binsDir, "testworker")
}

// proc is a swapwire serve process.
type proc struct {
	cmd  *exec.Cmd
	log  *serveLog
	addr string
	done chan struct{}
	err  error
}

const faultToken = "fault-test-token-0123456789abcdef"

// startProc runs swapwire serve on store with the test worker and the
// admin token in its environment (unless noIdentity), and waits until it
// listens.
func startProc(t *testing.T, store string, noIdentity bool, extra ...string) *proc {
	t.Helper()
	sw, worker := bins(t)
	args := append([]string{"serve", "--model-dir", store, "--listen", "127.0.0.1:0", "--log-format", "json",
		"--worker", worker, "--workers", "1", "--poll", "200ms", "--allow-plaintext-tokens"}, extra...)
	p := &proc{cmd: exec.Command(sw, args...), log: newServeLog(), done: make(chan struct{})}
	env := []string{"SWAPWIRE_WORKER_PROTOCOL=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWAPWIRE_ADMIN_TOKEN=") {
			env = append(env, kv)
		}
	}
	if !noIdentity {
		env = append(env, "SWAPWIRE_ADMIN_TOKEN="+faultToken)
	}
	p.cmd.Env = env
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("serve log:\n%s", p.log)
		}
	})
	select {
	case p.addr = <-p.log.addr:
	case <-p.done:
		t.Fatalf("serve exited before serving: %v\n%s", p.err, p.log)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30s")
	}
	return p
}

func dialProc(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func adminCtx(t *testing.T) context.Context {
	return metadata.AppendToOutgoingContext(callCtx(t), "authorization", "Bearer "+faultToken)
}

// uploadVersion publishes a version of model m whose answer file is answer.
func uploadVersion(t *testing.T, addr, answer string) {
	t.Helper()
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", faultToken)
	run(t, "upload", "--addr", addr, "--model", "m", "--quiet", answerDir(t, answer))
	os.Unsetenv("SWAPWIRE_ADMIN_TOKEN")
}

func waitHealth(t *testing.T, conn *grpc.ClientConn, service string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := w.Recv()
		if err != nil {
			t.Fatalf("health of %q never %v: %v", service, want, err)
		}
		if r.GetStatus() == want {
			return
		}
	}
}

// predictN sends n predictions and returns how many failed and their codes.
func predictN(t *testing.T, conn *grpc.ClientConn, n int) (failed int, codesSeen map[codes.Code]int, versions map[int64]int) {
	c := swapwirev1.NewPredictionServiceClient(conn)
	codesSeen, versions = map[codes.Code]int{}, map[int64]int{}
	for range n {
		r, err := c.Predict(callCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "q"}}})
		codesSeen[status.Code(err)]++
		if err != nil {
			failed++
			continue
		}
		versions[r.GetVersion()]++
	}
	return failed, codesSeen, versions
}

// row logs one row of the fault matrix.
func row(t *testing.T, fault string, sent, failed int, codes, recovery string) {
	t.Logf("FAULT|%s|%s|%d|%d|%s|%s", fault, t.Name(), sent, failed, codes, recovery)
}

// TestFaultSIGTERMWithOpenWatch sends SIGTERM to a serving process while a
// client holds a health Watch: the Watch sees NOT_SERVING first, new
// connections are still accepted during the drain delay, and the process
// exits 0 within the drain delay + 5 s (before the fix it held for 30 s and
// exited 1).
func TestFaultSIGTERMWithOpenWatch(t *testing.T) {
	const drain = 2 * time.Second
	p := startProc(t, t.TempDir(), false, "--drain-delay", drain.String())
	conn := dialProc(t, p.addr)
	uploadVersion(t, p.addr, "one")
	waitHealth(t, conn, "m", healthpb.HealthCheckResponse_SERVING)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch: %v %v", r, err)
	}
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch after SIGTERM: %v %v, want NOT_SERVING", r, err)
	}
	notServing := time.Since(start)
	// Still accepting: a new connection is answered during the drain delay,
	// and predictions on it succeed.
	fresh := dialProc(t, p.addr)
	hr, err := healthpb.NewHealthClient(fresh).Check(callCtx(t), &healthpb.HealthCheckRequest{Service: "m"})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("a new connection during the drain: %v %v", hr, err)
	}
	failed, seen, _ := predictN(t, fresh, 20)
	if failed != 0 {
		t.Errorf("%d of 20 predictions failed during the drain delay: %v", failed, seen)
	}
	_, err = watch.Recv()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("the Watch ended with %v, want Unavailable", err)
	}
	select {
	case <-p.done:
	case <-time.After(drain + 5*time.Second):
		t.Fatalf("serve did not exit within %v of SIGTERM", drain+5*time.Second)
	}
	took := time.Since(start)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("serve exited %d, want 0", code)
	}
	if took < drain {
		t.Errorf("serve exited after %v, before the drain delay of %v", took, drain)
	}
	row(t, "SIGTERM with an open health Watch", 20, failed, "Watch: NOT_SERVING then UNAVAILABLE; exit 0",
		"NOT_SERVING in "+notServing.Round(time.Millisecond).String()+", exit in "+took.Round(100*time.Millisecond).String()+" (drain 2s)")
}

// proxy forwards every connection to target from 127.0.0.1, as a mesh
// sidecar, nginx or kubectl port-forward would.
func proxy(t *testing.T, target string) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	return lis.Addr().String()
}

// TestFaultAdminThroughLocalProxy uploads through a local TCP proxy to a
// server with no identity configured: refused (before the fix the loopback
// peer made it admin and the upload was loaded).
func TestFaultAdminThroughLocalProxy(t *testing.T) {
	p := startProc(t, t.TempDir(), true)
	via := proxy(t, p.addr)
	code, _, errb := dispatchOut("upload", "--addr", via, "--model", "m", "--quiet", answerDir(t, "pwned"))
	if code != 1 || !strings.Contains(errb, "PermissionDenied") || !strings.Contains(errb, "no admin identity is configured") {
		t.Fatalf("upload through a local proxy: exit %d, %s", code, errb)
	}
	entries, _ := os.ReadDir(filepath.Join(p.cmd.Args[3], "m"))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("the refused upload left %s in the store", e.Name())
		}
	}
	row(t, "admin call through a local proxy, no identity", 1, 1, "PERMISSION_DENIED", "nothing written")
}

// TestFaultEmptiedStoreRoot empties the store root under a serving process
// (a volume that did not mount): predictions keep succeeding on the old
// version and swapwire models shows the fault (before the fix the model was
// unloaded: UNAVAILABLE).
func TestFaultEmptiedStoreRoot(t *testing.T) {
	store := t.TempDir()
	p := startProc(t, store, false)
	conn := dialProc(t, p.addr)
	uploadVersion(t, p.addr, "one")
	waitHealth(t, conn, "m", healthpb.HealthCheckResponse_SERVING)
	aside := t.TempDir()
	if err := os.Rename(filepath.Join(store, "m"), filepath.Join(aside, "m")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", faultToken)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(run(t, "models", "--addr", p.addr), "store fault") {
		if time.Now().After(deadline) {
			t.Fatal("swapwire models never showed the store fault")
		}
		predictN(t, conn, 1) // keep traffic going while the poll notices
	}
	const n = 200
	failed, seen, versions := predictN(t, conn, n)
	if failed != 0 || versions[1] != n {
		t.Fatalf("with the store emptied: %d of %d failed (%v), versions %v", failed, n, seen, versions)
	}
	start := time.Now()
	if err := os.Rename(filepath.Join(aside, "m"), filepath.Join(store, "m")); err != nil {
		t.Fatal(err)
	}
	for strings.Contains(run(t, "models", "--addr", p.addr), "store fault") {
		if time.Since(start) > 20*time.Second {
			t.Fatal("the store fault never cleared")
		}
	}
	row(t, "store root emptied under a serving process", n, failed, "OK", "fault cleared "+time.Since(start).Round(100*time.Millisecond).String()+" after the store returned")
}

// TestFaultGarbagePolicyRestart pins version 1 of two, writes a garbage
// POLICY.json and restarts the process: it still serves version 1 and
// shows the fault (before the fix it served version 2).
func TestFaultGarbagePolicyRestart(t *testing.T) {
	store := t.TempDir()
	p := startProc(t, store, false)
	conn := dialProc(t, p.addr)
	uploadVersion(t, p.addr, "one")
	uploadVersion(t, p.addr, "two")
	t.Setenv("SWAPWIRE_ADMIN_TOKEN", faultToken)
	run(t, "switch", "--addr", p.addr, "--model", "m", "--version", "1")
	waitHealth(t, conn, "m", healthpb.HealthCheckResponse_SERVING)
	if err := os.WriteFile(filepath.Join(store, "m", "POLICY.json"), []byte(`{"pinned": tru`), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	start := time.Now()
	q := startProc(t, store, false)
	qc := dialProc(t, q.addr)
	waitHealth(t, qc, "m", healthpb.HealthCheckResponse_SERVING)
	up := time.Since(start)
	const n = 50
	failed, seen, versions := predictN(t, qc, n)
	if failed != 0 || versions[1] != n {
		t.Fatalf("after the restart: %d of %d failed (%v), versions %v; want all from version 1", failed, n, seen, versions)
	}
	out := run(t, "models", "--addr", q.addr)
	if !strings.Contains(out, "store fault") || !strings.Contains(out, "[pinned 1]") {
		t.Fatalf("swapwire models after the restart:\n%s", out)
	}
	// An admin write repairs the policy from the last good one.
	run(t, "label", "--addr", q.addr, "--model", "m", "--label", "stable", "--version", "1")
	for deadline := time.Now().Add(20 * time.Second); strings.Contains(run(t, "models", "--addr", q.addr), "store fault"); {
		if time.Now().After(deadline) {
			t.Fatal("the label write did not repair the policy")
		}
	}
	if b, err := os.ReadFile(filepath.Join(store, "m", "POLICY.json")); err != nil || !strings.Contains(string(b), `"pinned": 1`) {
		t.Errorf("POLICY.json after the repair: %s %v", b, err)
	}
	row(t, "garbage POLICY.json, then restart", n, failed, "OK (all from pinned v1)", "serving v1 "+up.Round(100*time.Millisecond).String()+" after restart")
}

// TestFaultSparseUpload uploads a 2 KB PAX sparse tar that expands to
// 1 GiB: refused, and no file over the cap is left in the store (before the
// fix the 1 GiB file was written).
func TestFaultSparseUpload(t *testing.T) {
	store := t.TempDir()
	p := startProc(t, store, false, "--max-extracted-bytes", "1048576")
	archive := sparseArchive(1 << 30)
	sum := sha256.Sum256(archive)
	up, err := swapwirev1.NewModelServiceClient(dialProc(t, p.addr)).UploadModel(adminCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{Model: "m", Sha256: hex.EncodeToString(sum[:])}}})
	up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Chunk{Chunk: archive}})
	_, err = up.CloseAndRecv()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "sparse") {
		t.Fatalf("sparse upload: %v, want InvalidArgument", err)
	}
	var largest int64
	filepath.Walk(store, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && info.Size() > largest {
			largest = info.Size()
		}
		return nil
	})
	if largest > 1<<20 {
		t.Fatalf("a %d-byte file is in the store", largest)
	}
	row(t, "2 KB PAX sparse tar expanding to 1 GiB", 1, 1, "INVALID_ARGUMENT", "largest file left: "+strconv.FormatInt(largest, 10)+" B")
}

// TestFaultKilledMidUpload kills the server in the middle of an upload and
// restarts it: the interrupted upload's .tmp-* directory is removed (before
// the fix it stayed forever).
func TestFaultKilledMidUpload(t *testing.T) {
	store := t.TempDir()
	p := startProc(t, store, false)
	up, err := swapwirev1.NewModelServiceClient(dialProc(t, p.addr)).UploadModel(adminCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{Model: "m", Sha256: strings.Repeat("0", 64)}}})
	up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Chunk{Chunk: make([]byte, 512)}})
	var tmp []string
	for deadline := time.Now().Add(20 * time.Second); len(tmp) == 0; {
		tmp, _ = filepath.Glob(filepath.Join(store, "m", ".tmp-*"))
		if time.Now().After(deadline) {
			t.Fatal("the upload made no temporary directory")
		}
		runtime.Gosched()
	}
	p.cmd.Process.Kill()
	<-p.done
	if left, _ := filepath.Glob(filepath.Join(store, "m", ".tmp-*")); len(left) == 0 {
		t.Fatal("the killed upload left nothing to clean")
	}
	startProc(t, store, false, "--clean-tmp-after", "0s")
	left, _ := filepath.Glob(filepath.Join(store, "m", ".tmp-*"))
	if len(left) != 0 {
		t.Fatalf("after a restart, %v remain", left)
	}
	row(t, "server killed mid-upload, then restarted", 1, 1, "UNAVAILABLE (killed)", "tmp dir removed at start")
}

// sparseArchive is a PAX 1.0 sparse tar of about 2 KB whose one file
// expands to realSize bytes (archive/tar's writer will not make one).
func sparseArchive(realSize int64) []byte {
	header := func(name string, size int64, typ byte) []byte {
		b := make([]byte, 512)
		copy(b[0:], name)
		copy(b[100:], "0000644\x00")
		copy(b[108:], "0000000\x00")
		copy(b[116:], "0000000\x00")
		copy(b[124:], fmt.Sprintf("%011o\x00", size))
		copy(b[136:], "00000000000\x00")
		b[156] = typ
		copy(b[257:], "ustar\x0000")
		copy(b[148:156], "        ")
		sum := 0
		for _, c := range b {
			sum += int(c)
		}
		copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
		return b
	}
	pad := func(b []byte) []byte { return append(b, make([]byte, (512-len(b)%512)%512)...) }
	rec := func(k, v string) string {
		n := len(k) + len(v) + 3
		for {
			s := fmt.Sprintf("%d %s=%s\n", n, k, v)
			if len(s) == n {
				return s
			}
			n = len(s)
		}
	}
	pax := rec("GNU.sparse.major", "1") + rec("GNU.sparse.minor", "0") + rec("GNU.sparse.name", "weights.bin") + rec("GNU.sparse.realsize", fmt.Sprint(realSize))
	data := append(pad([]byte(fmt.Sprintf("1\n%d\n512\n", realSize-512))), make([]byte, 512)...)
	out := append(header("PaxHeaders/weights.bin", int64(len(pax)), tar.TypeXHeader), pad([]byte(pax))...)
	out = append(out, header("GNUSparseFile.0/weights.bin", int64(len(data)), tar.TypeReg)...)
	out = append(out, data...)
	return append(out, make([]byte, 1024)...)
}
