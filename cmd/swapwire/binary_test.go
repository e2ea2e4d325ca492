package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/swapwire/swapwire/client"
)

// buildBinary builds swapwire as make build does, into a temporary
// directory: the Go toolchain records the commit from a git checkout, and
// the -ldflags of make build set it where the toolchain cannot (a git
// worktree, GOFLAGS=-buildvcs=false).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "swapwire")
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD (the test needs git and a checkout): %v", err)
	}
	cmd := exec.Command("go", "build", "-ldflags", "-X main.commit="+strings.TrimSpace(string(head)), "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binRun is one run of the built binary.
type binRun struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// runBin runs the binary with args and env added to the environment, with
// stdout and stderr in files (not a terminal), bounded by a minute.
func runBin(t *testing.T, bin string, env []string, args ...string) binRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "stdout"))
	errF, _ := os.Create(filepath.Join(dir, "stderr"))
	defer outF.Close()
	defer errF.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = outF, errF
	start := time.Now()
	err := cmd.Run()
	r := binRun{took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("swapwire %s: %v", strings.Join(args, " "), err)
	}
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	r.stdout, r.stderr = string(o), string(e)
	return r
}

// mustBin runs the binary and fails the test unless it exits 0.
func mustBin(t *testing.T, bin string, env []string, args ...string) binRun {
	t.Helper()
	r := runBin(t, bin, env, args...)
	if r.code != 0 {
		t.Fatalf("swapwire %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// startBinServe starts `swapwire serve` from the built binary on
// 127.0.0.1:0 and returns its address. Cleanup stops it with SIGTERM.
func startBinServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	log := newServeLog()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--drain-delay", "0s"}, args...)...)
	cmd.Stderr = log
	cmd.Env = append(os.Environ(), "SWAPWIRE_ADMIN_TOKEN=") // identities come from the tokens file only
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("serve did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", log)
		}
	})
	select {
	case addr := <-log.addr:
		return addr
	case err := <-done:
		t.Fatalf("serve exited before serving: %v\n%s", err, log)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not log its address within 30s\n%s", log)
	}
	return ""
}

func decodeJSON[T any](t *testing.T, what, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, s)
	}
	return v
}

// TestBinaryCLI drives the built swapwire binary against a real server
// (the binary's own serve, with Python workers) and checks what the issue
// asks of the command line.
func TestBinaryCLI(t *testing.T) {
	needPython(t)
	bin := buildBinary(t)
	script, err := filepath.Abs("../../serving/testdata/pymodel.py")
	if err != nil {
		t.Fatal(err)
	}

	// version prints the commit the binary was built from.
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD (the test needs git and a checkout): %v", err)
	}
	commit := strings.TrimSpace(string(head))
	if r := mustBin(t, bin, nil, "version"); !strings.Contains(r.stdout, "commit   "+commit) || !strings.Contains(r.stdout, "go       go1.") {
		t.Fatalf("version printed %q, want commit %s", r.stdout, commit)
	}
	bi := decodeJSON[buildInfo](t, "version -o json", mustBin(t, bin, nil, "version", "-o", "json").stdout)
	if bi.Commit != commit || !strings.HasPrefix(bi.Go, "go1.") || bi.Version == "" {
		t.Fatalf("version -o json: %+v, want commit %s", bi, commit)
	}

	// publish writes a version into a store offline; a server started on
	// the store then serves it. Flags come after the path.
	store := filepath.Join(t.TempDir(), "store")
	r := mustBin(t, bin, nil, "publish", answerDir(t, "one"), "--model-store", store, "--model", "m")
	if want := "published m version 1 to " + store; strings.TrimSpace(r.stdout) != want {
		t.Fatalf("publish printed %q, want %q", r.stdout, want)
	}
	pub := decodeJSON[publishOutput](t, "publish -o json", mustBin(t, bin, nil, "publish", answerDir(t, "two"), "--model-store", store, "--model", "m", "--version", "5", "-o", "json").stdout)
	if pub.Model != "m" || pub.Version != 5 {
		t.Fatalf("publish -o json: %+v", pub)
	}
	if r := runBin(t, bin, nil, "publish", answerDir(t, "x"), "--model-store", store, "--model", "m", "--version", "5"); r.code != 1 || !strings.Contains(r.stderr, "exist") {
		t.Fatalf("publishing version 5 twice: exit %d, stderr %q", r.code, r.stderr)
	}
	ids := writeSecret(t, "tester admin token:cli-binary-token\n")
	addr := startBinServe(t, bin, "--model-store", store, "--admin-tokens-file", ids, "--allow-plaintext-tokens", "--workers", "1",
		"--worker", fmt.Sprintf("%s '%s'", pythonBin, script))
	conn := []string{"--addr", addr}
	env := []string{"SWAPWIRE_ADMIN_TOKEN=cli-binary-token"}
	cl, err := client.Dial(addr, client.WithToken("cli-binary-token"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cl.WaitModel(ctx, "m", func(m client.ModelStatus) (bool, error) { return m.ServingVersion == 5, nil }); err != nil {
		t.Fatalf("the published version 5 did not serve: %v", err)
	}

	// Every read command prints JSON with the expected fields.
	h := decodeJSON[healthOutput](t, "health -o json", mustBin(t, bin, nil, append(conn, "health", "--service", "m", "-o", "json")...).stdout)
	if h.Status != "SERVING" || h.Service != "m" {
		t.Fatalf("health -o json: %+v", h)
	}
	po := decodeJSON[predictOutput](t, "predict -o json", mustBin(t, bin, nil, append(conn, "predict", "--model", "m", "--text", "x", "-o", "json")...).stdout)
	if po.Model != "m" || po.Version != 5 || po.Output.Text == nil || *po.Output.Text != "two" || len(po.Scores) != 1 {
		t.Fatalf("predict -o json: %+v", po)
	}
	ms := decodeJSON[[]client.ModelStatus](t, "models -o json", mustBin(t, bin, env, append(conn, "models", "-o", "json")...).stdout)
	if len(ms) != 1 || ms[0].Name != "m" || !ms[0].Default || ms[0].ServingVersion != 5 {
		t.Fatalf("models -o json: %+v", ms)
	}
	states := map[int64]client.VersionStatus{}
	for _, v := range ms[0].Versions {
		states[v.Version] = v
	}
	if states[5].State != "serving" || states[5].LoadedAt.IsZero() || states[1].State != "available" {
		t.Fatalf("models -o json versions: %+v", ms[0].Versions)
	}
	raw := decodeJSON[[]map[string]any](t, "models -o json", mustBin(t, bin, env, append(conn, "models", "-o", "json")...).stdout)
	if v := raw[0]["versions"].([]any); len(v) == 0 || v[len(v)-1].(map[string]any)["load_seconds"] == nil {
		t.Fatalf("models -o json lacks load_seconds: %v", raw)
	}
	var ym []client.ModelStatus
	if err := yaml.Unmarshal([]byte(mustBin(t, bin, env, append(conn, "models", "m", "-o", "yaml")...).stdout), &ym); err != nil || len(ym) != 1 || ym[0].ServingVersion != 5 {
		t.Fatalf("models -o yaml: %+v, %v", ym, err)
	}
	data := filepath.Join(t.TempDir(), "eval.jsonl")
	os.WriteFile(data, []byte("{\"text\": \"a\", \"label\": \"two\"}\n{\"text\": \"b\", \"label\": \"one\"}\n"), 0o644)
	ev := decodeJSON[client.Evaluation](t, "evaluate -o json", mustBin(t, bin, env, append(conn, "evaluate", data, "--model", "m", "-o", "json")...).stdout)
	if ev.Examples != 2 || ev.Accuracy != 0.5 || len(ev.Labels) != 2 || len(ev.Confusion.Counts) != 2 {
		t.Fatalf("evaluate -o json: %+v", ev)
	}

	// upload DIR --model M: flags after the path. With stderr a file, no
	// progress bar is drawn.
	r = mustBin(t, bin, env, append([]string{"upload", answerDir(t, "three")}, append(conn, "--model", "m")...)...)
	if !strings.Contains(r.stdout, "uploaded m version 6: 1 files") {
		t.Fatalf("upload printed %q", r.stdout)
	}
	if r.stderr != "" {
		t.Fatalf("upload wrote %q to stderr, a file; want no progress bar", r.stderr)
	}
	// On a terminal (script(1) gives the command a pseudo-terminal), the
	// bar is drawn.
	tty := runBin(t, "/usr/bin/script", env, "-q", "-e", "-c", strings.Join(append([]string{bin, "upload", answerDir(t, "four"), "--model", "m", "-o", "json"}, conn...), " "), "/dev/null")
	if tty.code != 0 || !strings.Contains(tty.stdout, "\rupload [##############################] 100%") || !strings.Contains(tty.stdout, `"version": 7`) {
		t.Fatalf("upload on a terminal: exit %d, output %q", tty.code, tty.stdout)
	}
	if r := runBin(t, bin, env, append([]string{"upload", answerDir(t, "x"), "extra"}, append(conn, "--model", "m")...)...); r.code != 2 || !strings.Contains(r.stderr, "one PATH") {
		t.Fatalf("upload with an extra argument: exit %d, stderr %q", r.code, r.stderr)
	}

	// switch waits and prints the new serving version.
	r = mustBin(t, bin, env, append(conn, "switch", "--model", "m", "--version", "1")...)
	if !strings.HasPrefix(r.stdout, "m: serving version 1 (pinned to 1)\n") || !regexpLine(r.stdout, "1", "serving") {
		t.Fatalf("switch printed:\n%s", r.stdout)
	}
	sw := decodeJSON[client.ModelStatus](t, "switch -o json", mustBin(t, bin, env, append(conn, "switch", "--model", "m", "--version", "6", "-o", "json")...).stdout)
	if sw.ServingVersion != 6 || sw.PinnedVersion != 6 {
		t.Fatalf("switch -o json: %+v", sw)
	}
	r = mustBin(t, bin, env, append(conn, "label", "--model", "m", "--label", "canary", "--version", "5")...)
	if !strings.HasPrefix(r.stdout, "m: label canary points at version 5\n") || !regexpLine(r.stdout, "5", "standby", "canary") {
		t.Fatalf("label printed:\n%s", r.stdout)
	}
	r = mustBin(t, bin, env, append(conn, "split", "--model", "m", "5=50,6=50")...)
	if !regexpLine(r.stdout, "5", "canary", "50") || !regexpLine(r.stdout, "6", "serving", "50") {
		t.Fatalf("split printed:\n%s", r.stdout)
	}
	r = mustBin(t, bin, env, append(conn, "split", "--model", "m", "--clear")...)
	if !strings.Contains(r.stdout, "traffic split cleared") || regexpLine(r.stdout, "6", "serving", "50") {
		t.Fatalf("split --clear printed:\n%s", r.stdout)
	}
	r = mustBin(t, bin, env, append(conn, "rollback", "--model", "m")...)
	if !strings.HasPrefix(r.stdout, "m: pinned to version 1 (was serving 6)\n") || !regexpLine(r.stdout, "1", "serving") {
		t.Fatalf("rollback printed:\n%s", r.stdout)
	}

	// A version directory copied into the store by hand is refused, and
	// the error says what to do; models cuts it, -o wide prints it whole.
	if err := os.MkdirAll(filepath.Join(store, "m", "8"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(store, "m", "8", "answer.txt"), []byte("copied"), 0o644)
	r = runBin(t, bin, env, append(conn, "switch", "--model", "m", "--version", "8")...)
	if r.code != 1 || !strings.Contains(r.stderr, "`swapwire upload`") || !strings.Contains(r.stderr, "`swapwire publish --model-store`") {
		t.Fatalf("switch to a copied version: exit %d, stderr %q", r.code, r.stderr)
	}
	r = mustBin(t, bin, env, append(conn, "models", "m")...)
	if !regexpLine(r.stdout, "8", "failed") || !strings.Contains(r.stdout, "(errors cut; -o wide prints them in full)") {
		t.Fatalf("models:\n%s", r.stdout)
	}
	r = mustBin(t, bin, env, append(conn, "models", "m", "-o", "wide")...)
	if !regexpLine(r.stdout, "8", "failed") || !strings.Contains(r.stdout, "a directory copied into the store is never served)") {
		t.Fatalf("models -o wide:\n%s", r.stdout)
	}

	// A version that fails to load ends health --wait at once, with why.
	up := mustBin(t, bin, env, append(conn, "upload", answerDir(t, "raise"), "--model", "bad")...)
	if !strings.Contains(up.stdout, "uploaded bad version 1") {
		t.Fatalf("upload printed %q", up.stdout)
	}
	type result struct {
		r   binRun
		end time.Time
	}
	hc := make(chan result, 1)
	go func() {
		r := runBin(t, bin, env, append(conn, "health", "--service", "bad", "--wait", "60s")...)
		hc <- result{r, time.Now()}
	}()
	m, err := cl.WaitModel(ctx, "bad", func(m client.ModelStatus) (bool, error) {
		v, ok := m.Version(1)
		return ok && v.State == "failed", nil
	})
	failedAt := time.Now()
	if err != nil {
		t.Fatalf("version 1 of bad did not fail: %v (%+v)", err, m)
	}
	var hr result
	select {
	case hr = <-hc:
	case <-time.After(30 * time.Second):
		t.Fatal("health --wait 60s did not return within 30s of the version failing")
	}
	if late := hr.end.Sub(failedAt); late > 2*time.Second {
		t.Fatalf("health --wait returned %v after the version failed; want within 2s", late)
	}
	if hr.r.code != 1 || !strings.Contains(hr.r.stderr, "model bad version 1 failed to load") || !strings.Contains(hr.r.stderr, "weights are corrupt") {
		t.Fatalf("health --wait: exit %d after %v, stderr %q", hr.r.code, hr.r.took, hr.r.stderr)
	}

	if r := runBin(t, bin, env, append(conn, "health", "--service", "bad")...); r.code != 1 || strings.TrimSpace(r.stdout) != "NOT_SERVING" || !strings.Contains(r.stderr, "weights are corrupt") {
		t.Fatalf("health of a failed model: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// Typos get a suggestion; completion scripts exist for the shells.
	if r := runBin(t, bin, nil, "modles"); r.code != 2 || !strings.Contains(r.stderr, "did you mean models?") {
		t.Fatalf("swapwire modles: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := mustBin(t, bin, nil, "completion", sh); !strings.Contains(r.stdout, "swapwire") || len(r.stdout) < 1000 {
			t.Fatalf("completion %s printed %d bytes", sh, len(r.stdout))
		}
	}
	if r := mustBin(t, bin, env, append([]string{"__complete", "switch"}, append(conn, "--model", "")...)...); !strings.HasPrefix(r.stdout, "bad\nm\n") {
		t.Fatalf("completion of --model: %q", r.stdout)
	}
	if r := mustBin(t, bin, nil, "__complete", "models", "-o", ""); !bytes.Contains([]byte(r.stdout), []byte("wide\n")) {
		t.Fatalf("completion of -o: %q", r.stdout)
	}
}
