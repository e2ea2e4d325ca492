package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// Protocol constants of the worker handshake (see worker.proto).
const (
	envProtocol     = "SWAPWIRE_WORKER_PROTOCOL"
	envAddr         = "SWAPWIRE_WORKER_ADDR"
	protocolVersion = "2"
	protocolNumber  = 2
	readyPrefix     = "SWAPWIRE_WORKER|"
)

// errProcessExited is the cause of a worker's context once its process exited.
var errProcessExited = errors.New("the worker process exited")

// drainTimeout bounds how long a dead worker's output pipes are read after
// its process group was killed, in case a stray process keeps them open.
const drainTimeout = 2 * time.Second

// worker is one worker process and its connection.
type worker struct {
	id      int
	pid     int
	proc    *os.Process
	sock    string
	log     *slog.Logger
	stderr  *tail
	started time.Time

	ready chan string // receives the ready line once

	// ctx is cancelled, with the exit as its cause, when the process exits.
	ctx    context.Context
	cancel context.CancelCauseFunc
	exited chan struct{} // closed once the process is reaped and its output drained
	exit   string        // how it exited; set before exited is closed

	fc   *frameConn // set by the handshake
	info *workerv1.InfoResponse
}

// spawn starts the process of worker id; gen makes its socket name unique.
func (p *Pool) spawn(id, gen int) (*worker, error) {
	sock := filepath.Join(p.sockDir, "w"+strconv.Itoa(id)+"-"+strconv.Itoa(gen)+".sock")
	_ = os.Remove(sock)
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sidecar: worker %d: %w", id, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("sidecar: worker %d: %w", id, err)
	}
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = append(append(os.Environ(), p.cfg.Env...),
		envProtocol+"="+protocolVersion, envAddr+"=unix://"+sock)
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("sidecar: worker %d: start %q: %w", id, p.cfg.Command[0], err)
	}

	w := &worker{
		id:      id,
		pid:     cmd.Process.Pid,
		proc:    cmd.Process,
		sock:    sock,
		stderr:  newTail(StderrTailLines),
		started: time.Now(),
		ready:   make(chan string, 1),
		exited:  make(chan struct{}),
	}
	w.log = p.log.With("worker", id, "pid", w.pid)
	w.ctx, w.cancel = context.WithCancelCause(context.Background())
	w.log.Debug("worker started", "command", p.cfg.Command)

	var readers sync.WaitGroup
	readers.Add(2)
	p.procs.Add(3)
	go func() {
		defer p.procs.Done()
		defer readers.Done()
		handshaken := false
		var levels levelClassifier
		readLines(outR, func(line string) {
			if !handshaken && strings.HasPrefix(line, readyPrefix) {
				handshaken = true
				w.ready <- line
				return
			}
			w.log.Log(context.Background(), levels.level(line), "worker output", "stream", "stdout", "line", line)
		})
	}()
	go func() {
		defer p.procs.Done()
		defer readers.Done()
		var levels levelClassifier
		readLines(errR, func(line string) {
			w.stderr.add(line)
			w.log.Log(context.Background(), levels.level(line), "worker output", "stream", "stderr", "line", line)
		})
	}()
	go func() {
		defer p.procs.Done()
		err := cmd.Wait()
		w.exit = exitString(err, cmd.ProcessState)
		w.cancel(errProcessExited)
		// Stray processes of its group would hold the pipes open.
		kill(cmd.Process)
		done := make(chan struct{})
		go func() { readers.Wait(); close(done) }()
		t := time.NewTimer(drainTimeout)
		select {
		case <-done:
		case <-t.C:
			outR.Close()
			errR.Close()
			<-done
		}
		t.Stop()
		outR.Close()
		errR.Close()
		w.log.Debug("worker exited", "exit", w.exit)
		close(w.exited)
	}()
	return w, nil
}

func exitString(err error, st *os.ProcessState) string {
	if st != nil {
		return st.String()
	}
	if err != nil {
		return err.Error()
	}
	return "exited"
}

// isExited reports whether the process has exited and was reaped.
func (w *worker) isExited() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

// startWorker starts worker id and brings it to ready: the ready line, a
// connection, Info and Load(dir). On failure nothing of it is left.
func (p *Pool) startWorker(ctx context.Context, id, gen int) (*worker, error) {
	w, err := p.spawn(id, gen)
	if err != nil {
		return nil, err
	}
	if err := p.handshake(ctx, w); err != nil {
		kill(w.proc)
		<-w.exited
		w.closeConn()
		return nil, w.errorf(err)
	}
	return w, nil
}

// handshake waits for the ready line, dials, and calls Info and Load.
func (p *Pool) handshake(ctx context.Context, w *worker) error {
	ctx, cancel := context.WithTimeoutCause(ctx, p.cfg.StartTimeout,
		fmt.Errorf("not ready within the start timeout of %v", p.cfg.StartTimeout))
	defer cancel()
	stop := context.AfterFunc(w.ctx, cancel)
	defer stop()

	var line string
	select {
	case line = <-w.ready:
	case <-w.exited:
		return errors.New("exited before printing its ready line")
	case <-ctx.Done():
		if w.ctx.Err() != nil { // the process exited
			<-w.exited
			return errors.New("exited before printing its ready line")
		}
		return fmt.Errorf("no ready line: %w", context.Cause(ctx))
	}
	network, addr, err := parseReady(line)
	if err != nil {
		return err
	}
	fc, err := dialFrame(ctx, network, addr, p.cfg.MaxMessageSize)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, causeOr(ctx, w, err))
	}
	w.fc = fc
	info, err := callInfo(ctx, fc)
	if err != nil {
		return fmt.Errorf("info: %w", causeOr(ctx, w, err))
	}
	if v := info.GetProtocolVersion(); v != protocolNumber {
		return fmt.Errorf("speaks worker protocol %d, want %d", v, protocolNumber)
	}
	w.info = info
	if err := callLoad(ctx, fc, p.dir, ""); err != nil {
		return fmt.Errorf("load %s: %w", p.dir, causeOr(ctx, w, err))
	}
	w.log.Info("worker ready", "runtime", info.GetRuntime(), "batch", info.GetBatch(),
		"seconds", time.Since(w.started).Seconds())
	return nil
}

// causeOr explains an RPC error caused by the end of the start context or
// by the exit of the worker, and returns err otherwise.
func causeOr(ctx context.Context, w *worker, err error) error {
	if w.ctx.Err() != nil {
		<-w.exited // for the exit status and the whole stderr tail
		return fmt.Errorf("%w (%w)", context.Cause(w.ctx), err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	return err
}

// parseReady turns "SWAPWIRE_WORKER|2|unix|/path" into a network and an
// address to dial.
func parseReady(line string) (network, addr string, err error) {
	parts := strings.SplitN(line, "|", 4)
	if len(parts) != 4 || parts[3] == "" {
		return "", "", fmt.Errorf("malformed ready line %q", line)
	}
	if parts[1] != protocolVersion {
		return "", "", fmt.Errorf("ready line %q: protocol %s, want %s", line, parts[1], protocolVersion)
	}
	switch parts[2] {
	case "unix", "tcp":
		return parts[2], parts[3], nil
	}
	return "", "", fmt.Errorf("ready line %q: unknown network %q", line, parts[2])
}

// errorf wraps err in a [WorkerError] with the worker's identity, its exit
// and its stderr tail. The exit is known once the process was reaped.
func (w *worker) errorf(err error) *WorkerError {
	e := &WorkerError{Worker: w.id, PID: w.pid, Err: err, Stderr: w.stderr.String()}
	if w.isExited() {
		e.Exit = w.exit
	}
	return e
}

// stop ends the process: SIGTERM to its group, SIGKILL after timeout. It
// returns once the process is reaped.
func (w *worker) stop(timeout time.Duration) {
	if !w.isExited() {
		terminate(w.proc)
		t := time.NewTimer(timeout)
		select {
		case <-w.exited:
		case <-t.C:
			w.log.Warn("worker ignored SIGTERM; killing it", "timeout_seconds", timeout.Seconds())
			kill(w.proc)
			<-w.exited
		}
		t.Stop()
	}
	// Children the worker left in its group (a SIGTERM they ignored or
	// have not acted on yet) go with it.
	killGroup(w.proc)
	w.closeConn()
}

// closeConn closes the connection and removes the socket. The process must
// have exited.
func (w *worker) closeConn() {
	if w.fc != nil {
		w.fc.close()
	}
	_ = os.Remove(w.sock)
}
