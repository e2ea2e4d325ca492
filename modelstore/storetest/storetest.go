// Package storetest holds checks that every [modelstore.Store]
// implementation must pass, shared by the stores' tests.
package storetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/swapwire/swapwire/modelstore"
)

// ChildEnv is the environment variable that tells a test binary, re-run by
// [RaceLabels], to act as one of the racing writers: its value is
// "<model> <label prefix> <count>".
const ChildEnv = "SWAPWIRE_STORETEST_LABEL_WRITER"

// WriteLabels makes n concurrent UpdatePolicy calls on model, the i-th
// setting label "<prefix>-<i>" to version i+1. It returns the first error.
func WriteLabels(ctx context.Context, s modelstore.Store, model, prefix string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			label := fmt.Sprintf("%s-%d", prefix, i)
			_, err := s.UpdatePolicy(ctx, model, func(p *modelstore.Policy) error {
				if p.Labels == nil {
					p.Labels = map[string]int64{}
				}
				p.Labels[label] = int64(i + 1)
				return nil
			})
			if err != nil {
				errs <- fmt.Errorf("label %s: %w", label, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// RunChild runs the writer a RaceLabels parent asked for, when ChildEnv is
// set, and reports whether it did. Call it first in TestMain, and exit with
// the code it returns when it ran:
//
//	if code, ok := storetest.RunChild(open); ok { os.Exit(code) }
func RunChild(open func() (modelstore.Store, error)) (code int, ran bool) {
	spec := os.Getenv(ChildEnv)
	if spec == "" {
		return 0, false
	}
	var model, prefix string
	var n int
	if _, err := fmt.Sscan(spec, &model, &prefix, &n); err != nil {
		fmt.Fprintln(os.Stderr, "storetest: bad", ChildEnv, err)
		return 2, true
	}
	s, err := open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "storetest: open store:", err)
		return 1, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := WriteLabels(ctx, s, model, prefix, n); err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		return 1, true
	}
	return 0, true
}

// RaceLabels starts procs copies of the running test binary (whose
// TestMain calls RunChild with a store on the same backing storage as s,
// configured through env), each making perProc concurrent label updates on
// one model, and checks with s that every one of the procs×perProc labels
// is in the final policy and that the generation counted every write.
func RaceLabels(t *testing.T, s modelstore.Store, env []string, procs, perProc int) {
	t.Helper()
	const model = "race"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), env...), fmt.Sprintf("%s=%s p%d %d", ChildEnv, model, p, perProc))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	p, err := s.Policy(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for pi := range procs {
		for i := range perProc {
			label := fmt.Sprintf("p%d-%d", pi, i)
			if p.Labels[label] != int64(i+1) {
				lost++
			}
		}
	}
	if lost != 0 || len(p.Labels) != procs*perProc {
		t.Errorf("after %d×%d concurrent label updates: %d labels, %d lost", procs, perProc, len(p.Labels), lost)
	}
	if p.Generation != int64(procs*perProc) {
		t.Errorf("generation %d, want %d (one per write)", p.Generation, procs*perProc)
	}
}
