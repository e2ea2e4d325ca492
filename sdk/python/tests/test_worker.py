"""End-to-end tests of the worker runtime: a real worker process over a unix socket."""

import os
import shutil
import sys
import tempfile
import threading
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swapwire.v1 import value_pb2
from swapwire.worker import _health
from swapwire.worker.v1 import worker_pb2, worker_pb2_grpc

from workerproc import WorkerProcess

OK = grpc.StatusCode.OK


def request(input=None, **option):
    req = worker_pb2.PredictRequest()
    if input is not None:
        req.input.CopyFrom(input)
    if option:
        req.option.update(option)
    return req


def text(s):
    return value_pb2.Value(text=s)


def ints(*xs):
    return value_pb2.Value(ints=value_pb2.Int64Array(values=xs))


def floats(*xs):
    return value_pb2.Value(floats=value_pb2.DoubleArray(values=xs))


def strings(*xs):
    return value_pb2.Value(strings=value_pb2.StringArray(values=xs))


class WorkerCase(unittest.TestCase):
    """Starts one worker for the class, serving MODEL on a unix socket."""

    MODEL = "testmodels:EchoModel"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="swapwire-worker-test-")
        cls.sock = os.path.join(cls.tmp, "w.sock")
        cls.worker = WorkerProcess(["-m", "swapwire.worker", "--model", cls.MODEL],
                                   "unix://" + cls.sock)
        cls.ready = cls.worker.ready_line()
        cls.channel = cls.worker.connect("unix:" + cls.sock)
        cls.stub = worker_pb2_grpc.WorkerServiceStub(cls.channel)
        cls.check = _health.check_stub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        code = cls.worker.terminate()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if code != 0:
            raise AssertionError("worker exited %d after SIGTERM; stderr:\n%s"
                                 % (code, cls.worker.drain_stderr()))

    def load(self, name="v1"):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        self.stub.Load(worker_pb2.LoadRequest(dir=d), timeout=10)
        return d

    def assert_code(self, code, fn, *args):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, timeout=10)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception.details()


class LifecycleTest(WorkerCase):
    """Handshake, health before and after Load, and a failed Load. Runs in order."""

    def test_1_ready_line(self):
        self.assertEqual(self.ready, "SWAPWIRE_WORKER|1|unix|" + self.sock)

    def test_2_info(self):
        info = self.stub.Info(worker_pb2.InfoRequest(), timeout=10)
        self.assertEqual(info.pid, self.worker.proc.pid)
        self.assertEqual(info.protocol_version, 1)
        self.assertFalse(info.batch)
        self.assertEqual(list(info.input_kinds), ["text", "data", "ints", "floats", "strings"])
        self.assertRegex(info.runtime, r"^python 3\.\d+\.\d+")

    def test_3_not_serving_before_load(self):
        for service in ("", "swapwire.worker.v1.WorkerService"):
            resp = self.check(_health.HealthCheckRequest(service=service), timeout=10)
            self.assertEqual(resp.status, _health.NOT_SERVING)
        self.assert_code(grpc.StatusCode.NOT_FOUND, self.check,
                         _health.HealthCheckRequest(service="nope"))
        details = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION,
                                   self.stub.Predict, request(text("x")))
        self.assertIn("Load", details)

    def test_4_failed_load(self):
        d = os.path.join(self.tmp, "bad-version")
        details = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Load,
                                   worker_pb2.LoadRequest(dir=d))
        self.assertEqual(details, "load %s: RuntimeError: cannot read weights in %s" % (d, d))
        resp = self.check(_health.HealthCheckRequest(), timeout=10)
        self.assertEqual(resp.status, _health.NOT_SERVING)
        # The traceback goes to stderr for the operator.
        self.worker.wait_stderr("Traceback")

    def test_5_load_then_serving(self):
        d = self.load("v2")
        resp = self.check(_health.HealthCheckRequest(), timeout=10)
        self.assertEqual(resp.status, _health.SERVING)
        out = self.stub.Predict(request(text("hi")), timeout=10)
        self.assertEqual(out.option["path"], d)

    def test_6_no_batch(self):
        req = worker_pb2.PredictBatchRequest(items=[request(text("a"))])
        self.assert_code(grpc.StatusCode.UNIMPLEMENTED, self.stub.PredictBatch, req)


class PredictTest(WorkerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = os.path.join(cls.tmp, "v1")
        os.makedirs(d)
        cls.stub.Load(worker_pb2.LoadRequest(dir=d), timeout=10)

    def predict(self, input, **option):
        return self.stub.Predict(request(input, **option), timeout=10)

    def test_input_kinds_reach_the_model_as_python_types(self):
        cases = [
            (text("héllo"), "str"),
            (value_pb2.Value(data=b"\x00\xff"), "bytes"),
            (ints(1, 2), "list"),
            (floats(1.5), "list"),
            (strings("a"), "list"),
        ]
        for value, want in cases:
            with self.subTest(value=value):
                self.assertEqual(self.predict(value, mode="type").output.text, want)

    def test_echo_maps_each_kind_back(self):
        # The label is the input, so each kind comes back as the same kind.
        for value in (text("héllo"), value_pb2.Value(data=b"\x00\xff"), ints(-1, 1 << 62),
                      floats(0.5, -2.25), strings("a", "b")):
            with self.subTest(value=value):
                out = self.predict(value)
                self.assertEqual(out.output, value)
                self.assertEqual(list(out.scores), [0.25, 0.75])

    def test_option_round_trip(self):
        out = self.predict(text("x"), mode="object", k=3, nested={"a": [1, "b", True]})
        echoed = out.option["option"]
        self.assertEqual(echoed["k"], 3)
        self.assertEqual(echoed["nested"]["a"][1], "b")
        self.assertIs(echoed["nested"]["a"][2], True)

    def test_result_shapes(self):
        out = self.predict(ints(4), mode="tuple")
        self.assertEqual(list(out.output.ints.values), [4])
        self.assertEqual(list(out.scores), [0.5])
        self.assertFalse(out.HasField("option"))

        out = self.predict(text("r"), mode="tuple3")
        self.assertEqual(out.option["rekcurd"], "json")

        out = self.predict(strings("s"), mode="dict")
        self.assertEqual(list(out.output.strings.values), ["s"])
        self.assertEqual(list(out.scores), [1.0, 2.0])

    def test_numpy_results(self):
        out = self.predict(text("x"), mode="numpy")
        self.assertEqual(list(out.output.ints.values), [7])
        self.assertEqual([round(s, 6) for s in out.scores], [0.1, 0.9])
        self.assertEqual(out.option["n"], 2.5)

    def test_errors_map_to_codes_and_the_worker_lives(self):
        cases = [
            ("value_error", grpc.StatusCode.INVALID_ARGUMENT, "want 3 numbers"),
            ("key_error", grpc.StatusCode.INVALID_ARGUMENT, "missing key 'needed'"),
            ("runtime_error", grpc.StatusCode.INTERNAL, "RuntimeError: boom"),
            ("not_found", grpc.StatusCode.NOT_FOUND, "no such thing"),
        ]
        for mode, code, details in cases:
            with self.subTest(mode=mode):
                got = self.assert_code(code, self.stub.Predict, request(text("x"), mode=mode))
                self.assertEqual(got, details)
        details = self.assert_code(grpc.StatusCode.INTERNAL, self.stub.Predict,
                                   request(text("x"), mode="bad_result"))
        self.assertTrue(details.startswith("bad predict result: predict returned object"),
                        details)
        self.assertEqual(self.predict(text("alive")).output.text, "alive")

    def test_empty_input_is_invalid(self):
        details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.Predict,
                                   request(None))
        self.assertIn("input is empty", details)

    def test_model_stdout_goes_to_stderr(self):
        out = self.predict(text("x"), mode="print")
        self.assertEqual(out.output.text, "printed")
        self.worker.wait_stderr("model chatter on stdout")
        self.assertTrue(self.worker.stdout.empty())


class BatchTest(WorkerCase):
    MODEL = "testmodels:BatchModel"

    def test_batch(self):
        info = self.stub.Info(worker_pb2.InfoRequest(), timeout=10)
        self.assertTrue(info.batch)
        self.load()
        items = [request(text("ab")), request(text("fail")), request(None),
                 request(text("internal")), request(text("xyz"))]
        resp = self.stub.PredictBatch(worker_pb2.PredictBatchRequest(items=items), timeout=10)
        self.assertEqual(len(resp.results), 5)
        r = resp.results
        self.assertEqual(r[0].response.output.text, "AB")
        self.assertEqual(list(r[0].response.scores), [2.0])
        self.assertFalse(r[0].HasField("error"))
        self.assertEqual((r[1].error.code, r[1].error.message),
                         (grpc.StatusCode.INVALID_ARGUMENT.value[0], "bad item"))
        self.assertFalse(r[1].HasField("response"))
        self.assertEqual(r[2].error.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertEqual((r[3].error.code, r[3].error.message),
                         (grpc.StatusCode.INTERNAL.value[0], "RuntimeError: item crashed"))
        self.assertEqual(r[4].response.output.text, "XYZ")

        items = [request(text("ok")), request(text("explode"))]
        details = self.assert_code(grpc.StatusCode.INTERNAL, self.stub.PredictBatch,
                                   worker_pb2.PredictBatchRequest(items=items))
        self.assertEqual(details, "RuntimeError: whole batch failed")
        # A single Predict still works on a batching model.
        self.assertEqual(self.stub.Predict(request(text("one")), timeout=10).output.text, "one")


class ShutdownTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="swapwire-worker-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start(self, addr, env=None):
        w = WorkerProcess(["-m", "swapwire.worker", "--model", "testmodels:EchoModel"],
                          addr, env=env)
        self.addCleanup(lambda: w.proc.poll() is None and w.proc.kill())
        return w

    def test_sigterm_finishes_the_in_flight_request_and_exits_0(self):
        sock = os.path.join(self.tmp, "w.sock")
        w = self.start("unix://" + sock)
        w.ready_line()
        channel = w.connect("unix:" + sock)
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        stub.Load(worker_pb2.LoadRequest(dir=self.tmp), timeout=10)
        release = os.path.join(self.tmp, "release")
        os.mkfifo(release)
        call = stub.Predict.future(request(text("x"), mode="block", release=release),
                                   timeout=20)
        w.wait_stderr("predict blocking")
        # While the model is busy, health is still answered.
        check = _health.check_stub(channel)
        self.assertEqual(check(_health.HealthCheckRequest(), timeout=10).status,
                         _health.SERVING)
        w.proc.send_signal(15)
        w.wait_stderr("SIGTERM: draining")
        released = threading.Thread(target=lambda: open(release, "w").close())
        released.start()
        self.assertEqual(call.result(timeout=20).output.text, "finished")
        released.join(10)
        # No second signal: the first one alone must end the process, with 0.
        self.assertEqual(w.proc.wait(timeout=20), 0)
        w.terminate()
        self.assertFalse(os.path.exists(sock), "the socket file is removed on exit")

    def test_tcp_port_zero_reports_the_bound_port(self):
        w = self.start("tcp://127.0.0.1:0")
        line = w.ready_line()
        prefix = "SWAPWIRE_WORKER|1|tcp|127.0.0.1:"
        self.assertTrue(line.startswith(prefix), line)
        port = int(line[len(prefix):])
        self.assertGreater(port, 0)
        stub = worker_pb2_grpc.WorkerServiceStub(w.connect("127.0.0.1:%d" % port))
        self.assertEqual(stub.Info(worker_pb2.InfoRequest(), timeout=10).pid, w.proc.pid)
        self.assertEqual(w.terminate(), 0)

    def test_wrong_protocol_exits_non_zero(self):
        w = self.start("unix://" + os.path.join(self.tmp, "w.sock"),
                       env={"SWAPWIRE_WORKER_PROTOCOL": "2"})
        self.assertEqual(w.proc.wait(timeout=20), 1)
        w.wait_stderr("speaks protocol 1")
        self.assertEqual(w.terminate(), 1)


if __name__ == "__main__":
    unittest.main()
