"""End-to-end tests of the worker runtime: a real worker process over a unix socket."""

import os
import shutil
import sys
import tempfile
import threading
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from google.protobuf import struct_pb2

from swapwire.v1 import value_pb2
from swapwire.worker._client import CallError
from swapwire.worker.v1 import worker_pb2

from workerproc import WorkerProcess

OK = grpc.StatusCode.OK


def request(input=None, **option):
    req = worker_pb2.PredictRequest()
    if input is not None:
        req.input.CopyFrom(input)
    if option:
        req.option.update(option)
    return req


def _len_field(number, payload):
    """One length-delimited field on the wire."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(n):
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def deep_option_call(depth, version):
    """A Call predicting text "x" with option {"a": {"a": ... {}}} nested
    depth times, encoded field by field (Struct.fields is a map of Value;
    Value.struct_value is a Struct)."""
    struct_fields = worker_pb2.PredictRequest.DESCRIPTOR.fields_by_name["option"] \
        .message_type.fields_by_name["fields"].number
    struct_value = struct_pb2.Value.DESCRIPTOR.fields_by_name["struct_value"].number
    struct = b""
    for _ in range(depth):
        entry = _len_field(1, b"a") + _len_field(2, _len_field(struct_value, struct))
        struct = _len_field(struct_fields, entry)
    predict = worker_pb2.PredictRequest(input=text("x"), version=version).SerializeToString()
    predict += _len_field(worker_pb2.PredictRequest.DESCRIPTOR.fields_by_name["option"].number,
                          struct)
    return worker_pb2.Call(id=7).SerializeToString() + _len_field(
        worker_pb2.Call.DESCRIPTOR.fields_by_name["predict"].number, predict)


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
    LOAD_V1 = False  # True: load the directory v1 once, before the tests

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="swapwire-worker-test-")
        cls.sock = os.path.join(cls.tmp, "w.sock")
        cls.worker = WorkerProcess(["-m", "swapwire.worker", "--model", cls.MODEL],
                                   "unix://" + cls.sock)
        cls.ready = cls.worker.ready_line()
        cls.stub = cls.worker.connect("unix:" + cls.sock)
        if cls.LOAD_V1:
            d = os.path.join(cls.tmp, "v1")
            os.makedirs(d)
            cls.stub.Load(worker_pb2.LoadRequest(dir=d), timeout=10)

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
        with self.assertRaises(CallError) as cm:
            fn(*args, timeout=10)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception.details()


class LifecycleTest(WorkerCase):
    """Handshake, Info before and after Load, and a failed Load. Runs in order."""

    def test_1_ready_line(self):
        self.assertEqual(self.ready, "SWAPWIRE_WORKER|2|unix|" + self.sock)

    def test_2_info(self):
        info = self.stub.Info(worker_pb2.InfoRequest(), timeout=10)
        self.assertEqual(info.pid, self.worker.proc.pid)
        self.assertEqual(info.protocol_version, 2)
        self.assertTrue(info.multi_version)
        self.assertEqual(list(info.versions), [])
        self.assertFalse(info.batch)
        self.assertFalse(info.packed_batch)
        self.assertEqual(list(info.input_kinds), ["text", "data", "ints", "floats", "strings"])
        self.assertRegex(info.runtime, r"^python 3\.\d+\.\d+")
        self.assertFalse(info.HasField("signature"))  # EchoModel declares none

    def test_3_not_serving_before_load(self):
        details = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION,
                                   self.stub.Predict, request(text("x")))
        self.assertIn("Load", details)

    def test_4_failed_load(self):
        d = os.path.join(self.tmp, "bad-version")
        details = self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Load,
                                   worker_pb2.LoadRequest(dir=d))
        self.assertEqual(details, "load %s: RuntimeError: cannot read weights in %s" % (d, d))
        self.assertEqual(list(self.stub.Info(timeout=10).versions), [])
        # The traceback goes to stderr for the operator.
        self.worker.wait_stderr("Traceback")

    def test_5_load_then_serving(self):
        d = self.load("v2")
        self.assertEqual(list(self.stub.Info(timeout=10).versions), [""])
        out = self.stub.Predict(request(text("hi")), timeout=10)
        self.assertEqual(out.option["path"], d)
        # A failed load of the same version keeps the one it had.
        bad = os.path.join(self.tmp, "bad-again")
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Load,
                         worker_pb2.LoadRequest(dir=bad))
        self.assertEqual(self.stub.Predict(request(text("hi")), timeout=10).option["path"], d)

    def test_6_no_batch(self):
        req = worker_pb2.PredictBatchRequest(items=[request(text("a"))])
        self.assert_code(grpc.StatusCode.UNIMPLEMENTED, self.stub.PredictBatch, req)


class PredictTest(WorkerCase):
    LOAD_V1 = True

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
        sig = info.signature
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in sig.inputs],
                         [("text", "BYTES", [-1])])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in sig.outputs],
                         [("label", "BYTES", [1])])
        self.assertEqual(sig.max_batch_size, 8)
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

        # Results the runtime cannot send fail only their own item, and
        # leave no half-filled response behind.
        items = [request(text("malformed")), request(text("ok")), request(text("big"))]
        r = self.stub.PredictBatch(worker_pb2.PredictBatchRequest(items=items), timeout=10).results
        self.assertEqual(r[0].error.code, grpc.StatusCode.INTERNAL.value[0])
        self.assertTrue(r[0].error.message.startswith("bad predict result: predict returned a tuple of 4"),
                        r[0].error.message)
        self.assertFalse(r[0].HasField("response"))
        self.assertEqual(r[1].response.output.text, "OK")
        self.assertEqual(r[2].error.code, grpc.StatusCode.INTERNAL.value[0])
        self.assertIn("does not fit in int64", r[2].error.message)
        self.assertFalse(r[2].HasField("response"))

        items = [request(text("ok")), request(text("explode"))]
        details = self.assert_code(grpc.StatusCode.INTERNAL, self.stub.PredictBatch,
                                   worker_pb2.PredictBatchRequest(items=items))
        self.assertEqual(details, "RuntimeError: whole batch failed")
        # A single Predict still works on a batching model.
        self.assertEqual(self.stub.Predict(request(text("one")), timeout=10).output.text, "one")


def packed(count, value):
    """A PredictBatchRequest whose inputs are packed into one Value."""
    req = worker_pb2.PredictBatchRequest()
    req.packed.count = count
    req.packed.values.CopyFrom(value)
    return req


class PackedTest(WorkerCase):
    """A batch of alike rows arrives packed into one array, and alike results
    go back packed; anything else goes back one result per item."""

    MODEL = "testmodels:PackedModel"
    LOAD_V1 = True

    def test_info_says_packed(self):
        info = self.stub.Info(worker_pb2.InfoRequest(), timeout=10)
        self.assertTrue(info.batch)
        self.assertTrue(info.packed_batch)

    def test_ints_in_packed_out(self):
        resp = self.stub.PredictBatch(packed(3, ints(1, 2, 3, 4, 5, 6, 7, 8, 9)), timeout=10)
        self.assertEqual(len(resp.results), 0)
        self.assertEqual(list(resp.packed.labels.ints.values), [6, 15, 24])
        self.assertEqual(list(resp.packed.scores), [1.0, 2.0, 4.0, 5.0, 7.0, 8.0])
        self.assertEqual(resp.packed.score_width, 2)

    def test_floats_in_float_labels_out(self):
        resp = self.stub.PredictBatch(packed(2, floats(-4.0, 1.5, -4.0, 2.5)), timeout=10)
        self.assertEqual(list(resp.packed.labels.floats.values), [-2.0, -1.0])
        self.assertEqual(list(resp.packed.scores), [-4.0, 1.5, -4.0, 2.5])

    def test_unlike_results_go_back_one_per_item(self):
        resp = self.stub.PredictBatch(packed(5, ints(1, 1, -1, 0, -2, 3, -3, 0, 2, 2)), timeout=10)
        self.assertFalse(resp.HasField("packed"))
        r = resp.results
        self.assertEqual(len(r), 5)
        self.assertEqual(list(r[0].response.output.ints.values), [2])
        self.assertEqual(list(r[0].response.scores), [1.0, 1.0])
        self.assertEqual((r[1].error.code, r[1].error.message),
                         (grpc.StatusCode.INVALID_ARGUMENT.value[0], "bad row"))
        self.assertEqual(list(r[2].response.output.ints.values), [1])
        self.assertEqual(dict(r[2].response.option), {"note": "an option"})
        self.assertEqual(r[3].error.code, grpc.StatusCode.INTERNAL.value[0])
        self.assertIn("does not fit in int64", r[3].error.message)
        self.assertFalse(r[3].HasField("response"))
        self.assertEqual(list(r[4].response.output.ints.values), [4])

    def test_mixed_label_kinds_go_back_one_per_item(self):
        resp = self.stub.PredictBatch(packed(2, floats(1.0, 2.0, -4.0, 0.0)), timeout=10)
        self.assertFalse(resp.HasField("packed"))
        self.assertEqual(list(resp.results[0].response.output.ints.values), [3])
        self.assertEqual(list(resp.results[1].response.output.floats.values), [-3.5])

    def test_malformed_packed_inputs_are_invalid(self):
        for req, want in [(packed(2, ints(1, 2, 3)), "3 elements do not split into 2 items"),
                          (packed(0, ints()), "do not split into 0 items"),
                          (packed(1, strings("a")), "packed inputs of kind strings")]:
            details = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.PredictBatch, req)
            self.assertIn(want, details)


def tensors(*named):
    """A PredictRequest carrying named tensors, given (name, shape, value) triples."""
    req = worker_pb2.PredictRequest()
    for name, shape, value in named:
        req.inputs.add(name=name, shape=shape, value=value)
    return req


class TensorsTest(WorkerCase):
    """Named tensors (PredictRequest.inputs) reach the model as a dict of Tensor."""

    MODEL = "testmodels:SimpleModel"
    LOAD_V1 = True

    def test_info_declares_two_inputs(self):
        sig = self.stub.Info(worker_pb2.InfoRequest(), timeout=10).signature
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in sig.inputs],
                         [("INPUT0", "INT32", [16]), ("INPUT1", "INT32", [16])])
        self.assertEqual(sig.max_batch_size, 8)

    def test_predict(self):
        # INPUT1 first: the model gets the request's order.
        out = self.stub.Predict(tensors(("INPUT1", [16], ints(*[1] * 16)),
                                        ("INPUT0", [16], ints(*range(16)))), timeout=10)
        self.assertEqual(list(out.output.ints.values), [i + 1 for i in range(16)])
        self.assertEqual(list(out.scores), [float(i - 1) for i in range(16)])
        self.assertEqual(list(out.option["order"]), ["INPUT1", "INPUT0"])
        seen = out.option["seen"]["INPUT0"]
        self.assertEqual((seen["name"], list(seen["shape"]), seen["type"]), ("INPUT0", [16], "Tensor"))

    def test_predict_batch(self):
        items = [tensors(("INPUT0", [2], ints(1, 2)), ("INPUT1", [2], ints(10, 20))),
                 tensors(("INPUT0", [2], ints(5, 5))),  # INPUT1 missing: the model's KeyError
                 tensors(("INPUT0", [1], ints(3)), ("INPUT1", [1], value_pb2.Value())),
                 tensors(("INPUT0", [1], ints(7)), ("INPUT1", [1], ints(-7)))]
        resp = self.stub.PredictBatch(worker_pb2.PredictBatchRequest(items=items), timeout=10)
        r = resp.results
        self.assertEqual(len(r), 4)
        self.assertEqual(list(r[0].response.output.ints.values), [11, 22])
        self.assertEqual(list(r[0].response.scores), [-9.0, -18.0])
        self.assertEqual((r[1].error.code, r[1].error.message),
                         (grpc.StatusCode.INVALID_ARGUMENT.value[0], "missing key 'INPUT1'"))
        self.assertEqual(r[2].error.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn("input 'INPUT1': input is empty", r[2].error.message)
        self.assertEqual(list(r[3].response.output.ints.values), [0])

    def test_malformed_tensors_are_invalid(self):
        cases = [
            (tensors(("INPUT0", [1], ints(1)), ("INPUT0", [1], ints(2))), "input 'INPUT0' is given twice"),
            (tensors(("", [1], ints(1))), "named input 0 has no name"),
        ]
        both = tensors(("INPUT0", [1], ints(1)))
        both.input.CopyFrom(ints(1))
        cases.append((both, "the request sets both input and inputs; set one"))
        for req, want in cases:
            with self.subTest(want=want):
                got = self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, self.stub.Predict, req)
                self.assertEqual(got, want)


class VersionsTest(WorkerCase):
    """An attached worker given a model class holds each version separately."""

    def load_version(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        self.stub.Load(worker_pb2.LoadRequest(dir=d, version=name), timeout=10)
        return d

    def path_of(self, version):
        req = request(text("x"))
        req.version = version
        return self.stub.Predict(req, timeout=10).option["path"]

    def test_versions(self):
        d1 = self.load_version("v1")
        d2 = self.load_version("v2")
        self.assertTrue({"v1", "v2"} <= set(self.stub.Info(timeout=10).versions))
        self.assertEqual(self.path_of("v1"), d1)
        self.assertEqual(self.path_of("v2"), d2)
        # A request that names no version is ambiguous now.
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Predict, request(text("x")))
        # A failed load of a third, or of v2 again, drops nothing.
        for name in ("bad-v3", "v2"):
            bad = os.path.join(self.tmp, "bad-" + name)
            self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Load,
                             worker_pb2.LoadRequest(dir=bad, version=name))
        self.assertEqual(self.path_of("v1"), d1)
        self.assertEqual(self.path_of("v2"), d2)
        self.stub.Unload(worker_pb2.UnloadRequest(version="v1"), timeout=10)
        self.assert_code(grpc.StatusCode.FAILED_PRECONDITION, self.stub.Predict,
                         worker_pb2.PredictRequest(input=text("x"), version="v1"))
        self.assertEqual(self.path_of("v2"), d2)
        held = self.stub.Info(timeout=10).versions
        self.assertIn("v2", held)
        self.assertNotIn("v1", held)

    def test_decode_errors(self):
        self.load_version("v9")
        # 100 nested options: over the protobuf runtime's recursion limit.
        # Encoded by hand: Struct.update and SerializeToString take time
        # exponential in the depth on the pure-Python runtime (map entries
        # copy their values), which scripts/check-python-protobuf.sh uses.
        reply = self.stub.send_raw(deep_option_call(100, version="v9"))
        self.assertEqual(reply.error.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn("does not parse", reply.error.message)
        # The same at depth 10 parses and reaches the model (which echoes it).
        reply = self.stub.send_raw(deep_option_call(10, version="v9"))
        self.assertFalse(reply.HasField("error"), reply.error.message)
        self.assertEqual(reply.id, 7)
        echoed, depth = reply.predict.option["option"], 0
        while "a" in echoed:
            echoed, depth = echoed["a"], depth + 1
        self.assertEqual(depth, 10)
        # Over the size limit: dropped unread, and the connection lives on.
        big = worker_pb2.Call(id=1, predict=worker_pb2.PredictRequest(
            input=value_pb2.Value(data=b"\0" * ((64 << 20) + 1))))
        reply = self.stub.send_raw(big.SerializeToString())
        self.assertEqual(reply.error.code, grpc.StatusCode.RESOURCE_EXHAUSTED.value[0])
        self.assertEqual(self.path_of("v9"), os.path.join(self.tmp, "v9"))


class StalledPeerTest(unittest.TestCase):
    """A peer that sends half a frame and stalls loses its connection after the
    I/O timeout; the worker answers the others meanwhile and afterwards."""

    def test_stalled_peer(self):
        from swapwire.worker._client import Client
        from swapwire.worker._server import Worker
        from testmodels import EchoModel

        tmp = tempfile.mkdtemp(prefix="swapwire-worker-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        sock = os.path.join(tmp, "w.sock")
        worker = Worker(EchoModel, "unix://" + sock, io_timeout=0.3)
        server = threading.Thread(target=worker.serve_forever)
        server.start()
        self.addCleanup(server.join, 10)
        self.addCleanup(worker.stop)
        stalled = Client("unix://" + sock, timeout=10)
        self.addCleanup(stalled.close)
        stalled.sock.sendall(b"\0\0")  # half a length prefix, then nothing
        good = Client("unix://" + sock, timeout=10)
        self.addCleanup(good.close)
        good.Load(worker_pb2.LoadRequest(dir=tmp), timeout=10)
        self.assertEqual(good.Predict(request(text("x")), timeout=10).output.text, "x")
        # The stalled connection was closed by the worker.
        stalled.sock.settimeout(10)
        self.assertEqual(stalled.sock.recv(1), b"")


class ReplyLimitTest(unittest.TestCase):
    """A reply over the worker's message limit is replaced by RESOURCE_EXHAUSTED,
    and a reply at the limit goes out whole."""

    def test_reply_limit(self):
        from swapwire.worker._server import Worker
        from testmodels import EchoModel

        tmp = tempfile.mkdtemp(prefix="swapwire-worker-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        call = worker_pb2.Call(id=3, predict=request(text("y" * 500)))
        call.predict.option["mode"] = "tuple"  # the label alone: no path in the reply
        worker = Worker(EchoModel, "unix://" + os.path.join(tmp, "w.sock"))
        self.addCleanup(worker.stop)
        worker.models.load(worker_pb2.LoadRequest(dir=tmp))
        whole = worker._answer(call.SerializeToString())
        reply = worker_pb2.Reply.FromString(whole)
        self.assertEqual(reply.predict.output.text, "y" * 500)
        worker.max_message_bytes = len(whole)
        self.assertEqual(worker._answer(call.SerializeToString()), whole)
        worker.max_message_bytes = len(whole) - 1
        reply = worker_pb2.Reply.FromString(worker._answer(call.SerializeToString()))
        self.assertEqual((reply.id, reply.error.code), (3, grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]))
        self.assertEqual(reply.error.message, "the reply is %d bytes, over the worker's limit of %d"
                         % (len(whole), len(whole) - 1))


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
        stub = w.connect("unix:" + sock)
        stub.Load(worker_pb2.LoadRequest(dir=self.tmp), timeout=10)
        release = os.path.join(self.tmp, "release")
        os.mkfifo(release)
        answer = {}

        def call():
            try:
                answer["out"] = stub.Predict(request(text("x"), mode="block", release=release),
                                             timeout=20)
            except Exception as exc:  # reported by the assertion below
                answer["err"] = exc

        caller = threading.Thread(target=call)
        caller.start()
        w.wait_stderr("predict blocking")
        w.proc.send_signal(15)
        released = threading.Thread(target=lambda: open(release, "w").close())
        released.start()
        caller.join(20)
        self.assertEqual(answer.get("out") and answer["out"].output.text, "finished", answer)
        released.join(10)
        w.wait_stderr("SIGTERM: finishing the call in progress")
        # No second signal: the first one alone must end the process, with 0.
        self.assertEqual(w.proc.wait(timeout=20), 0)
        w.terminate()
        self.assertFalse(os.path.exists(sock), "the socket file is removed on exit")

    def test_tcp_port_zero_reports_the_bound_port(self):
        w = self.start("tcp://127.0.0.1:0")
        line = w.ready_line()
        prefix = "SWAPWIRE_WORKER|2|tcp|127.0.0.1:"
        self.assertTrue(line.startswith(prefix), line)
        port = int(line[len(prefix):])
        self.assertGreater(port, 0)
        stub = w.connect("127.0.0.1:%d" % port)
        self.assertEqual(stub.Info(worker_pb2.InfoRequest(), timeout=10).pid, w.proc.pid)
        self.assertEqual(w.terminate(), 0)

    def test_wrong_protocol_exits_non_zero(self):
        w = self.start("unix://" + os.path.join(self.tmp, "w.sock"),
                       env={"SWAPWIRE_WORKER_PROTOCOL": "1"})
        self.assertEqual(w.proc.wait(timeout=20), 1)
        w.wait_stderr("speaks protocol 2")
        self.assertEqual(w.terminate(), 1)


if __name__ == "__main__":
    unittest.main()
