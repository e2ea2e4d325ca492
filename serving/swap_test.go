package serving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// answerModel answers every request with the text of answer.txt in its
// version directory. answer.txt may ask it to misbehave: "fail-load" makes
// Load fail and "panic-load" makes Load panic. Predict on a closed instance
// fails, so a request that reached a closed version shows up as a failure.
type answerModel struct {
	answer string
	work   time.Duration
	closed atomic.Bool
	stats  *modelStats
}

type modelStats struct {
	mu     sync.Mutex
	loads  map[string]int // by version directory base name
	closes atomic.Int64
}

func (s *modelStats) loadsOf(version string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[version]
}

func (a *answerModel) Load(_ context.Context, dir string) error {
	a.stats.mu.Lock()
	a.stats.loads[filepath.Base(dir)]++
	a.stats.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(dir, "answer.txt"))
	if err != nil {
		return err
	}
	a.answer = strings.TrimSpace(string(b))
	switch a.answer {
	case "fail-load":
		return errors.New("the model file is unreadable")
	case "panic-load":
		panic("loader exploded")
	}
	return nil
}

func (a *answerModel) Predict(ctx context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	if a.closed.Load() {
		return predict.Result{}, errors.New("predict on a closed version")
	}
	if a.work > 0 {
		time.Sleep(a.work) // stands in for model work, so requests overlap swaps
	}
	if a.closed.Load() {
		return predict.Result{}, errors.New("version closed while a request was in flight")
	}
	return predict.Result{Label: predict.Text(a.answer)}, nil
}

func (a *answerModel) Close() error {
	a.closed.Store(true)
	a.stats.closes.Add(1)
	return nil
}

func newStats() *modelStats { return &modelStats{loads: map[string]int{}} }

func answerFactory(stats *modelStats, work time.Duration) Factory {
	return func() predict.Predictor { return &answerModel{stats: stats, work: work} }
}

// publish commits a version whose answer.txt holds answer.
func publish(t testing.TB, st modelstore.Store, model string, version int64, answer string) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Abort()
	if err := os.WriteFile(filepath.Join(tx.Dir(), "answer.txt"), []byte(answer), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := tx.Commit(ctx, version)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testServer is a server on 127.0.0.1 with clients.
type testServer struct {
	*Server
	conn    *grpc.ClientConn
	predict swapwirev1.PredictionServiceClient
	admin   swapwirev1.ModelServiceClient
}

func startServer(t testing.TB, f Factory, st modelstore.Store, opts ...ServerOption) *testServer {
	t.Helper()
	opts = append([]ServerOption{
		WithIdentities(Identity{Name: "swaptest", Role: RoleAdmin, Token: testToken}),
		WithPlaintextTokens(true),
	}, opts...)
	srv, err := New(f, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	adminConn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(testToken)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adminConn.Close() })
	return &testServer{Server: srv, conn: conn, predict: swapwirev1.NewPredictionServiceClient(conn), admin: swapwirev1.NewModelServiceClient(adminConn)}
}

// bearer sends "authorization: Bearer <token>" over any connection.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// testToken is the bearer token of the admin identity startServer
// configures.
const testToken = "swap-test-token-0123456789"

func newLocal(t testing.TB, root string, opts ...modelstore.LocalOption) *modelstore.Local {
	t.Helper()
	st, err := modelstore.NewLocal(root, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (ts *testServer) waitServing(t testing.TB, model string, v int64) {
	t.Helper()
	if err := ts.WaitServing(waitCtx(t), model, v); err != nil {
		t.Fatalf("model %s never served version %d: %v", model, v, err)
	}
}

var textIn = &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "q"}}

// TestSwapUnderLoad drives concurrent clients through 60 swaps between two
// versions that answer differently and checks that no request failed and
// that every answer came from the version it names.
func TestSwapUnderLoad(t *testing.T) {
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	publish(t, st, "m", 2, "v2")
	stats := newStats()
	ts := startServer(t, answerFactory(stats, 200*time.Microsecond), st)
	ts.waitServing(t, "m", 2)

	const clients = 8
	var (
		stop               atomic.Bool
		ok, fail, mislabel atomic.Int64
		seen               [3]atomic.Int64
		wg                 sync.WaitGroup
		firstErr           atomic.Value
	)
	deadline := time.Now().Add(60 * time.Second)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200_000 && !stop.Load() && time.Now().Before(deadline); i++ {
				resp, err := ts.predict.Predict(context.Background(), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
				if err != nil {
					fail.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if resp.GetOutput().GetText() != fmt.Sprintf("v%d", resp.GetVersion()) {
					mislabel.Add(1)
				}
				if v := resp.GetVersion(); v == 1 || v == 2 {
					seen[v].Add(1)
				}
				ok.Add(1)
			}
		}()
	}
	const swaps = 60
	for i := range swaps {
		want := int64(1 + i%2)
		if _, err := ts.admin.SwitchModel(waitCtx(t), &swapwirev1.SwitchModelRequest{Model: "m", Version: want}); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		ts.waitServing(t, "m", want)
		// Let traffic reach the new version before the next flip.
		before := ok.Load()
		for ok.Load() < before+20 && time.Now().Before(deadline) {
			runtimeYield()
		}
	}
	stop.Store(true)
	wg.Wait()
	if fail.Load() != 0 || mislabel.Load() != 0 {
		t.Fatalf("%d requests failed (first: %v), %d answers named the wrong version, of %d", fail.Load(), firstErr.Load(), mislabel.Load(), ok.Load()+fail.Load())
	}
	if seen[1].Load() == 0 || seen[2].Load() == 0 {
		t.Fatalf("answers by version: v1 %d, v2 %d; want both", seen[1].Load(), seen[2].Load())
	}
	// Every swap loaded a fresh instance and closed the old one after it drained.
	if got := stats.loadsOf("1") + stats.loadsOf("2"); got < swaps {
		t.Errorf("%d loads for %d swaps", got, swaps)
	}
	t.Logf("%d requests over %d swaps, none failed (v1 %d, v2 %d)", ok.Load(), swaps, seen[1].Load(), seen[2].Load())
}

func runtimeYield() { time.Sleep(100 * time.Microsecond) }

// TestVersionWrittenInPlaceIsNeverLoaded copies a version into the store
// file by file, without the hidden directory and rename; it must never load.
func TestVersionWrittenInPlaceIsNeverLoaded(t *testing.T) {
	root := t.TempDir()
	st := newLocal(t, root)
	publish(t, st, "m", 1, "v1")
	stats := newStats()
	ts := startServer(t, answerFactory(stats, 0), st)
	ts.waitServing(t, "m", 1)

	dir := filepath.Join(root, "m", "2")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "answer.txt"), []byte("half-written"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A complete version published the right way afterwards is served.
	publish(t, st, "m", 3, "v3")
	ts.waitServing(t, "m", 3)
	if n := stats.loadsOf("2"); n != 0 {
		t.Fatalf("the half-written version was loaded %d times", n)
	}
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Version: 2, Input: textIn})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("request pinned to the half-written version: %v %v", resp, err)
	}
}

func TestCorruptVersionKeepsOldServing(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		corrupt bool   // flip a byte after publishing
		errText string // in ListModels
	}{
		{"bad sha256", "v2", true, "manifest"},
		{"load error", "fail-load", false, "the model file is unreadable"},
		{"load panic", "panic-load", false, "loader exploded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			st := newLocal(t, root)
			publish(t, st, "m", 1, "v1")
			stats := newStats()
			ts := startServer(t, answerFactory(stats, 0), st)
			ts.waitServing(t, "m", 1)

			if tt.corrupt {
				// Write the bad version under a hidden name, corrupt it, then
				// rename it into place as a publisher would.
				tx, err := st.Begin(context.Background(), "m")
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(tx.Dir(), "answer.txt"), []byte("v2"), 0o644)
				if _, err := tx.Commit(context.Background(), 2); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "m", "2", "answer.txt"), []byte("v9"), 0o644); err != nil {
					t.Fatal(err)
				}
				// Touch the store so the watcher looks again.
				publishPolicyNoop(t, st)
			} else {
				publish(t, st, "m", 2, tt.answer)
			}
			lerr := ts.waitFailed(waitCtx(t), "m", 2)
			if lerr == nil || errors.Is(lerr, context.DeadlineExceeded) {
				t.Fatalf("version 2 never failed: %v", lerr)
			}
			resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
			if err != nil || resp.GetVersion() != 1 || resp.GetOutput().GetText() != "v1" {
				t.Fatalf("after the bad version: %v %v, want v1 serving", resp, err)
			}
			list, err := ts.admin.ListModels(waitCtx(t), &swapwirev1.ListModelsRequest{Model: "m"})
			if err != nil {
				t.Fatal(err)
			}
			var v2 *swapwirev1.VersionStatus
			for _, v := range list.GetModels()[0].GetVersions() {
				if v.GetVersion() == 2 {
					v2 = v
				}
			}
			if v2 == nil || v2.GetState() != swapwirev1.VersionState_VERSION_STATE_FAILED || !strings.Contains(v2.GetError(), tt.errText) {
				t.Fatalf("ListModels shows version 2 as %v, want FAILED with %q", v2, tt.errText)
			}
			if list.GetModels()[0].GetServingVersion() != 1 {
				t.Fatalf("serving %d", list.GetModels()[0].GetServingVersion())
			}
		})
	}
}

// publishPolicyNoop rewrites a model's policy unchanged, which the store
// reports as a change.
func publishPolicyNoop(t *testing.T, st modelstore.Store) {
	p, err := st.Policy(context.Background(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPolicy(context.Background(), "m", p); err != nil {
		t.Fatal(err)
	}
}

func TestTwoServersConverge(t *testing.T) {
	root := t.TempDir()
	publish(t, newLocal(t, root), "m", 1, "v1")
	publish(t, newLocal(t, root), "m", 2, "v2")
	a := startServer(t, answerFactory(newStats(), 0), newLocal(t, root, modelstore.WithPollInterval(200*time.Millisecond)))
	b := startServer(t, answerFactory(newStats(), 0), newLocal(t, root, modelstore.WithPollInterval(200*time.Millisecond)))
	a.waitServing(t, "m", 2)
	b.waitServing(t, "m", 2)

	if _, err := a.admin.SwitchModel(waitCtx(t), &swapwirev1.SwitchModelRequest{Model: "m", Version: 1}); err != nil {
		t.Fatal(err)
	}
	a.waitServing(t, "m", 1)
	b.waitServing(t, "m", 1)

	if _, err := b.admin.SetLabel(waitCtx(t), &swapwirev1.SetLabelRequest{Model: "m", Label: "canary", Version: 2}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*testServer{a, b} {
		var resp *swapwirev1.PredictResponse
		var err error
		// Server a learns of the label through the store.
		for ctx := waitCtx(t); ; {
			resp, err = s.predict.Predict(ctx, &swapwirev1.PredictRequest{Model: "m", Label: "canary", Input: textIn})
			if err == nil || ctx.Err() != nil {
				break
			}
			<-s.eng.Changes()
		}
		if err != nil || resp.GetVersion() != 2 || resp.GetOutput().GetText() != "v2" {
			t.Fatalf("canary request: %v %v", resp, err)
		}
	}
	// Unlabelled traffic stays on the pinned version.
	resp, err := a.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
	if err != nil || resp.GetVersion() != 1 {
		t.Fatalf("default request: %v %v", resp, err)
	}
}

func TestPollOnlyPicksUpNewVersion(t *testing.T) {
	root := t.TempDir()
	publish(t, newLocal(t, root), "m", 1, "v1")
	st := newLocal(t, root, modelstore.WithFSNotify(false), modelstore.WithPollInterval(50*time.Millisecond))
	ts := startServer(t, answerFactory(newStats(), 0), st)
	ts.waitServing(t, "m", 1)
	// Another process publishes version 2; only polling can see it.
	publish(t, newLocal(t, root, modelstore.WithFSNotify(false)), "m", 2, "v2")
	ts.waitServing(t, "m", 2)
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
	if err != nil || resp.GetOutput().GetText() != "v2" {
		t.Fatalf("%v %v", resp, err)
	}
}

func TestKeepPreviousMakesRollbackInstant(t *testing.T) {
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	stats := newStats()
	ts := startServer(t, answerFactory(stats, 0), st, WithKeepPrevious(true))
	ts.waitServing(t, "m", 1)
	publish(t, st, "m", 2, "v2")
	ts.waitServing(t, "m", 2)
	// Version 1 stays loaded: a request pinned to it works.
	resp, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Version: 1, Input: textIn})
	if err != nil || resp.GetOutput().GetText() != "v1" {
		t.Fatalf("pinned to the standby version: %v %v", resp, err)
	}
	rb, err := ts.admin.Rollback(waitCtx(t), &swapwirev1.RollbackRequest{Model: "m"})
	if err != nil || rb.GetFromVersion() != 2 || rb.GetToVersion() != 1 {
		t.Fatalf("rollback: %v %v", rb, err)
	}
	ts.waitServing(t, "m", 1)
	if n := stats.loadsOf("1"); n != 1 {
		t.Fatalf("version 1 loaded %d times; rollback to a standby version must not reload", n)
	}
}

func TestAdminRejectsPathLikeNames(t *testing.T) {
	st := newLocal(t, t.TempDir())
	publish(t, st, "m", 1, "v1")
	ts := startServer(t, answerFactory(newStats(), 0), st)
	ts.waitServing(t, "m", 1)
	for _, name := range []string{"../x", "a/b", "", "..", ".hidden", "/etc"} {
		ctx := waitCtx(t)
		_, err := ts.admin.SwitchModel(ctx, &swapwirev1.SwitchModelRequest{Model: name, Version: 1})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("SwitchModel(%q): %v, want InvalidArgument", name, err)
		}
		_, err = ts.admin.SetLabel(ctx, &swapwirev1.SetLabelRequest{Model: name, Label: "x", Version: 1})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("SetLabel(%q): %v, want InvalidArgument", name, err)
		}
		_, err = ts.admin.DeleteVersion(ctx, &swapwirev1.DeleteVersionRequest{Model: name, Version: 1})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("DeleteVersion(%q): %v, want InvalidArgument", name, err)
		}
		up, err := ts.admin.UploadModel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{Model: name, Sha256: strings.Repeat("0", 64)}}})
		if _, err := up.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
			t.Errorf("UploadModel(%q): %v, want InvalidArgument", name, err)
		}
	}
	_, err := ts.admin.SetLabel(waitCtx(t), &swapwirev1.SetLabelRequest{Model: "m", Label: "../up", Version: 1})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("label ../up: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(st.Root()))
	for _, e := range entries {
		if e.Name() == "x" {
			t.Fatalf("something was written outside the store: %v", e)
		}
	}
}

func TestThousandSwapsLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 swaps")
	}
	st := newLocal(t, t.TempDir(), modelstore.WithPollInterval(0))
	publish(t, st, "m", 1, "v1")
	publish(t, st, "m", 2, "v2")
	stats := newStats()
	srv, err := New(answerFactory(stats, 0), st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	if err := srv.WaitServing(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		want := int64(1 + i%2)
		p := modelstore.Policy{Pinned: want}
		if err := st.SetPolicy(ctx, "m", p); err != nil {
			t.Fatal(err)
		}
		srv.eng.Refresh()
		if err := srv.WaitServing(ctx, "m", want); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		if i%100 == 0 {
			if _, err := srv.eng.Predict(ctx, engine.Request{Model: "m", Input: predict.Text("x")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	loads := int64(stats.loadsOf("1") + stats.loadsOf("2"))
	if got := stats.closes.Load(); got != loads {
		t.Fatalf("%d instances loaded, %d closed", loads, got)
	}
	goleak.VerifyNone(t)
}

// upload streams an archive in chunks; cut stops after that many bytes.
func uploadArchive(ctx context.Context, c swapwirev1.ModelServiceClient, model string, archive []byte, sum string, cut int) (*swapwirev1.UploadModelResponse, error) {
	up, err := c.UploadModel(ctx)
	if err != nil {
		return nil, err
	}
	if err := up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{Model: model, Sha256: sum}}}); err != nil {
		return nil, err
	}
	for off := 0; off < len(archive) && off < cut; off += 100 {
		end := min(off+100, len(archive), cut)
		if err := up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Chunk{Chunk: archive[off:end]}}); err != nil {
			break
		}
	}
	return up.CloseAndRecv()
}

func TestUpload(t *testing.T) {
	root := t.TempDir()
	st := newLocal(t, root)
	publish(t, st, "m", 1, "v1")
	ts := startServer(t, answerFactory(newStats(), 0), st)
	ts.waitServing(t, "m", 1)
	archive := tarOf(t, map[string]string{"answer.txt": "uploaded", "extra/readme.md": strings.Repeat("model card\n", 100)})
	h := sha256.Sum256(archive)
	sum := hex.EncodeToString(h[:])

	t.Run("cut off half way leaves no version", func(t *testing.T) {
		ctx, cancel := context.WithCancel(waitCtx(t))
		up, err := ts.admin.UploadModel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Header{Header: &swapwirev1.UploadHeader{Model: "m", Sha256: sum}}})
		up.Send(&swapwirev1.UploadModelRequest{Kind: &swapwirev1.UploadModelRequest_Chunk{Chunk: archive[:len(archive)/2]}})
		cancel() // the client goes away mid-upload
		if _, err := up.CloseAndRecv(); err == nil {
			t.Fatal("a cancelled upload succeeded")
		}
	})
	t.Run("truncated archive is refused", func(t *testing.T) {
		_, err := uploadArchive(waitCtx(t), ts.admin, "m", archive, sum, len(archive)/2)
		if err == nil {
			t.Fatal("a truncated upload succeeded")
		}
	})
	t.Run("sha256 mismatch is refused", func(t *testing.T) {
		_, err := uploadArchive(waitCtx(t), ts.admin, "m", archive, strings.Repeat("ab", 32), len(archive))
		if status.Code(err) != codes.DataLoss {
			t.Fatalf("%v, want DataLoss", err)
		}
	})
	t.Run("escaping entries are refused", func(t *testing.T) {
		bad := tarOf(t, map[string]string{"../../evil.txt": "x"})
		bh := sha256.Sum256(bad)
		_, err := uploadArchive(waitCtx(t), ts.admin, "m", bad, hex.EncodeToString(bh[:]), len(bad))
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("%v, want InvalidArgument", err)
		}
		if _, err := os.Stat(filepath.Join(root, "..", "evil.txt")); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("evil.txt was written outside the store")
		}
	})
	// None of the failed uploads left a version behind.
	if vs, err := st.Versions(context.Background(), "m"); err != nil || len(vs) != 1 {
		t.Fatalf("versions after failed uploads: %v %v", vs, err)
	}
	t.Run("complete upload is served", func(t *testing.T) {
		resp, err := uploadArchive(waitCtx(t), ts.admin, "m", archive, sum, len(archive))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetVersion() != 2 || resp.GetFiles() != 2 || resp.GetSha256() != sum || resp.GetSize() != int64(len(archive)) {
			t.Fatalf("upload response %v", resp)
		}
		ts.waitServing(t, "m", 2)
		got, err := ts.predict.Predict(waitCtx(t), &swapwirev1.PredictRequest{Model: "m", Input: textIn})
		if err != nil || got.GetOutput().GetText() != "uploaded" {
			t.Fatalf("%v %v", got, err)
		}
	})
}
