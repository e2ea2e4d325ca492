package sidecar

import (
	"strconv"
	"strings"
)

// WorkerError reports a worker that failed to start, or that crashed, with
// what the server knows about it.
type WorkerError struct {
	Worker int    // the worker's slot number, from 1
	PID    int    // its process id; 0 when it never started
	Err    error  // what went wrong
	Exit   string // how the process ended, such as "exit status 3"; empty while it runs
	Stderr string // its last stderr lines (at most StderrTailLines), newline-separated
}

// Error describes the worker, the failure, the exit and the stderr tail.
func (e *WorkerError) Error() string {
	var b strings.Builder
	b.WriteString("sidecar: worker ")
	b.WriteString(strconv.Itoa(e.Worker))
	if e.PID != 0 {
		b.WriteString(" (pid ")
		b.WriteString(strconv.Itoa(e.PID))
		b.WriteString(")")
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if e.Exit != "" {
		b.WriteString("; ")
		b.WriteString(e.Exit)
	}
	if e.Stderr != "" {
		b.WriteString("; stderr tail:\n")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *WorkerError) Unwrap() error { return e.Err }
