#!/usr/bin/env python3
"""The scikit-learn digits model as a Swapwire worker.

Input: an 8x8 image as 64 ints (or floats) from 0 to 16, row by row, as in
sklearn.datasets.load_digits. Output: the digit as an int label (ints [d] on
the wire) and the ten class probabilities as scores, digit 0 first.

    swapwire serve --model-dir DIR --model digits \\
        --worker "python3 examples/sklearn-digits/worker.py"
"""

import json
import os
import pickle
import sys

import numpy as np

try:
    import swapwire.worker  # noqa: F401
except ImportError:  # run from a checkout: use the repository's sdk/python
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    os.pardir, os.pardir, "sdk", "python"))

from swapwire.worker import PredictResult, serve  # noqa: E402

PIXELS = 64


class DigitsModel:
    input_kinds = ["ints", "floats"]
    # What the Open Inference Protocol's ModelMetadata and ModelConfig report;
    # the first dimension is a batch, so a Triton client's [N, 64] request is
    # N images answered with labels [N] and scores [N, 10].
    signature = {
        "inputs": [{"name": "pixels", "datatype": "FP32", "shape": [PIXELS]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": []},
                    {"name": "scores", "datatype": "FP64", "shape": [10]}],
        "max_batch_size": 64,
    }

    def __init__(self):
        self.model = None
        self.metadata = {}

    def load(self, path):
        with open(os.path.join(path, "model.pkl"), "rb") as f:
            model = pickle.load(f)
        if not hasattr(model, "predict_proba"):
            raise TypeError("model.pkl holds a %s without predict_proba" % type(model).__name__)
        meta = os.path.join(path, "metadata.json")
        if os.path.exists(meta):
            with open(meta) as f:
                self.metadata = json.load(f)
        self.model = model

    @staticmethod
    def _pixels(input):
        if isinstance(input, (str, bytes)) or len(input) != PIXELS:
            raise ValueError("want %d pixel values (an 8x8 image), got %s"
                             % (PIXELS, "%d" % len(input) if isinstance(input, list)
                                else type(input).__name__))
        if isinstance(input[0], str):  # a strings input is all str
            raise ValueError("pixel values must be numbers from 0 to 16, got %r" % (input[0],))
        row = np.asarray(input, dtype=np.float64)  # one C loop, no per-pixel Python
        bad = (row < 0) | (row > 16)
        if bad.any():
            raise ValueError("pixel values must be numbers from 0 to 16, got %r"
                             % (input[int(bad.argmax())],))
        return row

    def _result(self, probabilities):
        best = int(probabilities.argmax())
        return PredictResult(label=int(self.model.classes_[best]), score=probabilities)

    def predict(self, input, option):
        probabilities = self.model.predict_proba(self._pixels(input).reshape(1, -1))[0]
        return self._result(probabilities)

    def predict_batch(self, inputs, options):
        rows = self._rows(inputs)
        if rows is None:  # some input is not an image: find which, and fail only those
            return self._predict_each(inputs)
        probabilities = self.model.predict_proba(rows)
        labels = self.model.classes_[probabilities.argmax(axis=1)].tolist()
        # Plain ints and lists of floats: the runtime copies them without
        # converting element by element.
        return [PredictResult(label=label, score=p)
                for label, p in zip(labels, probabilities.tolist())]

    @staticmethod
    def _rows(inputs):
        """Every input as one (n, 64) array in a few C calls, or None when
        any input is not 64 numbers from 0 to 16."""
        for input in inputs:
            if type(input) is not list or len(input) != PIXELS or isinstance(input[0], str):
                return None
        rows = np.asarray(inputs, dtype=np.float64)
        if ((rows < 0) | (rows > 16)).any():
            return None
        return rows

    def _predict_each(self, inputs):
        results = [None] * len(inputs)
        rows, index = [], []
        for i, input in enumerate(inputs):
            try:
                rows.append(self._pixels(input))
                index.append(i)
            except ValueError as exc:
                results[i] = exc  # fails only this item
        if rows:
            for i, probabilities in zip(index, self.model.predict_proba(np.stack(rows))):
                results[i] = self._result(probabilities)
        return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="The digits model as a Swapwire worker.")
    parser.add_argument("--addr", help="unix:///path.sock or tcp://127.0.0.1:PORT "
                                       "(default: $SWAPWIRE_WORKER_ADDR)")
    serve(DigitsModel, addr=parser.parse_args().addr)
