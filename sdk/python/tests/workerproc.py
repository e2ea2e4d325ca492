"""Starts a real worker process and talks to it, for the tests."""

import os
import queue
import signal
import subprocess
import sys
import threading

from swapwire.worker._client import Client

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
READY_TIMEOUT = 20  # seconds; a cold Python with grpc and sklearn starts in about 1 s
# The interpreter for worker processes: Debian's, unless SWAPWIRE_TEST_PYTHON
# names another (scripts/check-python-protobuf.sh runs the suite on a venv
# whose protobuf runtime shadows Debian's).
PYTHON = os.environ.get("SWAPWIRE_TEST_PYTHON") or (
    "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)


def _pump(stream, lines):
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


class WorkerProcess:
    """A worker subprocess; its stdout and stderr lines are queued as they come."""

    def __init__(self, argv, addr, env=None, pythonpath=True):
        full_env = dict(os.environ)
        if pythonpath:
            full_env["PYTHONPATH"] = os.pathsep.join([SDK, HERE])
        else:
            full_env.pop("PYTHONPATH", None)
        full_env["SWAPWIRE_WORKER_PROTOCOL"] = "2"
        full_env["PYTHONUNBUFFERED"] = "1"
        if addr is not None:
            full_env["SWAPWIRE_WORKER_ADDR"] = addr
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [PYTHON] + argv, env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout = queue.Queue()
        self.stderr = queue.Queue()
        self.stderr_seen = []
        self._pumps = [
            threading.Thread(target=_pump, args=(stream, q), daemon=True)
            for stream, q in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))]
        for t in self._pumps:
            t.start()
        self.channel = None

    def ready_line(self, timeout=READY_TIMEOUT):
        """Returns the first stdout line, or fails with the worker's stderr."""
        try:
            line = self.stdout.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            raise AssertionError("no ready line; stderr:\n" + self.drain_stderr())
        return line

    def connect(self, target):
        """Returns a framed-protocol Client for unix:/path or host:port."""
        if target.startswith("unix:"):
            addr = "unix://" + target[len("unix:"):]
        else:
            addr = "tcp://" + target
        self.channel = Client(addr, timeout=READY_TIMEOUT)
        return self.channel

    def wait_stderr(self, needle, timeout=READY_TIMEOUT):
        """Waits for a stderr line containing needle; returns it."""
        while True:
            try:
                line = self.stderr.get(timeout=timeout)
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError("stderr never said %r; it said:\n%s"
                                     % (needle, "\n".join(self.stderr_seen)))
            self.stderr_seen.append(line)
            if needle in line:
                return line

    def drain_stderr(self):
        while True:
            try:
                line = self.stderr.get(timeout=0)
            except queue.Empty:
                break
            if line is None:
                break
            self.stderr_seen.append(line)
        return "\n".join(self.stderr_seen)

    def terminate(self, timeout=15):
        """Sends SIGTERM and returns the exit code."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            raise AssertionError("worker ignored SIGTERM for %d s" % timeout)
        finally:
            for t in self._pumps:
                t.join(timeout)  # the pipes end with the process
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()
