"""In-process tests of the value mapping between Python results and the wire."""

import os
import sys
import unittest

import grpc
from google.protobuf import struct_pb2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swapwire.v1 import value_pb2  # noqa: E402
from swapwire.worker import Error, PredictResult, Tensor, _convert  # noqa: E402
from swapwire.worker.v1 import worker_pb2  # noqa: E402
from swapwire.worker._server import parse_addr, status_of  # noqa: E402


class LabelTest(unittest.TestCase):
    def test_kinds(self):
        cases = [
            ("seven", "text", "seven"),
            (b"\x01", "data", b"\x01"),
            (7, "ints", [7]),
            (True, "ints", [1]),
            (0.5, "floats", [0.5]),
            ([1, 2], "ints", [1, 2]),
            ((1, 2.5), "floats", [1.0, 2.5]),
            (["a", "b"], "strings", ["a", "b"]),
            ([], "floats", []),
        ]
        for label, kind, want in cases:
            with self.subTest(label=label):
                v = _convert.value_from_label(label)
                self.assertEqual(v.WhichOneof("kind"), kind)
                got = getattr(v, kind)
                self.assertEqual(list(got.values) if hasattr(got, "values") else got, want)

    def test_none_leaves_the_value_empty(self):
        self.assertIsNone(_convert.value_from_label(None).WhichOneof("kind"))

    def test_rejects(self):
        for label in (["a", 1], [[1, 2]], {"a": 1}, 1 << 63, object()):
            with self.subTest(label=label):
                with self.assertRaises(TypeError):
                    _convert.value_from_label(label)

    def test_numpy(self):
        try:
            import numpy as np
        except ImportError:
            self.skipTest("numpy is not installed")
        self.assertEqual(list(_convert.value_from_label(np.int32(3)).ints.values), [3])
        self.assertEqual(list(_convert.value_from_label(np.array([1, 2])).ints.values), [1, 2])
        self.assertEqual(list(_convert.value_from_label(np.float32(0.5)).floats.values), [0.5])
        self.assertEqual(list(_convert.value_from_label(np.array(["x"])).strings.values), ["x"])
        self.assertEqual(_convert.scores_from(np.array([0.25, 0.75])), [0.25, 0.75])


class ScoreAndOptionTest(unittest.TestCase):
    def test_scores(self):
        self.assertEqual(_convert.scores_from(None), [])
        self.assertEqual(_convert.scores_from(1), [1.0])
        self.assertEqual(_convert.scores_from([1, 0.5]), [1.0, 0.5])
        with self.assertRaises(TypeError):
            _convert.scores_from(["high"])

    def test_option_in_turns_integral_numbers_into_int(self):
        s = struct_pb2.Struct()
        s.update({"k": 3, "t": 0.5, "l": [1, "x", None], "n": {"b": True}})
        got = _convert.option_from_struct(s)
        self.assertEqual(got, {"k": 3, "t": 0.5, "l": [1, "x", None], "n": {"b": True}})
        self.assertIsInstance(got["k"], int)
        self.assertEqual(_convert.option_from_struct(s, present=False), {})

    def test_option_out_accepts_dict_or_json_text(self):
        for option in ({"a": [1, 2]}, '{"a": [1, 2]}'):
            r = _convert.response_from_result(PredictResult("x", 1.0, option))
            self.assertEqual(list(r.option["a"]), [1.0, 2.0])
        with self.assertRaises(TypeError):
            _convert.response_from_result(("x", 1.0, {"nan": float("nan")}))

    def test_result_shapes(self):
        for result in (PredictResult("x", 0.5), ("x", 0.5), ("x", 0.5, None),
                       {"label": "x", "score": 0.5}):
            with self.subTest(result=result):
                r = _convert.response_from_result(result)
                self.assertEqual((r.output.text, list(r.scores)), ("x", [0.5]))
        for bad in (("x",), {"lable": "x"}, {"label": "x", "scores": 1}, "x"):
            with self.subTest(bad=bad):
                with self.assertRaises(TypeError):
                    _convert.response_from_result(bad)

    def test_input(self):
        self.assertEqual(_convert.input_from_value(value_pb2.Value(text="t")), "t")
        with self.assertRaises(ValueError):
            _convert.input_from_value(value_pb2.Value())

    def test_input_tensors(self):
        req = worker_pb2.PredictRequest()
        req.inputs.add(name="b", shape=[2, 2], value=value_pb2.Value(ints=value_pb2.Int64Array(values=[1, 2, 3, 4])))
        req.inputs.add(name="a", shape=[1], value=value_pb2.Value(text="row"))
        req.inputs.add(name="f", value=value_pb2.Value(floats=value_pb2.DoubleArray(values=[0.5])))
        got = _convert.input_from_request(req)
        self.assertEqual(list(got), ["b", "a", "f"])  # the request's order
        self.assertEqual(got["b"], Tensor("b", (2, 2), [1, 2, 3, 4]))
        self.assertEqual(got["a"], Tensor(name="a", shape=(1,), values="row"))
        self.assertEqual(got["f"].shape, ())
        self.assertEqual(got["f"].values, [0.5])
        self.assertIsInstance(got["b"].shape, tuple)
        # One value stays one value.
        self.assertEqual(_convert.input_from_request(worker_pb2.PredictRequest(input=value_pb2.Value(text="t"))), "t")

    def test_input_tensors_rejects(self):
        one = value_pb2.Value(ints=value_pb2.Int64Array(values=[1]))
        cases = [
            (worker_pb2.PredictRequest(), "input is empty"),
            (worker_pb2.PredictRequest(input=one, inputs=[worker_pb2.Tensor(name="a", value=one)]),
             "both input and inputs"),
            (worker_pb2.PredictRequest(inputs=[worker_pb2.Tensor(value=one)]), "named input 0 has no name"),
            (worker_pb2.PredictRequest(inputs=[worker_pb2.Tensor(name="a", value=one),
                                               worker_pb2.Tensor(name="a", value=one)]),
             "input 'a' is given twice"),
            (worker_pb2.PredictRequest(inputs=[worker_pb2.Tensor(name="a")]), "input 'a': input is empty"),
        ]
        for req, want in cases:
            with self.subTest(want=want):
                with self.assertRaises(ValueError) as cm:
                    _convert.input_from_request(req)
                self.assertIn(want, str(cm.exception))


class StatusTest(unittest.TestCase):
    def test_status_of(self):
        C = grpc.StatusCode
        self.assertEqual(status_of(ValueError("v")), (C.INVALID_ARGUMENT, "v"))
        self.assertEqual(status_of(TypeError()), (C.INVALID_ARGUMENT, "TypeError"))
        self.assertEqual(status_of(KeyError("k")), (C.INVALID_ARGUMENT, "missing key 'k'"))
        self.assertEqual(status_of(Error(C.UNAVAILABLE, "busy")), (C.UNAVAILABLE, "busy"))
        self.assertEqual(status_of(Error(8, "full")), (C.RESOURCE_EXHAUSTED, "full"))
        self.assertEqual(status_of(Error(0, "ok?")), (C.UNKNOWN, "ok?"))
        self.assertEqual(status_of(ZeroDivisionError("division by zero")),
                         (C.INTERNAL, "ZeroDivisionError: division by zero"))

    def test_parse_addr(self):
        self.assertEqual(parse_addr("unix:///tmp/w.sock"), ("unix", "/tmp/w.sock"))
        self.assertEqual(parse_addr("tcp://127.0.0.1:0"), ("tcp", "127.0.0.1:0"))
        for bad in ("unix://rel.sock", "tcp://127.0.0.1", "127.0.0.1:80", "tcp://:80"):
            with self.subTest(addr=bad):
                with self.assertRaises(ValueError):
                    parse_addr(bad)


if __name__ == "__main__":
    unittest.main()
