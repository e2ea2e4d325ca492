//go:build !unix

package sidecar

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate stops the worker; without signals it is the same as kill.
func terminate(p *os.Process) { _ = p.Kill() }

func kill(p *os.Process) { _ = p.Kill() }

func killGroup(*os.Process) {}
