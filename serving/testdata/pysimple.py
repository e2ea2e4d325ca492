"""Triton's "simple" example model as a Swapwire Python worker.

Two inputs, INPUT0 and INPUT1, 16 INT32 each, with a batch dimension of up
to 8: the label is their sum and the scores their difference. It declares
that signature, so the server hands it named tensors; predict_batch answers
a whole batch in one call and counts its calls in the option "batch_calls".
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "sdk", "python"))

from swapwire.worker import Tensor, serve  # noqa: E402


class Simple:
    signature = {
        "inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [16]},
                   {"name": "INPUT1", "datatype": "INT32", "shape": [16]}],
        "outputs": [{"name": "label", "datatype": "INT32", "shape": [16]},
                    {"name": "scores", "datatype": "FP32", "shape": [16]}],
        "max_batch_size": 8,
    }

    def load(self, path):
        self.batch_calls = 0

    def predict(self, inputs, option):
        if not isinstance(inputs, dict):
            raise ValueError("want named tensors INPUT0 and INPUT1, got %s" % type(inputs).__name__)
        a, b = inputs["INPUT0"], inputs["INPUT1"]
        for t in (a, b):
            if not isinstance(t, Tensor) or t.shape != (16,) or len(t.values) != 16:
                raise ValueError("want %s of shape (16,), got %r" % (t.name, t))
        sums = [x + y for x, y in zip(a.values, b.values)]
        diffs = [float(x - y) for x, y in zip(a.values, b.values)]
        return sums, diffs, {"names": ",".join(inputs)}

    def predict_batch(self, inputs, options):
        self.batch_calls += 1
        out = []
        for x, opt in zip(inputs, options):
            try:
                label, scores, option = self.predict(x, opt)
            except ValueError as exc:
                out.append(exc)
                continue
            option["batch_calls"] = self.batch_calls
            option["batch_size"] = len(inputs)
            out.append((label, scores, option))
        return out


if __name__ == "__main__":
    serve(Simple)
