"""Rekcurd compatibility: a grpcio client built from proto/rekcurd/rekcurd.proto
(stubs in swapwire.rekcurd) against a real Swapwire server, sending the
metadata an unmodified Rekcurd client sends.

The server is sdk/python/tests/rekcurdserver (built with `go build`): five
models named after the Rekcurd output forms (string, bytes, arr_int,
arr_float, arr_string), chosen by the x-rekcurd-application-name header, that
convert any input to their form. Its doc comment has the conversion table.
Without a go toolchain these tests are skipped, unless $CI is set.
"""

import json
import os
import secrets
import shutil
import sys
import tempfile
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from swapwire.rekcurd import rekcurd_pb2, rekcurd_pb2_grpc

from test_client import GoServer, go_build, require_go

SERVER_PKG = "./sdk/python/tests/rekcurdserver"
MODELS = ["string", "bytes", "arr_int", "arr_float", "arr_string"]


def metadata(app, level="development"):
    """The headers rekcurd's client sends on every call (the typo is upstream's)."""
    return (("x-rekcurd-application-name", app),
            ("x-rekcurd-sevice-level", level),
            ("x-rekcurd-grpc-version", "v2"))


def option(**kw):
    return rekcurd_pb2.Option(val=json.dumps(kw))


def start_server(case):
    require_go(case)
    case.store = tempfile.mkdtemp(prefix="swapwire-pytest-rekcurd-")
    case.token = secrets.token_hex(16)
    case.server = GoServer(go_build(SERVER_PKG), ["--store", case.store, "--listen", "{addr}"],
                           token=case.token)
    for m in MODELS:
        case.server.wait_serving(m, 30)
    case.channel = grpc.insecure_channel(case.server.addr)
    case.worker = rekcurd_pb2_grpc.RekcurdWorkerStub(case.channel)
    case.dashboard = rekcurd_pb2_grpc.RekcurdDashboardStub(case.channel)
    case.health = rekcurd_pb2_grpc.HealthStub(case.channel)


def stop_server(case):
    case.channel.close()
    case.server.stop()
    shutil.rmtree(case.store, ignore_errors=True)


# The inputs, one per Rekcurd input form, and what each model answers.
INPUTS = {
    "String": "hi there",
    "Bytes": b"hello",
    "ArrInt": [1, -2, 300],
    "ArrFloat": [1.5, -2.25],          # exact in float32
    "ArrString": ["ab", "cde"],
}
EXPECTED = {  # input form -> output form -> label
    "String": {"String": "hi there", "Bytes": b"hi there",
               "ArrInt": [104, 105, 32, 116, 104, 101, 114, 101],
               "ArrFloat": [104.5, 105.5, 32.5, 116.5, 104.5, 101.5, 114.5, 101.5],
               "ArrString": ["hi", "there"]},
    "Bytes": {"String": "hello", "Bytes": b"hello", "ArrInt": [104, 101, 108, 108, 111],
              "ArrFloat": [104.5, 101.5, 108.5, 108.5, 111.5],
              "ArrString": ["68", "65", "6c", "6c", "6f"]},
    "ArrInt": {"String": "1,-2,300", "Bytes": b"1,-2,300", "ArrInt": [1, -2, 300],
               "ArrFloat": [1.5, -1.5, 300.5], "ArrString": ["1", "-2", "300"]},
    "ArrFloat": {"String": "1.5,-2.25", "Bytes": b"1.5,-2.25", "ArrInt": [2, -2],
                 "ArrFloat": [1.5, -2.25], "ArrString": ["1.5", "-2.25"]},
    "ArrString": {"String": "ab cde", "Bytes": b"ab cde", "ArrInt": [2, 3],
                  "ArrFloat": [2.5, 3.5], "ArrString": ["ab", "cde"]},
}
MODEL_FOR = {"String": "string", "Bytes": "bytes", "ArrInt": "arr_int",
             "ArrFloat": "arr_float", "ArrString": "arr_string"}
INPUT_MESSAGE = {"String": rekcurd_pb2.StringInput, "ArrInt": rekcurd_pb2.ArrIntInput,
                 "ArrFloat": rekcurd_pb2.ArrFloatInput, "ArrString": rekcurd_pb2.ArrStringInput}


def call(worker, in_form, out_form, value, opt, md, timeout=10):
    """Calls Predict_<in>_<out> as a Rekcurd client does and returns
    (label, score, option dict): bytes inputs go as a stream of chunks, bytes
    outputs come back as a stream that is joined."""
    method = getattr(worker, "Predict_%s_%s" % (in_form, out_form))
    if in_form == "Bytes":
        half = len(value) // 2
        req = iter([rekcurd_pb2.BytesInput(input=value[:half], option=opt),
                    rekcurd_pb2.BytesInput(input=value[half:])])
    else:
        req = INPUT_MESSAGE[in_form](input=value, option=opt)
    resp = method(req, timeout=timeout, metadata=md)
    if out_form == "Bytes":
        chunks = list(resp)
        assert chunks, "no BytesOutput message"
        return (b"".join(c.output for c in chunks), chunks[0].score,
                json.loads(chunks[0].option.val))
    label = resp.output if out_form == "String" else list(resp.output)
    score = resp.score if out_form == "String" else list(resp.score)
    return label, score, json.loads(resp.option.val)


class RekcurdWorkerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        start_server(cls)
        cls.addClassCleanup(stop_server, cls)

    def test_all_25_methods(self):
        names = [m.name for m in
                 rekcurd_pb2.DESCRIPTOR.services_by_name["RekcurdWorker"].methods]
        self.assertEqual(len(names), 25)
        done = []
        for in_form, value in INPUTS.items():
            for out_form, want in EXPECTED[in_form].items():
                model = MODEL_FOR[out_form]
                with self.subTest(method="Predict_%s_%s" % (in_form, out_form)):
                    label, score, opt = call(self.worker, in_form, out_form, value,
                                             option(k=1, tag=in_form), metadata(model))
                    self.assertEqual(label, want)
                    if out_form in ("String", "Bytes"):
                        self.assertEqual(score, 1.0)
                    else:
                        self.assertEqual(score, [1.0] * len(want))
                    self.assertEqual(opt, {"k": 1, "tag": in_form, "model": model})
                    done.append("Predict_%s_%s" % (in_form, out_form))
        self.assertEqual(sorted(done), sorted(names))

    def test_empty_option(self):
        # An unmodified Rekcurd client sends option "{}"; and some send none.
        label, score, opt = call(self.worker, "String", "String", "x",
                                 rekcurd_pb2.Option(val="{}"), metadata("string"))
        self.assertEqual((label, score, opt), ("x", 1.0, {"model": "string"}))
        resp = self.worker.Predict_String_String(rekcurd_pb2.StringInput(input="y"), timeout=10,
                                                 metadata=metadata("string"))
        self.assertEqual(resp.output, "y")

    def test_routing(self):
        # The application name picks the model; an unknown one gets the default (string).
        label, _, opt = call(self.worker, "String", "String", "a b", option(),
                             metadata("no-such-app"))
        self.assertEqual((label, opt["model"]), ("a b", "string"))
        label, _, _ = call(self.worker, "String", "ArrString", "a b", option(),
                           metadata("arr_string"))
        self.assertEqual(label, ["a", "b"])

    def test_large_bytes(self):
        data = bytes(range(256)) * 12289  # > 3 MiB: more than one 1 MiB output chunk
        chunks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
        req = iter([rekcurd_pb2.BytesInput(input=c, option=option()) for c in chunks])
        out = list(self.worker.Predict_Bytes_Bytes(req, timeout=30, metadata=metadata("bytes")))
        self.assertGreater(len(out), 1)
        self.assertEqual(b"".join(o.output for o in out), data)

    def test_errors(self):
        cases = [
            # the model's label kind does not fit the method's output form
            (lambda: self.worker.Predict_String_ArrInt(
                rekcurd_pb2.StringInput(input="x", option=option()), timeout=10,
                metadata=metadata("string")), grpc.StatusCode.INVALID_ARGUMENT),
            # option is not JSON
            (lambda: self.worker.Predict_String_String(
                rekcurd_pb2.StringInput(input="x", option=rekcurd_pb2.Option(val="{not json")),
                timeout=10, metadata=metadata("string")), grpc.StatusCode.INVALID_ARGUMENT),
            # an int that does not fit int32 on the way out
            (lambda: self.worker.Predict_ArrFloat_ArrInt(
                rekcurd_pb2.ArrFloatInput(input=[3e10], option=option()), timeout=10,
                metadata=metadata("arr_int")), grpc.StatusCode.INVALID_ARGUMENT),
        ]
        for i, (fn, code) in enumerate(cases):
            with self.subTest(case=i):
                with self.assertRaises(grpc.RpcError) as cm:
                    fn()
                self.assertEqual(cm.exception.code(), code, cm.exception.details())

    def test_health(self):
        resp = self.health.Check(rekcurd_pb2.HealthCheckRequest(), timeout=10,
                                 metadata=metadata("string"))
        self.assertEqual(resp.status, rekcurd_pb2.HealthCheckResponse.SERVING)
        resp = self.health.Check(rekcurd_pb2.HealthCheckRequest(service="arr_float"), timeout=10)
        self.assertEqual(resp.status, rekcurd_pb2.HealthCheckResponse.SERVING)


class RekcurdDashboardTest(unittest.TestCase):
    def setUp(self):
        start_server(self)
        self.addCleanup(stop_server, self)

    def score(self, app="arr_float"):
        _, score, _ = call(self.worker, "ArrInt", "ArrFloat", [1], option(), metadata(app))
        return score[0]

    def test_service_info(self):
        r = self.dashboard.ServiceInfo(rekcurd_pb2.ServiceInfoRequest(), timeout=10,
                                       metadata=metadata("arr_int", "staging"))
        self.assertEqual((r.application_name, r.service_name, r.service_level),
                         ("arr_int", "rekcurd-test", "staging"))

    def test_upload_and_switch(self):
        # Dashboard writes need an admin identity: the test server's token.
        md = metadata("arr_float") + (("authorization", "Bearer " + self.token),)
        self.assertEqual(self.score(), 1.0)
        # Rekcurd uploads a model file in chunks, each naming the path.
        resp = self.dashboard.UploadModel(iter([
            rekcurd_pb2.UploadModelRequest(path="arr_float/scale-v2/scale.txt", data=b"2."),
            rekcurd_pb2.UploadModelRequest(path="arr_float/scale-v2/scale.txt", data=b"5\n"),
        ]), timeout=10, metadata=md)
        self.assertEqual(resp.status, 1, resp.message)
        self.assertIn("version 2", resp.message)

        # SwitchModel by the uploaded path answers once that version serves.
        resp = self.dashboard.SwitchModel(
            rekcurd_pb2.SwitchModelRequest(path="arr_float/scale-v2/scale.txt"),
            timeout=30, metadata=md)
        self.assertEqual(resp.status, 1, resp.message)
        self.assertEqual(self.score(), 2.5)
        # ... and by version.
        resp = self.dashboard.SwitchModel(rekcurd_pb2.SwitchModelRequest(path="v1"),
                                          timeout=30, metadata=md)
        self.assertEqual(resp.status, 1, resp.message)
        self.assertEqual(self.score(), 1.0)
        # The other models were not touched.
        _, score, _ = call(self.worker, "String", "ArrInt", "ab", option(), metadata("arr_int"))
        self.assertEqual(score, [1.0, 1.0])

        for path, code in [("v9", grpc.StatusCode.NOT_FOUND),
                           ("../escape", grpc.StatusCode.INVALID_ARGUMENT),
                           ("no/such/file.bin", grpc.StatusCode.NOT_FOUND)]:
            with self.subTest(path=path):
                with self.assertRaises(grpc.RpcError) as cm:
                    self.dashboard.SwitchModel(rekcurd_pb2.SwitchModelRequest(path=path),
                                               timeout=10, metadata=md)
                self.assertEqual(cm.exception.code(), code, cm.exception.details())
        self.assertEqual(self.score(), 1.0)

    def test_evaluation(self):
        md = metadata("string") + (("authorization", "Bearer " + self.token),)
        lines = [{"ints": [1, 2, 3], "label": "1,2,3"},
                 {"text": "cat", "label": "cat"},
                 {"text": "dog", "label": "cat"},
                 {"strings": ["a", "b"], "label": "a b"}]
        data = "".join(json.dumps(x) + "\n" for x in lines).encode()
        resp = self.dashboard.UploadEvaluationData(iter([
            rekcurd_pb2.UploadEvaluationDataRequest(data=data[:20], data_path="eval/data.jsonl"),
            rekcurd_pb2.UploadEvaluationDataRequest(data=data[20:], data_path="eval/data.jsonl"),
        ]), timeout=10, metadata=md)
        self.assertEqual(resp.status, 1, resp.message)

        resp = self.dashboard.EvaluateModel(iter([rekcurd_pb2.EvaluateModelRequest(
            data_path="eval/data.jsonl", result_path="eval/result-1")]), timeout=30, metadata=md)
        m = resp.metrics
        self.assertEqual(m.num, 4)
        self.assertAlmostEqual(m.accuracy, 0.75, places=6)
        # One entry per label, expected or predicted, sorted.
        self.assertEqual([list(io.str.val) for io in m.label],
                         [["1,2,3"], ["a b"], ["cat"], ["dog"]])
        self.assertEqual([round(x, 4) for x in m.precision], [1.0, 1.0, 1.0, 0.0])
        self.assertEqual([round(x, 4) for x in m.recall], [1.0, 1.0, 0.5, 0.0])
        self.assertEqual([round(x, 4) for x in m.fvalue], [1.0, 1.0, 0.6667, 0.0])
        self.assertEqual(dict(m.option), {"errors": 0.0, "version": 1.0})

        results = list(self.dashboard.EvaluationResult(rekcurd_pb2.EvaluationResultRequest(
            data_path="eval/data.jsonl", result_path="eval/result-1"), timeout=10, metadata=md))
        details = [d for r in results for d in r.detail]
        self.assertEqual([d.is_correct for d in details], [True, True, False, True])
        self.assertEqual(list(details[0].input.tensor.val), [1.0, 2.0, 3.0])
        self.assertEqual(list(details[1].input.str.val), ["cat"])
        self.assertEqual(list(details[2].output.str.val), ["dog"])
        self.assertEqual(list(details[2].label.str.val), ["cat"])
        self.assertEqual(list(details[0].score), [1.0])
        self.assertAlmostEqual(results[0].metrics.accuracy, 0.75, places=6)

        with self.assertRaises(grpc.RpcError) as cm:
            self.dashboard.EvaluateModel(iter([rekcurd_pb2.EvaluateModelRequest(
                data_path="eval/missing.jsonl", result_path="eval/r")]), timeout=10, metadata=md)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as cm:
            self.dashboard.UploadEvaluationData(iter([rekcurd_pb2.UploadEvaluationDataRequest(
                data=b"not json\n", data_path="eval/bad.jsonl")]), timeout=10, metadata=md)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    unittest.main()
