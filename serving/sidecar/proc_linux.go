package sidecar

import "syscall"

// sysProcAttr puts a worker in its own process group, so that signalling
// the group reaches the worker's children, and asks the kernel to SIGKILL
// the worker when the server dies. Pdeathsig fires when the OS thread that
// started the worker exits; the Go runtime keeps its threads, so in practice
// that is when the server process dies. It reaches the worker only, not its
// children: a worker that starts children should kill them itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
