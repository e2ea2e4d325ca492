"""A Python model for the sidecar's tests with the real worker runtime.

Its version directory holds answer.txt: the label it answers, or "raise" to
make load fail. Option {"sleep": seconds} makes a prediction take that long.
"""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "sdk", "python"))

from swapwire.worker import PredictResult, serve  # noqa: E402


class Model:
    def load(self, path):
        with open(os.path.join(path, "answer.txt")) as f:
            self.answer = f.read().strip()
        if self.answer == "raise":
            raise RuntimeError("weights are corrupt")

    def predict(self, input, option):
        if "sleep" in option:
            time.sleep(float(option["sleep"]))
        return PredictResult(self.answer, [1.0], {"pid": os.getpid()})


if __name__ == "__main__":
    addr = sys.argv[1] if len(sys.argv) > 1 else None
    serve(Model, addr=addr)  # a class: one instance per version
