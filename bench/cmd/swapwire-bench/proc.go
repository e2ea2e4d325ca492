package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/swapwire/swapwire/bench/loadgen"
)

// child is a server running in a child process of this binary.
type child struct {
	name  string
	cmd   *exec.Cmd
	addr  string
	stdin io.WriteCloser
	lines chan string
	done  chan error
	conns []*grpc.ClientConn
}

// startChild starts "swapwire-bench serve args..." on the given CPUs (a
// taskset list; empty for no taskset) with env added to this process's
// environment, waits for its ready line and opens
// conns connections to it.
func startChild(name, cpus string, env []string, conns int, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startProcess(name, cpus, env, conns, append([]string{exe, "serve"}, args...)...)
}

// startProcess starts argv as a server that prints the same ready line
// ("SWAPWIRE_BENCH_READY host:port") and quits on "quit" or the end of its
// stdin, such as bench/pyserver/server.py.
func startProcess(name, cpus string, env []string, conns int, argv ...string) (*child, error) {
	var err error
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() { c.done <- cmd.Wait() }()
	timeout := time.After(3 * time.Minute)
	for c.addr == "" {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.kill()
				return nil, fmt.Errorf("%s server exited before it was ready", name)
			}
			if a, ok := strings.CutPrefix(line, "SWAPWIRE_BENCH_READY "); ok {
				c.addr = a
			}
		case <-timeout:
			c.kill()
			return nil, fmt.Errorf("%s server not ready after 3 minutes", name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.conns, err = loadgen.Dial(ctx, c.addr, conns)
	if err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// pid is the server's process id (taskset execs it in place).
func (c *child) pid() int { return c.cmd.Process.Pid }

// mem asks the server to collect garbage and return memory to the OS,
// then returns its VmRSS in kB and its Go heap in use in bytes.
func (c *child) mem() (rssKB, heap int64, err error) {
	if _, err := io.WriteString(c.stdin, "mem\n"); err != nil {
		return 0, 0, err
	}
	select {
	case line, ok := <-c.lines:
		if !ok {
			return 0, 0, errors.New("server exited")
		}
		if _, err := fmt.Sscanf(line, "MEM %d %d", &rssKB, &heap); err != nil {
			return 0, 0, fmt.Errorf("unexpected answer %q", line)
		}
		return rssKB, heap, nil
	case <-time.After(30 * time.Second):
		return 0, 0, errors.New("no answer to mem")
	}
}

// stop closes the connections and stops the server, killing it if it has
// not exited within 20 seconds.
func (c *child) stop() {
	loadgen.Close(c.conns)
	io.WriteString(c.stdin, "quit\n")
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.kill()
	}
}

func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// batches returns how many batches the server ran and how many requests
// they held in all, from its swapwire_batch_size histogram.
// loads asks a server of kind swap to run its model's Load alone n times,
// at most once per every, and waits for it to finish.
func (c *child) loads(n int, every time.Duration) (int, error) {
	if _, err := fmt.Fprintf(c.stdin, "loads %d %s\n", n, every); err != nil {
		return 0, err
	}
	select {
	case line, ok := <-c.lines:
		if !ok {
			return 0, errors.New("server exited")
		}
		var done int
		if _, err := fmt.Sscanf(line, "LOADS %d", &done); err != nil {
			return 0, fmt.Errorf("unexpected answer %q", line)
		}
		return done, nil
	case <-time.After(time.Duration(n)*every + time.Minute):
		return 0, errors.New("no answer to loads")
	}
}

func (c *child) batches() (n uint64, items float64, err error) {
	if _, err := io.WriteString(c.stdin, "batches\n"); err != nil {
		return 0, 0, err
	}
	select {
	case line, ok := <-c.lines:
		if !ok {
			return 0, 0, errors.New("server exited")
		}
		if _, err := fmt.Sscanf(line, "BATCHES %d %g", &n, &items); err != nil {
			return 0, 0, fmt.Errorf("unexpected answer %q", line)
		}
		return n, items, nil
	case <-time.After(30 * time.Second):
		return 0, 0, errors.New("no answer to batches")
	}
}
