package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/modelstore/s3store"
	"github.com/swapwire/swapwire/modelstore/s3store/s3test"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// envRunMain makes the test binary run as swapwire (see TestMain).
const envRunMain = "SWAPWIRE_TEST_RUN_MAIN"

// Fleet test parameters: replicas, poll interval, upload rounds, load.
const (
	fleetReplicas = 3
	fleetPoll     = 500 * time.Millisecond
	fleetRounds   = 3
	fleetClients  = 2 // concurrent callers per replica
	// Each caller stops after this many requests or when the test ends.
	fleetMaxRequests = 20000
)

// replica is one `swapwire serve` process.
type replica struct {
	cmd  *exec.Cmd
	addr string
	conn *grpc.ClientConn
	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
}

// fleetToken is the admin token every replica accepts and the test's
// admin calls present.
const fleetToken = "fleet-test-token-0123456789abcdef"

func startReplica(t *testing.T, env []string, args ...string) *replica {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--poll", fleetPoll.String(), "--allow-plaintext-tokens"}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envRunMain+"=1", "SWAPWIRE_ADMIN_TOKEN="+fleetToken), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.log.WriteString(line + "\n")
			r.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				select {
				case addrc <- rec.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		if r.conn != nil {
			r.conn.Close()
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-r.done
		}
		if t.Failed() {
			r.mu.Lock()
			t.Logf("replica %s log:\n%s", r.addr, r.log.String())
			r.mu.Unlock()
		}
	})
	select {
	case r.addr = <-addrc:
	case <-r.done:
		t.Fatalf("replica exited before serving:\n%s", r.log.String())
	case <-time.After(30 * time.Second):
		t.Fatal("replica did not log its address within 30s")
	}
	r.conn, err = grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// predictOnce asks a replica for model m, by label when label is set.
func (r *replica) predictOnce(ctx context.Context, label string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := swapwirev1.NewPredictionServiceClient(r.conn).Predict(ctx, &swapwirev1.PredictRequest{
		Model: "m", Label: label, Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "x"}},
	})
	if err != nil {
		return 0, err
	}
	return resp.GetVersion(), nil
}

// until calls f every 50ms until it returns true, failing after limit.
func until(t *testing.T, limit time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond) // polling other processes' state: no signal to wait on
	}
}

// load is the traffic on every replica while versions change.
type load struct {
	mu       sync.Mutex
	sent     int
	failed   []string
	firstSaw []map[int64]time.Time // per replica: version → first answer
}

func startLoad(ctx context.Context, rs []*replica) (*load, func()) {
	l := &load{firstSaw: make([]map[int64]time.Time, len(rs))}
	for i := range rs {
		l.firstSaw[i] = map[int64]time.Time{}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, r := range rs {
		for range fleetClients {
			wg.Go(func() {
				for n := 0; n < fleetMaxRequests && ctx.Err() == nil; n++ {
					v, err := r.predictOnce(ctx, "")
					if ctx.Err() != nil {
						return
					}
					now := time.Now()
					l.mu.Lock()
					l.sent++
					if err != nil {
						l.failed = append(l.failed, fmt.Sprintf("replica %d: %v", i, err))
					} else if _, ok := l.firstSaw[i][v]; !ok {
						l.firstSaw[i][v] = now
					}
					l.mu.Unlock()
				}
			})
		}
	}
	return l, func() { cancel(); wg.Wait() }
}

func (l *load) saw(replica int, version int64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.firstSaw[replica][version]
	return at, ok
}

// fleetResult is what one fleet run measured.
type fleetResult struct {
	convergence []time.Duration // per replica and round: upload done → first answer from the new version
	sent        int
	failed      []string
}

func (f fleetResult) String() string {
	c := slices.Clone(f.convergence)
	slices.Sort(c)
	if len(c) == 0 {
		return "no rounds"
	}
	return fmt.Sprintf("%d replicas, %d uploads: convergence p50 %.2fs, max %.2fs; %d requests, %d failed",
		fleetReplicas, len(c)/fleetReplicas, c[len(c)/2].Seconds(), c[len(c)-1].Seconds(), f.sent, len(f.failed))
}

// runFleet starts three replicas on one store, puts load on all of them,
// uploads new versions through replica 0, and checks that every replica
// serves each within the poll interval plus load time, that no request
// fails, and that a label, a split and a pin set through one replica are
// obeyed by all.
func runFleet(t *testing.T, storeArgs, env []string, first modelstore.Store) fleetResult {
	needPython(t)
	script, err := filepath.Abs("../../serving/testdata/pymodel.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := modelstore.PublishDir(ctx, first, "m", 1, answerDir(t, "one")); err != nil {
		t.Fatal(err)
	}
	var rs []*replica
	for range fleetReplicas {
		// Each replica has its own cache (used by s3:// stores), as pods do.
		args := append(slices.Clone(storeArgs), "--model-cache", t.TempDir(), "--model", "m", "--workers", "1", "--worker", fmt.Sprintf("%s '%s'", pythonBin, script))
		rs = append(rs, startReplica(t, env, args...))
	}
	for i, r := range rs {
		until(t, 60*time.Second, fmt.Sprintf("replica %d serves version 1", i), func() bool {
			v, err := r.predictOnce(ctx, "")
			return err == nil && v == 1
		})
	}
	l, stop := startLoad(ctx, rs)
	var res fleetResult
	limit := fleetPoll*2 + 30*time.Second // poll (with jitter) plus a Python worker's start and load
	for round := range fleetRounds {
		v := int64(round + 2)
		t.Setenv("SWAPWIRE_ADMIN_TOKEN", fleetToken) // for the CLI
		out := run(t, "upload", "--addr="+rs[0].addr, "--model", "m", "--quiet", answerDir(t, fmt.Sprint("v", v)))
		uploaded := time.Now()
		if !strings.Contains(out, fmt.Sprintf("uploaded m version %d", v)) {
			t.Fatalf("upload printed %q", out)
		}
		for i := range rs {
			until(t, limit, fmt.Sprintf("replica %d serves version %d", i, v), func() bool {
				_, ok := l.saw(i, v)
				return ok
			})
			at, _ := l.saw(i, v)
			res.convergence = append(res.convergence, max(0, at.Sub(uploaded)))
		}
	}
	latest := int64(fleetRounds + 1)

	// A label set through replica 1 is obeyed by all.
	run(t, "label", "--addr="+rs[1].addr, "--model", "m", "--label", "canary", "--version", "1")
	for i, r := range rs {
		until(t, limit, fmt.Sprintf("replica %d routes label canary to version 1", i), func() bool {
			v, err := r.predictOnce(ctx, "canary")
			return err == nil && v == 1
		})
	}
	// A split set through replica 2 is obeyed by all: both versions answer.
	run(t, "split", "--addr="+rs[2].addr, "--model", "m", fmt.Sprintf("1=1,%d=1", latest))
	for i, r := range rs {
		until(t, limit, fmt.Sprintf("replica %d splits traffic between 1 and %d", i, latest), func() bool {
			seen := map[int64]bool{}
			for range 40 {
				if v, err := r.predictOnce(ctx, ""); err == nil {
					seen[v] = true
				}
			}
			return seen[1] && seen[latest] && len(seen) == 2
		})
	}
	run(t, "split", "--addr="+rs[2].addr, "--model", "m", "--clear")
	// A pin set through replica 0 is obeyed by all.
	run(t, "switch", "--addr="+rs[0].addr, "--model", "m", "--version", "2")
	for i, r := range rs {
		until(t, limit, fmt.Sprintf("replica %d serves pinned version 2", i), func() bool {
			seen := map[int64]bool{}
			for range 10 {
				if v, err := r.predictOnce(ctx, ""); err == nil {
					seen[v] = true
				}
			}
			return len(seen) == 1 && seen[2]
		})
	}
	stop()
	res.sent, res.failed = l.sent, l.failed
	if len(res.failed) > 0 {
		t.Errorf("%d of %d requests failed; first: %s", len(res.failed), res.sent, res.failed[0])
	}
	if res.sent < 100 {
		t.Errorf("only %d requests were sent under load", res.sent)
	}
	for _, c := range res.convergence {
		if c > limit {
			t.Errorf("a replica took %v to serve a new version, over %v", c, limit)
		}
	}
	t.Logf("fleet: %s", res)
	return res
}

func TestFleetSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	st, err := modelstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	// --no-fsnotify: replicas on a network file system see no events, so
	// polling is what makes them converge.
	runFleet(t, []string{"--model-store", "file://" + dir, "--no-fsnotify"}, nil, st)
}

func TestFleetS3(t *testing.T) {
	srv := s3test.Start(t)
	st, err := s3store.New(srv.Client(t), srv.Bucket, "fleet", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	args = append(args, "--model-store", "s3://"+srv.Bucket+"/fleet", "--s3-endpoint", srv.Endpoint, "--s3-path-style")
	runFleet(t, args, srv.Env(), st)
}

// raceLabels runs two replicas on one store, each taking 50 concurrent
// SetLabel calls, and checks that the store's policy holds all 100 labels.
func raceLabels(t *testing.T, storeArgs, env []string, st modelstore.Store) {
	needPython(t)
	script, err := filepath.Abs("../../serving/testdata/pymodel.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := modelstore.PublishDir(ctx, st, "m", 1, answerDir(t, "one")); err != nil {
		t.Fatal(err)
	}
	const replicas, perReplica = 2, 50
	var rs []*replica
	for range replicas {
		args := append(slices.Clone(storeArgs), "--model-cache", t.TempDir(), "--model", "m", "--workers", "1", "--worker", fmt.Sprintf("%s '%s'", pythonBin, script))
		rs = append(rs, startReplica(t, env, args...))
	}
	var wg sync.WaitGroup
	errs := make(chan error, replicas*perReplica)
	for i, r := range rs {
		for j := range perReplica {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				_, err := swapwirev1.NewModelServiceClient(r.conn).SetLabel(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+fleetToken), &swapwirev1.SetLabelRequest{
					Model: "m", Label: fmt.Sprintf("r%d-%d", i, j), Version: 1,
				})
				if err != nil {
					errs <- fmt.Errorf("replica %d label %d: %w", i, j, err)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p, err := st.Policy(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i := range replicas {
		for j := range perReplica {
			if p.Labels[fmt.Sprintf("r%d-%d", i, j)] != 1 {
				lost++
			}
		}
	}
	if lost != 0 || p.Generation < replicas*perReplica {
		t.Fatalf("after %d×%d concurrent SetLabel calls: %d labels, %d lost, generation %d", replicas, perReplica, len(p.Labels), lost, p.Generation)
	}
	t.Logf("%d×%d concurrent SetLabel calls through two servers: %d labels, none lost, generation %d", replicas, perReplica, len(p.Labels), p.Generation)
}

// Two servers sharing a directory, each taking 50 concurrent label
// updates, lose none.
func TestFleetConcurrentLabelsSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	st, err := modelstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	raceLabels(t, []string{"--model-store", dir}, nil, st)
}

// The same on an S3 store, on MinIO: versitygw's conditional writes are
// not atomic under concurrency (see s3test).
func TestFleetConcurrentLabelsS3(t *testing.T) {
	srv := s3test.StartAtomic(t)
	st, err := s3store.New(srv.Client(t), srv.Bucket, "fleet", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raceLabels(t, []string{"--model-store", "s3://" + srv.Bucket + "/fleet", "--s3-endpoint", srv.Endpoint, "--s3-path-style"}, srv.Env(), st)
}
