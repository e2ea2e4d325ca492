package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
)

// threshold is a model that answers "big" when the sum of its input
// exceeds the number in its model.txt, else "small".
type threshold struct{ limit int64 }

func (m *threshold) Load(_ context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "model.txt"))
	if err != nil {
		return err
	}
	m.limit, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return err
}

func (m *threshold) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	var sum int64
	for _, n := range in.Ints() {
		sum += n
	}
	if sum > m.limit {
		return predict.Result{Label: predict.Text("big")}, nil
	}
	return predict.Result{Label: predict.Text("small")}, nil
}

const (
	adminToken = "alice-token-0123456789abcdef"
	readToken  = "bob-token-0123456789abcdef"
)

// chromium finds Debian's chromium, failing the test without it unless
// SWAPWIRE_SKIP_BROWSER is set.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SWAPWIRE_SKIP_BROWSER") != "" {
		t.Skip("no chromium, and SWAPWIRE_SKIP_BROWSER is set")
	}
	t.Fatal("chromium is not installed (make deps installs Debian's chromium); set SWAPWIRE_SKIP_BROWSER=1 to skip the browser tests")
	return ""
}

// TestDashboardInChromium drives the dashboard of a real server in a real
// Chromium: sign in, upload a version through the page, see it serve,
// switch back, split 90/10, evaluate two versions and see the confusion
// matrix, and check that a read-only identity has no mutating control. It
// writes the screenshots of docs/dashboard.
func TestDashboardInChromium(t *testing.T) {
	chrome := chromium(t)
	root := t.TempDir()
	store, err := modelstore.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	v1 := t.TempDir()
	if err := os.WriteFile(filepath.Join(v1, "model.txt"), []byte("10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := modelstore.PublishDir(ctx, store, "digits", 1, v1); err != nil {
		t.Fatal(err)
	}
	srv, err := serving.New(func() predict.Predictor { return &threshold{} }, store,
		serving.WithIdentities(
			serving.Identity{Name: "alice", Role: serving.RoleAdmin, Token: adminToken},
			serving.Identity{Name: "bob", Role: serving.RoleRead, Token: readToken}),
		serving.WithPlaintextTokens(true),
		serving.WithKeepPrevious(true))
	if err != nil {
		t.Fatal(err)
	}
	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(glis) }()
	go func() { served <- srv.ServeWeb(hlis) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		for range 2 {
			if err := <-served; err != serving.ErrServerClosed {
				t.Errorf("serve returned %v", err)
			}
		}
	})
	if err := srv.WaitServing(ctx, "digits", 1); err != nil {
		t.Fatal(err)
	}
	base := "http://" + hlis.Addr().String() + "/"
	conn, err := grpc.NewClient(glis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// The files the page uploads.
	upload := filepath.Join(t.TempDir(), "model.txt")
	if err := os.WriteFile(upload, []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	evalFile := filepath.Join(t.TempDir(), "eval.jsonl")
	var lines []string
	for i := range 12 {
		// sums 0..11: under v1 (limit 10) only 11 is big; under v2 (limit 5) 6..11.
		label := "small"
		if i > 7 {
			label = "big"
		}
		lines = append(lines, fmt.Sprintf(`{"ints": [%d], "label": %q}`, i, label))
	}
	if err := os.WriteFile(evalFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	actx, acancel := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.WindowSize(1280, 900))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	// The screenshots go to docs/dashboard, so the README's pictures are
	// those of the last passing run (SWAPWIRE_SCREENSHOTS_DIR elsewhere).
	docs := filepath.Join("..", "..", "docs", "dashboard")
	if d := os.Getenv("SWAPWIRE_SCREENSHOTS_DIR"); d != "" {
		docs = d
	}
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 10_000 {
			t.Fatalf("screenshot %s: %d bytes, not a PNG of a page", name, len(b))
		}
		if err := os.WriteFile(filepath.Join(docs, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			msg, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#msg") ? document.querySelector("#msg").textContent : ""`))
			t.Fatalf("%s: %v (page says %q)", what, err, msg)
		}
	}
	wait := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))
	}
	row := func(v int) string { return fmt.Sprintf(`.model[data-model="digits"] tr[data-version="%d"]`, v) }
	stateIs := func(v int, state string) string {
		return fmt.Sprintf(`(document.querySelector('%s .state') || {}).textContent === %q`, row(v), state)
	}

	do("sign in",
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#signin")),
		wait(`document.querySelector("#who").textContent === "alice (admin)"`),
		wait(stateIs(1, "serving")))
	if stored, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.cookie + "|" + JSON.stringify(localStorage)`)); strings.Contains(stored, adminToken) {
		t.Errorf("the token is in a cookie or localStorage: %s", stored)
	}

	do("upload a version",
		chromedp.SendKeys(chromedp.CSS("#upload-model"), "digits"),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload}),
		chromedp.Click(chromedp.CSS("#upload-go")),
		wait(stateIs(2, "serving")),
		wait(`document.querySelector("#upload-progress").style.width === "100%"`),
		wait(`document.querySelector("#msg").textContent === "Published digits v2 — serving."`))
	// Some traffic for the live charts, bounded: 40 predictions.
	pc := swapwirev1.NewPredictionServiceClient(conn)
	for i := range 40 {
		if _, err := pc.Predict(ctx, &swapwirev1.PredictRequest{Model: "digits", Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{int64(i % 12)}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	do("see the live charts", wait(`[...document.querySelectorAll('#charts .chart[data-metric="rps"] .legend span')].some((s) => /v2 [1-9]/.test(s.textContent))`))
	shot("models.png")

	do("switch back to v1",
		chromedp.Click(chromedp.CSS(row(1)+` button[data-act="switch"]`)),
		wait(stateIs(1, "serving")),
		wait(`document.querySelector('.model[data-model="digits"] .policy').textContent === "pinned to v1"`))

	do("split 90/10",
		chromedp.SendKeys(chromedp.CSS(`.model[data-model="digits"] .split-input`), "2=90 1=10"),
		chromedp.Click(chromedp.CSS(`.model[data-model="digits"] button[data-act="split"]`)),
		wait(fmt.Sprintf(`document.querySelector('%s .weight').textContent === "90%%" && document.querySelector('%s .weight').textContent === "10%%"`, row(2), row(1))))
	shot("split.png")

	do("label v2 canary",
		chromedp.SendKeys(chromedp.CSS(`.model[data-model="digits"] .label-name`), "canary"),
		chromedp.SendKeys(chromedp.CSS(`.model[data-model="digits"] .label-version`), "2"),
		chromedp.Click(chromedp.CSS(`.model[data-model="digits"] button[data-act="label"]`)),
		wait(fmt.Sprintf(`document.querySelector('%s .badge') && document.querySelector('%s .badge').textContent === "canary"`, row(2), row(2))))

	// A third version, published while the model is pinned, stays in the
	// store; deleting it asks first.
	upload3 := filepath.Join(t.TempDir(), "model.txt")
	if err := os.WriteFile(upload3, []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	do("upload v3 while pinned",
		chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload3}),
		chromedp.Click(chromedp.CSS("#upload-go")),
		wait(`document.querySelector("#msg").textContent === "Published digits v3 — in the store, not loaded (the model is pinned to v1)."`),
		wait(stateIs(3, "available")))
	do("delete v3, cancelling first",
		chromedp.Click(chromedp.CSS(row(3)+` button[data-act="delete"]`)),
		wait(`document.querySelector("dialog.confirm") && document.querySelector("dialog.confirm").open`),
		chromedp.Click(chromedp.CSS(`dialog.confirm button.secondary`)),
		wait(`!document.querySelector("dialog.confirm")`),
		wait(stateIs(3, "available")),
		chromedp.Click(chromedp.CSS(row(3)+` button[data-act="delete"]`)),
		chromedp.Click(chromedp.CSS(`dialog.confirm button[data-act="confirm-delete"]`)),
		wait(fmt.Sprintf(`!document.querySelector('%s')`, row(3))),
		wait(`document.querySelector("#msg").textContent === "Deleting digits v3 — done."`))

	do("follow the latest version, then roll back",
		chromedp.Click(chromedp.CSS(`.model[data-model="digits"] button[data-act="follow"]`)),
		wait(`document.querySelector("#msg").textContent === "digits follows the latest version — done."`),
		wait(stateIs(2, "serving")),
		chromedp.Click(chromedp.CSS(`.model[data-model="digits"] button[data-act="rollback"]`)),
		wait(`document.querySelector("#msg").textContent === "Rolling digits back from v2 to v1 — done."`),
		wait(stateIs(1, "serving")))

	do("evaluate v1 against v2",
		chromedp.Click(chromedp.CSS(`a[href="#evaluate"]`)),
		wait(`[...document.querySelectorAll("#eval-b option")].some((o) => o.value === "2")`),
		chromedp.SetValue(chromedp.CSS("#eval-a"), "1"),
		chromedp.SetValue(chromedp.CSS("#eval-b"), "2"),
		chromedp.SetUploadFiles(chromedp.CSS("#eval-file"), []string{evalFile}),
		chromedp.Click(chromedp.CSS("#eval-go")),
		wait(`document.querySelectorAll(".eval-report table.confusion").length === 2`))
	// v1 (limit 10): 0..10 small, 11 big; the data says 8..11 big, so 9/12.
	// v2 (limit 5): 6..11 big, so 6 and 7 are wrong: 10/12.
	acc, err := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".eval-report")].map((r) => r.dataset.version + "=" + r.querySelector(".accuracy").textContent + ":" + [...r.querySelectorAll("table.confusion td")].map((td) => td.textContent).join(",")).join(" ")`))
	if err != nil {
		t.Fatal(err)
	}
	// Labels sort as big, small: rows are expected big (4), expected small (8).
	if want := "1=75.0%:1,3,0,8 2=83.3%:4,0,2,6"; acc != want {
		t.Errorf("evaluation reports %q, want %q", acc, want)
	}
	miss, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelector('.eval-report[data-version="2"] table.misclassified tbody').rows.length`))
	if miss != 2 {
		t.Errorf("v2 lists %d misclassified examples, want 2", miss)
	}
	do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shot("evaluation.png")

	do("phone layout",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`),
		wait(`document.documentElement.scrollWidth <= 390 + 1`))
	shot("phone.png")
	do("desktop layout", chromedp.EmulateViewport(1280, 900))

	do("sign in as a reader",
		chromedp.Click(chromedp.CSS("#signout")),
		wait(`!document.querySelector("#signin-form").hidden`),
		chromedp.SendKeys(chromedp.CSS("#token"), readToken),
		chromedp.Click(chromedp.CSS("#signin")),
		wait(`document.querySelector("#who").textContent === "bob (read)"`),
		wait(stateIs(1, "serving")))
	n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('.mut, #upload-box, input.split-input, input.label-name, button[data-act]').length`))
	if err != nil || n != 0 {
		t.Errorf("a read identity sees %d mutating controls (%v), want 0", n, err)
	}
	rows, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('.model[data-model="digits"] tbody tr').length`))
	if rows != 2 {
		t.Errorf("a read identity sees %d versions, want 2", rows)
	}
	shot("read-only.png")

	// What the page did, as the server sees it over gRPC.
	mc := swapwirev1.NewModelServiceClient(conn)
	resp, err := mc.ListModels(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminToken), &swapwirev1.ListModelsRequest{Model: "digits"})
	if err != nil {
		t.Fatal(err)
	}
	m := resp.GetModels()[0]
	weights := map[int64]int32{}
	for _, w := range m.GetWeights() {
		weights[w.GetVersion()] = w.GetWeight()
	}
	if len(m.GetVersions()) != 2 || m.GetPinnedVersion() != 1 || weights[1] != 10 || weights[2] != 90 || m.GetLabels()["canary"] != 2 {
		t.Errorf("after the page's actions the server lists %v; want versions 1 and 2, pinned 1, weights 1:10 2:90, canary on 2", m)
	}
}
