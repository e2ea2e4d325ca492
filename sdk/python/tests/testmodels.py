"""Models the tests serve; each option "mode" exercises one path of the runtime."""

import os
import sys

from swapwire.worker import Error, PredictResult


class EchoModel:
    """Echoes its input as the label; option "mode" picks a result shape or a failure."""

    input_kinds = ["text", "data", "ints", "floats", "strings"]

    def __init__(self):
        self.path = None

    def load(self, path):
        if os.path.basename(path).startswith("bad"):
            raise RuntimeError("cannot read weights in " + path)
        self.path = path

    def predict(self, input, option):
        mode = option.get("mode", "object")
        if mode == "object":
            return PredictResult(input, [0.25, 0.75], {"path": self.path, "option": option})
        if mode == "tuple":
            return input, 0.5
        if mode == "tuple3":
            return input, 0.5, '{"rekcurd": "json"}'
        if mode == "dict":
            return {"label": input, "score": [1, 2]}
        if mode == "type":
            return {"label": type(input).__name__, "score": 1.0}
        if mode == "numpy":
            import numpy as np
            return np.int64(7), np.array([0.1, 0.9], dtype=np.float32), {"n": np.float64(2.5)}
        if mode == "value_error":
            raise ValueError("want 3 numbers")
        if mode == "key_error":
            return {}["needed"]
        if mode == "runtime_error":
            raise RuntimeError("boom")
        if mode == "not_found":
            raise Error(5, "no such thing")
        if mode == "bad_result":
            return object()
        if mode == "print":
            print("model chatter on stdout")
            return "printed", 1.0
        if mode == "block":
            # Tells the test it has started, then waits to be released.
            sys.stderr.write("predict blocking\n")
            sys.stderr.flush()
            with open(option["release"]) as f:
                f.read()
            return "finished", 1.0
        raise AssertionError("unknown mode %r" % mode)


class PackedModel(EchoModel):
    """A batching model of numeric rows, for packed batches: the label is the
    row's sum, the scores its first two elements. A row starting with -1
    fails its item, -2 answers with an option, -3 with a label past int64,
    -4 with a float label."""

    def predict_batch(self, inputs, options):
        if any(opt != {} for opt in options):
            raise AssertionError("a packed batch carries no option, got %r" % (options,))
        out = []
        for x in inputs:
            if type(x) is not list:
                raise AssertionError("a packed row arrives as a list, got %r" % type(x).__name__)
            head = x[0] if x else None
            if head == -1:
                out.append(ValueError("bad row"))
            elif head == -2:
                out.append(PredictResult(int(sum(x)), x[:2], {"note": "an option"}))
            elif head == -3:
                out.append((1 << 64, x[:2]))
            elif head == -4:
                out.append((float(sum(x)) + 0.5, x[:2]))
            else:
                out.append(PredictResult(int(sum(x)), x[:2]))
        return out


class BatchModel(EchoModel):
    """Adds predict_batch: an input "fail" fails its item; "explode" fails the call;
    "malformed" and "big" return results the runtime cannot send."""

    signature = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
                 "outputs": [{"name": "label", "datatype": "BYTES", "shape": [1]}],
                 "max_batch_size": 8}

    def predict_batch(self, inputs, options):
        if "explode" in inputs:
            raise RuntimeError("whole batch failed")
        out = []
        for x in inputs:
            if x == "fail":
                out.append(ValueError("bad item"))
            elif x == "internal":
                out.append(RuntimeError("item crashed"))
            elif x == "malformed":
                out.append(("label", [0.5], "not json", "extra"))  # a 4-tuple is no result
            elif x == "big":
                out.append((1 << 64, None))  # an int label that int64 cannot hold
            else:
                out.append((x.upper(), [float(len(x))]))
        return out


class SimpleModel:
    """Triton's "simple" model: named tensors INPUT0 and INPUT1 of 16 ints;
    the label is their sum, the scores their difference, the option the
    names and shapes it saw."""

    signature = {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [16]},
                            {"name": "INPUT1", "datatype": "INT32", "shape": [16]}],
                 "outputs": [{"name": "label", "datatype": "INT32", "shape": [16]},
                             {"name": "scores", "datatype": "FP32", "shape": [16]}],
                 "max_batch_size": 8}

    def load(self, path):
        pass

    def predict(self, inputs, option):
        if not isinstance(inputs, dict):
            raise ValueError("want named tensors, got %s" % type(inputs).__name__)
        a, b = inputs["INPUT0"], inputs["INPUT1"]
        seen = {name: {"name": t.name, "shape": list(t.shape), "type": type(t).__name__}
                for name, t in inputs.items()}
        return ([x + y for x, y in zip(a.values, b.values)],
                [x - y for x, y in zip(a.values, b.values)],
                {"order": list(inputs), "seen": seen})

    def predict_batch(self, inputs, options):
        out = []
        for x, opt in zip(inputs, options):
            try:
                out.append(self.predict(x, opt))
            except (KeyError, ValueError) as exc:
                out.append(exc)
        return out
