package modelstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/swapwire/swapwire/modelstore"
)

// waitTimeout bounds every wait for a notification driven by the real file
// system; it is generous because it is only reached when a test fails.
const waitTimeout = 10 * time.Second

// waitFor waits for a notification and checks cond after it.
func waitFor(t *testing.T, ch <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: watch channel closed", what)
		}
		if !cond() {
			t.Fatalf("%s: notified, but the store does not show the change", what)
		}
	case <-timer.C:
		t.Fatalf("%s: no notification within %v", what, waitTimeout)
	}
}

func testWatch(t *testing.T, opts ...modelstore.LocalOption) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, _ := newLocal(t, append(opts, modelstore.WithDebounce(20*time.Millisecond))...)
	publish(t, l, "a", 0, map[string]string{"f": "1"})
	ch, err := l.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, l, "a", 0, map[string]string{"f": "2"})
	waitFor(t, ch, "commit", func() bool { return slices.Equal(versions(t, l, "a"), []int64{1, 2}) })
	if err := l.Delete(ctx, "a", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "delete", func() bool { return slices.Equal(versions(t, l, "a"), []int64{2}) })
	if err := l.SetPolicy(ctx, "a", modelstore.Policy{Pinned: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "policy", func() bool {
		p, err := l.Policy(ctx, "a")
		return err == nil && p.Pinned == 2
	})
	// A model created after Watch started is watched too: a commit in it
	// is seen even without polling. Each step above and below makes
	// exactly one event a watch reports, so no notification is stale.
	if err := os.Mkdir(filepath.Join(l.Root(), "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "new model", func() bool {
		m, err := l.Models(ctx)
		return err == nil && slices.Equal(m, []string{"a", "b"})
	})
	publish(t, l, "b", 0, map[string]string{"f": "1"})
	waitFor(t, ch, "commit in new model", func() bool { return len(versions(t, l, "b")) == 1 })
	publish(t, l, "b", 0, map[string]string{"f": "2"})
	waitFor(t, ch, "second commit in new model", func() bool { return len(versions(t, l, "b")) == 2 })

	// A second Watch gets its own channel.
	ctx2, cancel2 := context.WithCancel(ctx)
	ch2, err := l.Watch(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Delete(ctx, "b", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, "delete, first watch", func() bool { return len(versions(t, l, "b")) == 1 })
	waitFor(t, ch2, "delete, second watch", func() bool { return len(versions(t, l, "b")) == 1 })
	cancel2()
	for range ch2 { // drains until closed; a close is bounded by the cancel
	}
	cancel()
	for range ch {
	}
}

func TestWatchFSNotify(t *testing.T) {
	// No polling: every notification comes from fsnotify.
	testWatch(t, modelstore.WithPollInterval(0))
}

func TestWatchPollOnly(t *testing.T) {
	testWatch(t, modelstore.WithFSNotify(false), modelstore.WithPollInterval(20*time.Millisecond))
}
