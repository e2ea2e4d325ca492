//go:build unix && !linux

package sidecar

import "syscall"

// sysProcAttr puts a worker in its own process group, so that signalling
// the group reaches the worker's children. Outside Linux there is no
// parent-death signal: a worker should exit when its stdin closes or its
// parent changes.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
