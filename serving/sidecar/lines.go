package sidecar

import (
	"bufio"
	"io"
	"log/slog"
	"strconv"
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

// levelClassifier picks the log level of each line of a worker's output:
// the level a line names (the Python runtime's "swapwire-worker ERROR ...",
// or a line starting with ERROR, WARNING and the like), ERROR for a Python
// traceback and the lines that belong to it, WARN for a Python warning
// ("file.py:3: DeprecationWarning: ..."), and INFO for anything else. A
// line that continues a logged record (indented, or part of a traceback)
// keeps the record's level. One classifier serves one stream.
type levelClassifier struct {
	cont    slog.Level // the level of the record being continued
	inRec   bool       // a record may be continued
	inTrace bool       // inside a traceback, before its final line
	// afterTrace: a traceback just ended; a chained one may follow.
	afterTrace bool
}

func isChainLine(line string) bool {
	return strings.HasPrefix(line, "During handling of the above exception") ||
		strings.HasPrefix(line, "The above exception was the direct cause")
}

func (c *levelClassifier) level(line string) slog.Level {
	if c.afterTrace {
		// A chained exception: blank lines and "During handling of the
		// above exception, ..." between two tracebacks belong to them.
		if line == "" {
			return slog.LevelError
		}
		c.afterTrace = false
		if isChainLine(line) {
			c.inRec, c.inTrace, c.cont = true, true, slog.LevelError
			return slog.LevelError
		}
	}
	if strings.HasPrefix(line, "Traceback (most recent call last):") {
		c.inRec, c.inTrace, c.cont = true, true, slog.LevelError
		return slog.LevelError
	}
	if lvl, ok := namedLevel(line); ok {
		c.inRec, c.inTrace, c.cont = true, false, lvl
		return lvl
	}
	if c.inRec {
		switch {
		case line == "" || line[0] == ' ' || line[0] == '\t':
			return c.cont
		case isChainLine(line):
			c.inTrace = true
			return c.cont
		case c.inTrace:
			// The traceback's last line, "ValueError: bad input", ends the
			// record, unless a chained traceback follows.
			c.inRec, c.inTrace, c.afterTrace = false, false, true
			return c.cont
		}
	}
	c.inRec, c.inTrace = false, false
	if isPythonWarning(line) {
		c.inRec, c.cont = true, slog.LevelWarn // the source line follows, indented
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// namedLevel reads the level a line starts with, after an optional
// "swapwire-worker " prefix, "[" or "level=": DEBUG, INFO, WARN, WARNING,
// ERROR, CRITICAL or FATAL, in capitals, followed by a space, ":", "]" or
// the end of the line.
func namedLevel(line string) (slog.Level, bool) {
	s := strings.TrimPrefix(line, "swapwire-worker ")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "["), "level=")
	end := 0
	for end < len(s) && s[end] >= 'A' && s[end] <= 'Z' {
		end++
	}
	if end < len(s) && s[end] != ' ' && s[end] != ':' && s[end] != ']' {
		return 0, false
	}
	switch s[:end] {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR", "CRITICAL", "FATAL":
		return slog.LevelError, true
	}
	return 0, false
}

// isPythonWarning reports a line of Python's warnings module:
// "path.py:12: UserWarning: text".
func isPythonWarning(line string) bool {
	i := strings.Index(line, "Warning: ")
	if i < 0 {
		return false
	}
	j := strings.LastIndex(line[:i], ": ")
	return j > 0 && strings.Contains(line[:j], ".py:")
}

// versionAttr is the version attribute of a pool's or attachment's log
// lines: "version" as a number, as everywhere in Swapwire's logs, when the
// directory's name is one (as in a model store); else none (slog drops an
// empty attribute), and the "starting workers" line names the directory.
func versionAttr(dir string) slog.Attr {
	if v, err := strconv.ParseInt(baseName(dir), 10, 64); err == nil {
		return slog.Int64("version", v)
	}
	return slog.Attr{}
}
