package modelstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// received reports how many values ch holds, draining it.
func received(ch <-chan struct{}) int {
	n := 0
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
			n++
		default:
			return n
		}
	}
}

// startLoop runs a watch loop fed by a fake event channel, with no polling.
func startLoop(t *testing.T, debounce time.Duration) (*Local, chan fsnotify.Event, <-chan struct{}, context.CancelFunc) {
	t.Helper()
	l, err := NewLocal(t.TempDir(), WithPollInterval(0), WithDebounce(debounce))
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan fsnotify.Event)
	w := &watcher{l: l, out: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	go w.run(ctx, events, nil)
	return l, events, w.out, cancel
}

func TestDebounceCoalescesBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, events, out, cancel := startLoop(t, 100*time.Millisecond)
		ev := fsnotify.Event{Name: filepath.Join(l.root, "m", "1"), Op: fsnotify.Create}
		for range 20 {
			events <- ev
			time.Sleep(30 * time.Millisecond)
		}
		synctest.Wait()
		if n := received(out); n != 0 {
			t.Fatalf("%d notifications during the burst, want 0", n)
		}
		time.Sleep(70 * time.Millisecond) // 100ms after the last event
		synctest.Wait()
		if n := received(out); n != 1 {
			t.Fatalf("%d notifications after the burst, want 1", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := received(out); n != 0 {
			t.Fatalf("%d notifications long after the burst, want 0", n)
		}
		cancel()
		synctest.Wait()
		if _, ok := <-out; ok {
			t.Fatal("channel open after cancel")
		}
	})
}

func TestDebounceMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, events, out, cancel := startLoop(t, 100*time.Millisecond)
		defer cancel()
		ev := fsnotify.Event{Name: filepath.Join(l.root, "m", PolicyName), Op: fsnotify.Write}
		start := time.Now()
		got := 0
		for time.Since(start) < 3*time.Second {
			events <- ev
			time.Sleep(50 * time.Millisecond)
			got += received(out)
		}
		// Events never pause for 100ms, but a notification still comes
		// every maxWait (1s).
		if got != 2 && got != 3 {
			t.Fatalf("%d notifications in 3s of steady events, want 2 or 3", got)
		}
	})
}

func TestDebounceZeroNotifiesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, events, out, cancel := startLoop(t, 0)
		defer cancel()
		events <- fsnotify.Event{Name: filepath.Join(l.root, "m"), Op: fsnotify.Create}
		synctest.Wait()
		if n := received(out); n != 1 {
			t.Fatalf("%d notifications, want 1", n)
		}
	})
}

func TestRelevantEvents(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{l: l}
	r := l.root
	tests := []struct {
		name string
		op   fsnotify.Op
		want bool
	}{
		{filepath.Join(r, "m"), fsnotify.Create, true},
		{filepath.Join(r, "m"), fsnotify.Remove, true},
		{filepath.Join(r, "m"), fsnotify.Chmod, false},
		{filepath.Join(r, ".hidden"), fsnotify.Create, false},
		{filepath.Join(r, "m", "3"), fsnotify.Create, true},
		{filepath.Join(r, "m", "3"), fsnotify.Rename, true},
		{filepath.Join(r, "m", "3"), fsnotify.Remove, true},
		{filepath.Join(r, "m", "3"), fsnotify.Chmod, false},
		{filepath.Join(r, "m", "03"), fsnotify.Create, false},
		{filepath.Join(r, "m", ".tmp-123"), fsnotify.Create, false},
		{filepath.Join(r, "m", ".tmp-123"), fsnotify.Rename, false},
		{filepath.Join(r, "m", ".trash-3-ab"), fsnotify.Remove, false},
		{filepath.Join(r, "m", ".tmp-POLICY.json-1"), fsnotify.Write, false},
		{filepath.Join(r, "m", PolicyName), fsnotify.Create, true},
		{filepath.Join(r, "m", PolicyName), fsnotify.Write, true},
		{filepath.Join(r, "m", PolicyName), fsnotify.Chmod, false},
		{filepath.Join(r, "m", "3", "MANIFEST.json"), fsnotify.Create, false},
		{filepath.Join(filepath.Dir(r), "elsewhere"), fsnotify.Create, false},
	}
	for _, tt := range tests {
		if got := w.relevant(fsnotify.Event{Name: tt.name, Op: tt.op}); got != tt.want {
			t.Errorf("relevant(%s %s) = %v, want %v", tt.op, tt.name, got, tt.want)
		}
	}
}

// TestPollOnly runs a poll-only watch on fake time: each change is noticed
// at the next poll, plus the debounce, and not before.
func TestPollOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		l, err := NewLocal(t.TempDir(), WithFSNotify(false), WithPollInterval(time.Second), WithDebounce(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ch, err := l.Watch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Polls run at k seconds; each change below is made at k+0.1s.
		time.Sleep(100 * time.Millisecond)
		// expect waits for the next poll plus the debounce and checks that
		// exactly one notification came, and none before it was due.
		expect := func(what string) {
			t.Helper()
			time.Sleep(950 * time.Millisecond) // past the poll, inside the debounce
			synctest.Wait()
			if n := received(ch); n != 0 {
				t.Fatalf("%s: %d notifications before the debounce, want 0", what, n)
			}
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			if n := received(ch); n != 1 {
				t.Fatalf("%s: %d notifications, want 1", what, n)
			}
		}
		tx, err := l.Begin(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tx.Dir(), "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		expect("new model dir")
		if _, err := tx.Commit(ctx, 0); err != nil {
			t.Fatal(err)
		}
		expect("commit")
		if err := l.SetPolicy(ctx, "m", Policy{Pinned: 1}); err != nil {
			t.Fatal(err)
		}
		expect("policy created")
		if err := l.SetPolicy(ctx, "m", Policy{Pinned: 2}); err != nil { // same size
			t.Fatal(err)
		}
		expect("policy changed")
		if err := l.Delete(ctx, "m", 1); err != nil {
			t.Fatal(err)
		}
		expect("delete")
		// An in-place version gets a manifest: noticed although the
		// version name did not change.
		dir := filepath.Join(l.root, "m", "7")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		expect("in-place version dir")
		if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(`{"format":1,"files":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		expect("manifest written in place")
		// Nothing changes: nothing is sent.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := received(ch); n != 0 {
			t.Fatalf("%d notifications with no change, want 0", n)
		}
		cancel()
		synctest.Wait()
		if _, ok := <-ch; ok {
			t.Fatal("channel open after cancel")
		}
	})
}
