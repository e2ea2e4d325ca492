package serving

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestReserveProc re-runs this test binary pinned to one CPU with taskset
// and checks what ReserveProc does there.
func TestReserveProc(t *testing.T) {
	if os.Getenv("SWAPWIRE_RESERVEPROC_CHILD") != "" {
		reserved := ReserveProc(nil)
		os.Stdout.WriteString("RESULT " + strconv.FormatBool(reserved) + " " + strconv.Itoa(runtime.GOMAXPROCS(0)) + "\n")
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("taskset pins CPUs on Linux only")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		if os.Getenv("SWAPWIRE_SKIP_TASKSET") != "" {
			t.Skip("taskset not installed; SWAPWIRE_SKIP_TASKSET is set")
		}
		t.Fatal("taskset (util-linux) is needed; set SWAPWIRE_SKIP_TASKSET=1 to skip")
	}
	run := func(t *testing.T, pin bool, env ...string) string {
		t.Helper()
		args := []string{"-test.run=^TestReserveProc$", "-test.count=1"}
		var cmd *exec.Cmd
		if pin {
			cmd = exec.Command(taskset, append([]string{"-c", "0", os.Args[0]}, args...)...)
		} else {
			cmd = exec.Command(os.Args[0], args...)
		}
		cmd.Env = append(os.Environ(), "SWAPWIRE_RESERVEPROC_CHILD=1")
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if r, ok := strings.CutPrefix(line, "RESULT "); ok {
				return r
			}
		}
		t.Fatalf("child printed no result:\n%s", out)
		return ""
	}
	// GOMAXPROCS may be set in this test's own environment; the children
	// decide for themselves.
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	if got := run(t, true); got != "true 2" {
		t.Errorf("pinned to one CPU: got %q, want a second P (true 2)", got)
	}
	if got := run(t, true, "GOMAXPROCS=1"); got != "false 1" {
		t.Errorf("pinned, GOMAXPROCS=1 set: got %q, want it left alone (false 1)", got)
	}
	if runtime.NumCPU() > 1 {
		want := "false " + strconv.Itoa(runtime.NumCPU())
		if got := run(t, false); got != want {
			t.Errorf("unpinned on %d CPUs: got %q, want %q", runtime.NumCPU(), got, want)
		}
	}
}
