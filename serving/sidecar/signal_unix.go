//go:build unix

package sidecar

import (
	"os"
	"syscall"
)

// terminate sends SIGTERM to the worker's process group.
func terminate(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGTERM) }

// kill sends SIGKILL to the worker's process group, so that children the
// worker started die with it.
func kill(p *os.Process) {
	if syscall.Kill(-p.Pid, syscall.SIGKILL) != nil {
		_ = p.Kill()
	}
}

// killGroup sends SIGKILL to what is left of the worker's process group
// after the worker itself exited.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
