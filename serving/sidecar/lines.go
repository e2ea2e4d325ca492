package sidecar

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// maxLineBytes caps one logged line of worker output; the rest of a longer
// line is dropped, so that a worker cannot make the server buffer without
// bound.
const maxLineBytes = 16 << 10

// readLines calls fn with each line of r, without its line ending, until r
// ends. A line longer than maxLineBytes is cut at that length.
func readLines(r io.Reader, fn func(line string)) {
	br := bufio.NewReaderSize(r, 4096)
	var buf []byte
	for {
		frag, isPrefix, err := br.ReadLine()
		if len(buf)+len(frag) <= maxLineBytes {
			buf = append(buf, frag...)
		} else if len(buf) < maxLineBytes {
			buf = append(buf, frag[:maxLineBytes-len(buf)]...)
		}
		if err != nil {
			if len(buf) > 0 {
				fn(string(buf))
			}
			return
		}
		if !isPrefix {
			fn(string(buf))
			buf = buf[:0]
		}
	}
}

// tail keeps the last lines written to it.
type tail struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

func newTail(n int) *tail { return &tail{lines: make([]string, n)} }

func (t *tail) add(line string) {
	t.mu.Lock()
	t.lines[t.next] = line
	t.next++
	if t.next == len(t.lines) {
		t.next, t.full = 0, true
	}
	t.mu.Unlock()
}

// String returns the kept lines, oldest first, joined by newlines.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	if t.full {
		parts = append(parts, t.lines[t.next:]...)
	}
	parts = append(parts, t.lines[:t.next]...)
	return strings.Join(parts, "\n")
}
