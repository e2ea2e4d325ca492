package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch returns a channel (capacity 1) that receives a value soon after a
// version is committed or deleted, a model appears or goes, or a policy
// file changes. Two mechanisms feed it:
//
//   - file-system notifications (unless WithFSNotify(false)) on the root and
//     on every model directory, never on version directories or single
//     files; a new model directory is watched as soon as it appears;
//   - polling every WithPollInterval (unless zero), which compares the model
//     and version names, the size and modification time of each version's
//     manifest and of each policy file. Polling alone is enough, and is what
//     works on network file systems.
//
// Changes are debounced (see WithDebounce) and coalesce: a value may stand
// for many changes, and the receiver should rescan the store. Temporary and
// trash entries are ignored, so an upload in progress sends nothing until
// its commit renames it into place. If notifications cannot be set up,
// Watch logs a warning and polls. Each call gets its own channel, and its
// own inotify instance. The channel is closed, and every goroutine of the
// watch has returned, soon after ctx ends.
//
// Watch fails when both notifications and polling are disabled.
func (l *Local) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !l.cfg.fsnotify && l.cfg.poll == 0 {
		return nil, errors.New("modelstore: watch: both fsnotify and polling are disabled")
	}
	w := &watcher{l: l, out: make(chan struct{}, 1)}
	if l.cfg.poll > 0 {
		w.snap = l.snapshot()
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if l.cfg.fsnotify {
		fw, err := l.newFSWatcher()
		if err != nil {
			if l.cfg.poll == 0 {
				return nil, fmt.Errorf("modelstore: watch: %w", err)
			}
			l.log.Warn("modelstore: file-system notifications unavailable; polling only", "root", l.root, "error", err)
		} else {
			w.fs = fw
			events, errs = fw.Events, fw.Errors
		}
	}
	go w.run(ctx, events, errs)
	return w.out, nil
}

// newFSWatcher watches the root and every model directory.
func (l *Local) newFSWatcher() (*fsnotify.Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := fw.Add(l.root); err != nil {
		fw.Close()
		return nil, err
	}
	entries, err := os.ReadDir(l.root)
	if err != nil {
		fw.Close()
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() && ValidateModelName(e.Name()) == nil {
			if err := fw.Add(filepath.Join(l.root, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fw.Close()
				return nil, err
			}
		}
	}
	return fw, nil
}

// watchAdder is the part of *fsnotify.Watcher the event loop uses; tests
// replace it.
type watchAdder interface {
	Add(name string) error
	Close() error
}

// watcher is the state of one Watch call, owned by its goroutine.
type watcher struct {
	l    *Local
	out  chan struct{}
	fs   watchAdder
	snap map[string]stamp
}

// run is the event loop: it turns fsnotify events and poll differences into
// debounced notifications until ctx ends.
func (w *watcher) run(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error) {
	defer close(w.out)
	if w.fs != nil {
		defer w.fs.Close()
	}
	var tick <-chan time.Time
	if w.l.cfg.poll > 0 {
		t := time.NewTicker(w.l.cfg.poll)
		defer t.Stop()
		tick = t.C
	}
	d := newDebouncer(w.l.cfg.debounce, w.l.cfg.maxWait, w.out)
	defer d.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if w.relevant(ev) {
				d.trigger()
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.l.log.Warn("modelstore: file-system events lost; rescanning", "root", w.l.root)
				d.trigger()
				continue
			}
			w.l.log.Warn("modelstore: file-system watch error", "root", w.l.root, "error", err)
		case <-tick:
			snap := w.l.snapshot()
			if snap == nil {
				continue
			}
			if !maps.EqualFunc(snap, w.snap, stamp.equal) {
				w.snap = snap
				d.trigger()
			}
		case <-d.timer():
			d.fire()
		}
	}
}

// relevant reports whether an event may change what the store lists, and
// starts watching model directories as they appear.
func (w *watcher) relevant(ev fsnotify.Event) bool {
	dir, name := filepath.Split(ev.Name)
	dir = filepath.Clean(dir)
	switch {
	case dir == w.l.root:
		if ValidateModelName(name) != nil {
			return false
		}
		if ev.Has(fsnotify.Create) && w.fs != nil {
			if info, err := os.Lstat(ev.Name); err == nil && info.IsDir() {
				if err := w.fs.Add(ev.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
					w.l.log.Warn("modelstore: cannot watch model directory; relying on polling", "dir", ev.Name, "error", err)
				}
			}
		}
		return ev.Op != fsnotify.Chmod
	case filepath.Dir(dir) == w.l.root:
		if name == PolicyName {
			return ev.Op != fsnotify.Chmod
		}
		if _, ok := parseVersion(name); ok {
			return ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
		}
	}
	return false
}

// snapshot is a cheap summary of the store for polling: every model, every
// version with its manifest's identity, size and modification time, and
// every policy file's. Comparing file identities (inodes) as well as times
// catches a rewrite within the file system's timestamp granularity. It
// returns nil when the root cannot be read.
func (l *Local) snapshot() map[string]stamp {
	entries, err := os.ReadDir(l.root)
	if err != nil {
		l.log.Warn("modelstore: poll: cannot read root", "root", l.root, "error", err)
		return nil
	}
	snap := make(map[string]stamp)
	for _, e := range entries {
		model := e.Name()
		if !e.IsDir() || ValidateModelName(model) != nil {
			continue
		}
		mdir := filepath.Join(l.root, model)
		versions, err := os.ReadDir(mdir)
		if err != nil {
			snap[model] = stamp{note: "unreadable: " + err.Error()}
			continue
		}
		snap[model] = stamp{}
		for _, v := range versions {
			name := v.Name()
			switch {
			case name == PolicyName:
				snap[model+"/"+name] = stampOf(filepath.Join(mdir, name))
			case v.IsDir():
				if _, ok := parseVersion(name); ok {
					snap[model+"/"+name] = stampOf(filepath.Join(mdir, name, ManifestName))
				}
			}
		}
	}
	return snap
}

// stamp is what polling remembers of one entry: a file's Lstat information
// (nil when absent) or a note.
type stamp struct {
	info fs.FileInfo
	note string
}

func stampOf(p string) stamp {
	info, err := os.Lstat(p)
	if err != nil {
		return stamp{}
	}
	return stamp{info: info}
}

func (s stamp) equal(o stamp) bool {
	if s.note != o.note || (s.info == nil) != (o.info == nil) {
		return false
	}
	return s.info == nil || sameFile(s.info, o.info)
}

// debouncer turns triggers into notifications on out: one notification once
// no trigger came for quiet, and at the latest maxWait after the first
// trigger of a burst. Notifications never block: out has capacity 1 and a
// pending value already stands for the new one.
type debouncer struct {
	quiet, maxWait time.Duration
	out            chan struct{}
	t              *time.Timer
	pending        bool
	first          time.Time
}

func newDebouncer(quiet, maxWait time.Duration, out chan struct{}) *debouncer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &debouncer{quiet: quiet, maxWait: maxWait, out: out, t: t}
}

// timer returns the channel that fires when a pending notification is due.
func (d *debouncer) timer() <-chan time.Time { return d.t.C }

// trigger records a change.
func (d *debouncer) trigger() {
	now := time.Now()
	if !d.pending {
		d.pending = true
		d.first = now
	}
	wait := min(d.quiet, d.first.Add(d.maxWait).Sub(now))
	if wait <= 0 {
		d.fire()
		return
	}
	d.t.Reset(wait)
}

// fire sends the pending notification.
func (d *debouncer) fire() {
	d.t.Stop()
	d.pending = false
	select {
	case d.out <- struct{}{}:
	default:
	}
}

func (d *debouncer) stop() { d.t.Stop() }
