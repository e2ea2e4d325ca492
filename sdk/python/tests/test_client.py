"""End-to-end tests of swapwire.client against real Go servers on 127.0.0.1.

The servers (examples/sentiment and examples/digits) are built with `go build`
into a temp directory. Without a go toolchain the server tests are skipped,
unless $CI is set, where that is a failure.

This module also holds the helpers that test_rekcurd uses: go_build and
GoServer.
"""

import asyncio
import atexit
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swapwire import aio
from swapwire import client as swc
from swapwire.client import Client, Error
from swapwire.v1 import value_pb2

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SAMPLES = os.path.join(REPO, "examples", "digits", "samples.json")
DIGITS_V2 = os.path.join(REPO, "examples", "digits", "model", "v2")

_bin_dir = None
_built = {}


def require_go(case):
    """Fails case (a TestCase or its class) without go, unless SWAPWIRE_SKIP_GO=1 says to skip."""
    if shutil.which("go") is None:
        if not os.environ.get("SWAPWIRE_SKIP_GO"):
            raise AssertionError("go is not on PATH: the client tests need it to build servers; set SWAPWIRE_SKIP_GO=1 to skip")
        raise unittest.SkipTest("go is not on PATH (SWAPWIRE_SKIP_GO is set)")


def go_build(pkg):
    """Builds a Go main package (a path relative to the repository root, like
    "./examples/digits") once per process and returns the binary's path."""
    global _bin_dir
    if pkg in _built:
        return _built[pkg]
    if _bin_dir is None:
        _bin_dir = tempfile.mkdtemp(prefix="swapwire-pytest-bin-")
        atexit.register(shutil.rmtree, _bin_dir, True)
    out = os.path.join(_bin_dir, pkg.strip("./").replace("/", "_"))
    proc = subprocess.run(["go", "build", "-o", out, pkg], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError("go build %s failed:\n%s%s" % (pkg, proc.stdout, proc.stderr))
    _built[pkg] = out
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GoServer:
    """A Go server process listening on a free 127.0.0.1 port.

    args may hold "{addr}", replaced by the listen address. The server's
    stderr goes to a log file that failures quote.
    """

    def __init__(self, binary, args, health_service="", deadline=30.0, token=None,
                 token_env="SWAPWIRE_ADMIN_TOKEN"):
        self.token = token
        self.tmp = tempfile.mkdtemp(prefix="swapwire-pytest-srv-")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.proc = None
        for attempt in range(3):  # a free port can be taken between probe and bind
            self.addr = "127.0.0.1:%d" % free_port()
            argv = [binary] + [a.replace("{addr}", self.addr) for a in args]
            with open(self.log_path, "ab") as log:
                env = dict(os.environ)
                env.pop("SWAPWIRE_ADMIN_TOKEN", None)
                if token:
                    env[token_env] = token
                self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=REPO, env=env)
            self.client = None
            try:
                self.wait_serving(health_service, deadline)
                return
            except AssertionError:
                if self.proc.poll() is None or attempt == 2 or "address already in use" not in self.log():
                    self.stop()
                    raise

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_serving(self, service="", deadline=30.0):
        """Waits for the port to accept connections, then polls grpc.health.v1
        until service is SERVING or the deadline passes.

        The client is made only once the port listens: a gRPC channel that
        met a refused connection backs off for seconds before it retries.
        """
        end = time.monotonic() + deadline
        last = None
        host, port = self.addr.rsplit(":", 1)
        while self.client is None and time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                self.client = Client(self.addr, token=self.token, timeout=5)
            except OSError as e:
                last = e
                time.sleep(0.02)
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                last = self.client.health(service, timeout=1)
                if last == "SERVING":
                    return
            except Error as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("server at %s not SERVING after %.0fs (last: %r):\n%s"
                             % (self.addr, deadline, last, self.log()))

    def stop(self):
        if self.client is not None:
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for(fn, deadline=15.0, what="condition"):
    """Calls fn until it returns a true value (returned) or the deadline passes."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Error as e:
            last = e
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def load_samples():
    with open(SAMPLES) as f:
        return json.load(f)


# ---------------------------------------------------------------------------
# No server needed.

class ValueTest(unittest.TestCase):
    def test_to_value(self):
        self.assertEqual(swc.to_value("hi"), value_pb2.Value(text="hi"))
        self.assertEqual(swc.to_value(b"\x00\x01"), value_pb2.Value(data=b"\x00\x01"))
        self.assertEqual(list(swc.to_value([1, 2, 3]).ints.values), [1, 2, 3])
        self.assertEqual(list(swc.to_value([1, 2.5]).floats.values), [1.0, 2.5])
        self.assertEqual(list(swc.to_value(["a", "b"]).strings.values), ["a", "b"])
        self.assertEqual(list(swc.to_value(7).ints.values), [7])
        v = value_pb2.Value(text="as is")
        self.assertIs(swc.to_value(v), v)
        with self.assertRaises(TypeError):
            swc.to_value(["a", 1])
        with self.assertRaises(TypeError):
            swc.to_value(None)

    def test_from_value(self):
        for x in ["t", b"d", [1, -2], [0.5], ["a"]]:
            self.assertEqual(swc.from_value(swc.to_value(x)), x)
        self.assertIsNone(swc.from_value(value_pb2.Value()))

    def test_archive(self):
        tmp = tempfile.mkdtemp(prefix="swapwire-pytest-tar-")
        self.addCleanup(shutil.rmtree, tmp)
        os.makedirs(os.path.join(tmp, "v", "sub"))
        for name, data in [("v/a.txt", b"A"), ("v/sub/b.bin", b"\x00" * 10)]:
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        bufs = []
        for _ in range(2):
            buf = io.BytesIO()
            swc.build_archive(os.path.join(tmp, "v"), buf)
            bufs.append(buf.getvalue())
        self.assertEqual(bufs[0], bufs[1], "the same tree gives the same archive")
        with tarfile.open(fileobj=io.BytesIO(bufs[0])) as t:
            self.assertEqual(t.getnames(), ["a.txt", "sub", "sub/b.bin"])
            self.assertEqual(t.extractfile("sub/b.bin").read(), b"\x00" * 10)
        buf = io.BytesIO()
        swc.build_archive(os.path.join(tmp, "v", "a.txt"), buf)
        with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
            self.assertEqual(t.getnames(), ["a.txt"])
        os.makedirs(os.path.join(tmp, "empty"))
        with self.assertRaises(ValueError):
            swc.build_archive(os.path.join(tmp, "empty"), io.BytesIO())

    def test_health_codec(self):
        self.assertEqual(swc._encode_health(""), b"")
        self.assertEqual(swc._encode_health("ab"), b"\x0a\x02ab")
        self.assertEqual(swc._decode_health(b""), 0)
        self.assertEqual(swc._decode_health(b"\x08\x01"), 1)
        self.assertEqual(swc._decode_health(b"\x12\x01x\x08\x02"), 2)

    def test_error_is_rpc_error(self):
        e = Error(grpc.StatusCode.NOT_FOUND, "gone")
        self.assertIsInstance(e, grpc.RpcError)
        self.assertEqual((e.code(), e.details(), e.message), (grpc.StatusCode.NOT_FOUND, "gone", "gone"))


# ---------------------------------------------------------------------------
# The sentiment server: a static text model.

class SentimentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_go(cls)
        # The admin identity: a read-only token, enough to list models.
        cls.server = GoServer(go_build("./examples/sentiment"),
                              ["--model-dir", os.path.join(REPO, "examples", "sentiment", "model"),
                               "--listen", "{addr}", "--allow-plaintext-tokens"],
                              token=secrets.token_hex(16), token_env="SWAPWIRE_READ_TOKEN")
        cls.addClassCleanup(cls.server.stop)
        cls.c = cls.server.client

    def test_predict(self):
        r = self.c.predict("What a GREAT day", model="sentiment")
        self.assertEqual((r.model, r.version, r.label), ("sentiment", 1, "positive"))
        self.assertEqual(r.scores, [2.0])
        self.assertEqual(r.score, 2.0)
        self.assertEqual(r.option, {"matched": ["great"], "words": 4})
        r = self.c.predict("terrible, awful service")  # the default model
        self.assertEqual((r.model, r.label, r.scores), ("sentiment", "negative", [-6.0]))
        self.assertEqual(r.option["matched"], ["terrible", "awful"])
        r = self.c.predict("good but slow")
        self.assertEqual((r.label, r.scores), ("neutral", [0.0]))
        r = self.c.predict("the table", version=1, option={"ignored": [1, {"x": True}]})
        self.assertEqual((r.label, r.option), ("neutral", {"matched": [], "words": 2}))

    def test_predict_stream(self):
        items = ["love it", "hate it", {"input": "meh", "id": "m"}, {"input": [1], "id": "bad"},
                 "excellent"]
        got = list(self.c.predict_stream(items, model="sentiment", return_errors=True))
        self.assertEqual([g.id for g in got], ["0", "1", "m", "bad", "4"])
        self.assertEqual([g.label for g in got if not isinstance(g, Error)],
                         ["positive", "negative", "neutral", "positive"])
        self.assertIsInstance(got[3], Error)
        self.assertEqual(got[3].code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(got[4].scores, [3.0])
        with self.assertRaises(Error) as cm:
            list(self.c.predict_stream(["good", [1, 2], "bad"]))
        self.assertEqual((cm.exception.code(), cm.exception.id), (grpc.StatusCode.INVALID_ARGUMENT, "1"))
        # A bad item is the caller's TypeError, not a bare CANCELLED.
        with self.assertRaises(TypeError):
            list(self.c.predict_stream(["good", object()]))
        with self.assertRaises(TypeError):
            list(self.c.predict_stream([{"text": "no input key"}]))
        self.assertEqual([r.label for r in self.c.predict_stream(iter(["good"] * 50))],
                         ["positive"] * 50)

    def test_service_info(self):
        info = self.c.service_info()
        self.assertEqual(info.default_model, "sentiment")
        self.assertTrue(info.swapwire_version)
        self.assertEqual([(m.name, m.serving_version, m.loaded_versions) for m in info.models],
                         [("sentiment", 1, [1])])

    def test_models(self):
        ms = self.c.models()
        self.assertEqual(len(ms), 1)
        m = ms[0]
        self.assertEqual((m.name, m.serving_version, m.pinned_version, m.default),
                         ("sentiment", 1, 0, True))
        self.assertEqual([(v.version, v.state) for v in m.versions], [(1, "SERVING")])
        self.assertIsNotNone(m.versions[0].loaded_at)
        self.assertEqual(self.c.model("sentiment").name, "sentiment")

    def test_health(self):
        self.assertEqual(self.c.health(), "SERVING")
        self.assertEqual(self.c.health("sentiment"), "SERVING")
        with self.assertRaises(Error) as cm:
            self.c.health("no-such-model")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_errors(self):
        cases = [
            (dict(input="hi", model="no-such-model"), grpc.StatusCode.NOT_FOUND),
            (dict(input=value_pb2.Value()), grpc.StatusCode.INVALID_ARGUMENT),  # no input
            (dict(input=[1, 2, 3]), grpc.StatusCode.INVALID_ARGUMENT),  # not text
            (dict(input="hi", version=42), grpc.StatusCode.NOT_FOUND),
        ]
        for kwargs, code in cases:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(grpc.RpcError) as cm:
                    self.c.predict(**kwargs)
                self.assertIsInstance(cm.exception, Error)
                self.assertEqual(cm.exception.code(), code, cm.exception.details())
                self.assertTrue(cm.exception.details())

    def test_unreachable(self):
        with Client("127.0.0.1:%d" % free_port(), timeout=2) as c:
            with self.assertRaises(Error) as cm:
                c.service_info()
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)


# ---------------------------------------------------------------------------
# The digits server: a model store that takes uploads and switches.

class DigitsTest(unittest.TestCase):
    def setUp(self):
        require_go(self)
        self.store = tempfile.mkdtemp(prefix="swapwire-pytest-store-")
        self.addCleanup(shutil.rmtree, self.store, True)
        # The admin identity: a token the server reads from its environment,
        # accepted over the plaintext test connection.
        self.server = GoServer(go_build("./examples/digits"),
                               ["--store", self.store, "--listen", "{addr}", "--poll", "200ms",
                                "--allow-plaintext-tokens"],
                               health_service="digits", token=secrets.token_hex(16))
        self.c = self.server.client
        self.samples = load_samples()
        self.examples = [(s["ints"], s["label"]) for s in self.samples]

    def tearDown(self):
        self.server.stop()

    def served_version(self):
        return self.c.predict(self.samples[0]["ints"], model="digits").version

    def test_predict_samples(self):
        right = 0
        for s in self.samples:
            r = self.c.predict(s["ints"], model="digits")
            self.assertEqual((r.model, r.version), ("digits", 1))
            self.assertEqual(len(r.label), 1)
            self.assertEqual(len(r.scores), 10)
            self.assertAlmostEqual(sum(r.scores), 1.0, places=6)
            self.assertEqual(max(range(10), key=r.scores.__getitem__), r.label[0])
            right += r.label == [s["label"]]
        self.assertGreaterEqual(right, 8, "version 1 gets at least 8 of the 10 samples right")
        r = self.c.predict(self.samples[0]["ints"])  # digits is the default model
        self.assertEqual(r.label, [self.samples[0]["label"]])
        with self.assertRaises(Error) as cm:
            self.c.predict([1, 2, 3], model="digits")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_models(self):
        [m] = self.c.models()
        self.assertEqual((m.name, m.serving_version, m.pinned_version, m.default),
                         ("digits", 1, 0, True))
        self.assertEqual(m.version(1).state, "SERVING")
        self.assertEqual(self.c.models("digits"), [m])
        with self.assertRaises(Error) as cm:
            self.c.models("no-such-model")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_upload_switch_evaluate(self):
        seen = []
        up = self.c.upload("digits", DIGITS_V2, chunk_size=4096,
                           progress=lambda sent, total: seen.append((sent, total)))
        self.assertEqual((up.model, up.version, up.files), ("digits", 2, 1))
        self.assertEqual(len(up.sha256), 64)
        self.assertEqual(seen[-1], (up.size, up.size))
        self.assertEqual(len(seen), -(-up.size // 4096))
        buf = io.BytesIO()
        swc.build_archive(DIGITS_V2, buf)
        self.assertEqual(up.sha256, hashlib.sha256(buf.getvalue()).hexdigest())

        # The store follows the latest version: 2 takes over.
        wait_for(lambda: self.served_version() == 2, what="version 2 to serve")
        ev = self.c.evaluate("digits", self.examples, details=True)
        self.assertEqual((ev.model, ev.version, ev.examples, ev.errors), ("digits", 2, 10, 0))
        self.assertGreaterEqual(ev.accuracy, 0.8)
        self.assertEqual(len(ev.details), 10)
        self.assertEqual(sum(d.correct for d in ev.details), round(ev.accuracy * 10))
        self.assertEqual(sum(sum(row) for row in ev.confusion), 10)
        self.assertEqual(len(ev.confusion), len(ev.confusion_labels))
        self.assertEqual(sum(m.support for m in ev.labels), 10)

        # Pin version 1.
        self.c.switch("digits", 1)
        wait_for(lambda: self.served_version() == 1, what="version 1 to serve after the switch")
        m = wait_for(lambda: (lambda m: m if m.pinned_version == 1 and m.serving_version == 1
                              else None)(self.c.model("digits")), what="models() to show the pin")
        self.assertEqual(m.version(2).state in ("AVAILABLE", "STANDBY", "DRAINING"), True, m)
        ev = self.c.evaluate("digits", self.examples)
        self.assertEqual((ev.version, ev.examples), (1, 10))
        self.assertGreaterEqual(ev.accuracy, 0.8)
        self.assertEqual(ev.details, [])

        # A label routes requests to its version.
        self.c.set_label("digits", "canary", 2)
        r = wait_for(lambda: self.c.predict(self.samples[0]["ints"], model="digits", label="canary"),
                     what="the canary label to serve")
        self.assertEqual(r.version, 2)
        self.assertEqual(self.c.model("digits").labels, {"canary": 2})
        self.c.set_label("digits", "canary", None)
        wait_for(lambda: self.c.model("digits").labels == {}, what="the label to go")

        # Follow the latest again, then roll back to 1.
        self.c.switch("digits", None)
        wait_for(lambda: self.served_version() == 2, what="version 2 to serve again")
        rb = self.c.rollback("digits")
        self.assertEqual((rb.from_version, rb.to_version), (2, 1))
        wait_for(lambda: self.served_version() == 1, what="version 1 after the rollback")

        # Split the unnamed traffic 50/50: both versions answer.
        st = self.c.split("digits", {1: 50, 2: 50})
        self.assertEqual(st.weights, {1: 50, 2: 50})
        seen_versions = set()
        wait_for(lambda: seen_versions.add(
            self.c.predict(self.samples[0]["ints"], model="digits").version) or seen_versions == {1, 2},
            what="both versions to answer under a 50/50 split")
        self.assertEqual(self.c.split("digits", None).weights, {})

        with self.assertRaises(Error) as cm:
            self.c.switch("digits", 9)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_asyncio_upload_and_evaluate(self):
        async def run():
            async with aio.Client(self.server.addr, token=self.server.token) as c:
                seen = []
                up = await c.upload("digits", DIGITS_V2, chunk_size=4096,
                                    progress=lambda sent, total: seen.append((sent, total)))
                self.assertEqual((up.model, up.version, up.files), ("digits", 2, 1))
                self.assertEqual(seen[-1], (up.size, up.size))
                buf = io.BytesIO()
                swc.build_archive(DIGITS_V2, buf)
                self.assertEqual(up.sha256, hashlib.sha256(buf.getvalue()).hexdigest())
                with self.assertRaises(Error) as cm:
                    await c.upload("digits", DIGITS_V2, version=1)  # version 1 exists
                self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
                return up
        asyncio.run(run())
        wait_for(lambda: self.served_version() == 2, what="version 2 to serve")

        async def evaluate():
            async with aio.Client(self.server.addr, token=self.server.token) as c:
                return await c.evaluate("digits", self.examples, details=True)
        ev = asyncio.run(evaluate())
        want = self.c.evaluate("digits", self.examples, details=True)
        self.assertEqual((ev.model, ev.version, ev.examples, ev.errors), ("digits", 2, 10, 0))
        self.assertEqual(ev, want, "the asyncio and sync clients evaluate alike")

    def test_upload_errors(self):
        with self.assertRaises(Error) as cm:
            self.c.upload("../escape", DIGITS_V2)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(Error) as cm:
            self.c.upload("digits", DIGITS_V2, version=1)  # version 1 exists
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        self.assertEqual([v.version for v in self.c.model("digits").versions], [1])


if __name__ == "__main__":
    unittest.main()
