"""The scikit-learn digits example, trained and served by a real worker process."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swapwire.v1 import value_pb2  # noqa: E402
from swapwire.worker._client import CallError  # noqa: E402
from swapwire.worker.v1 import worker_pb2  # noqa: E402

from workerproc import PYTHON, SDK, WorkerProcess  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(SDK)), "examples", "sklearn-digits")

try:
    import sklearn  # noqa: F401
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False
    if os.environ.get("SWAPWIRE_SKIP_SKLEARN") != "1":
        raise  # no silent skip: install python3-sklearn or set SWAPWIRE_SKIP_SKLEARN=1


def pixels(values, as_floats=False):
    if as_floats:
        return value_pb2.Value(floats=value_pb2.DoubleArray(values=[float(v) for v in values]))
    return value_pb2.Value(ints=value_pb2.Int64Array(values=values))


@unittest.skipUnless(HAVE_SKLEARN, "scikit-learn is not installed")
class DigitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="swapwire-digits-test-")
        cls.version = os.path.join(cls.tmp, "digits", "1")
        subprocess.run([PYTHON, os.path.join(EXAMPLE, "train.py"), "--out", cls.version],
                       check=True, timeout=120, stdout=subprocess.DEVNULL)
        with open(os.path.join(EXAMPLE, "samples.json")) as f:
            cls.samples = json.load(f)["samples"]
        cls.sock = os.path.join(cls.tmp, "digits.sock")
        # No PYTHONPATH: worker.py must find sdk/python from its own location.
        cls.worker = WorkerProcess([os.path.join(EXAMPLE, "worker.py")],
                                   "unix://" + cls.sock, pythonpath=False)
        cls.ready = cls.worker.ready_line()
        cls.stub = cls.worker.connect("unix:" + cls.sock)
        cls.stub.Load(worker_pb2.LoadRequest(dir=cls.version), timeout=30)

    @classmethod
    def tearDownClass(cls):
        code = cls.worker.terminate()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if code != 0:
            raise AssertionError("digits worker exited %d; stderr:\n%s"
                                 % (code, cls.worker.drain_stderr()))

    def test_metadata(self):
        with open(os.path.join(self.version, "metadata.json")) as f:
            meta = json.load(f)
        self.assertGreater(meta["accuracy"], 0.95)
        self.assertEqual(meta["test_size"], 450)

    def test_ready_and_info(self):
        self.assertEqual(self.ready, "SWAPWIRE_WORKER|2|unix|" + self.sock)
        info = self.stub.Info(worker_pb2.InfoRequest(), timeout=10)
        self.assertTrue(info.batch)
        self.assertTrue(info.multi_version)
        self.assertEqual(list(info.versions), [""])
        self.assertEqual(list(info.input_kinds), ["ints", "floats"])

    def test_predict_samples(self):
        self.assertEqual(len(self.samples), 10)
        for s in self.samples:
            for as_floats in (False, True):
                with self.subTest(label=s["label"], floats=as_floats):
                    req = worker_pb2.PredictRequest(input=pixels(s["pixels"], as_floats))
                    out = self.stub.Predict(req, timeout=10)
                    self.assertEqual(list(out.output.ints.values), [s["label"]])
                    self.assertEqual(len(out.scores), 10)
                    self.assertAlmostEqual(sum(out.scores), 1.0, places=6)
                    self.assertEqual(max(range(10), key=lambda d: out.scores[d]), s["label"])

    def test_predict_batch_with_a_bad_item(self):
        items = [worker_pb2.PredictRequest(input=pixels(s["pixels"])) for s in self.samples]
        items.insert(3, worker_pb2.PredictRequest(input=pixels([1] * 63)))
        resp = self.stub.PredictBatch(worker_pb2.PredictBatchRequest(items=items), timeout=10)
        self.assertEqual(len(resp.results), 11)
        bad = resp.results.pop(3)
        self.assertEqual(bad.error.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn("want 64 pixel values", bad.error.message)
        self.assertEqual([list(r.response.output.ints.values) for r in resp.results],
                         [[s["label"]] for s in self.samples])

    def test_bad_input_is_invalid_argument(self):
        cases = [pixels([1] * 63), pixels([17] * 64),
                 value_pb2.Value(text="an eight"),
                 value_pb2.Value(strings=value_pb2.StringArray(values=["0"] * 64))]
        for value in cases:
            with self.subTest(value=str(value)[:40]):
                with self.assertRaises(CallError) as cm:
                    self.stub.Predict(worker_pb2.PredictRequest(input=value), timeout=10)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT,
                                 cm.exception.details())

    def test_load_of_a_missing_version_fails_and_keeps_the_worker(self):
        missing = os.path.join(self.tmp, "digits", "99")
        with self.assertRaises(CallError) as cm:
            self.stub.Load(worker_pb2.LoadRequest(dir=missing), timeout=10)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("FileNotFoundError", cm.exception.details())
        # Reload the good version so the other tests, in any order, still predict.
        self.stub.Load(worker_pb2.LoadRequest(dir=self.version), timeout=30)
        out = self.stub.Predict(worker_pb2.PredictRequest(input=pixels(self.samples[5]["pixels"])),
                                timeout=10)
        self.assertEqual(list(out.output.ints.values), [5])


if __name__ == "__main__":
    unittest.main()
