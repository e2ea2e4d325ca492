"""The model of `make demo-fleet`: it answers the text in its version's
answer.txt, so every answer shows which version served it."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "sdk", "python"))

from swapwire.worker import PredictResult, serve  # noqa: E402


class Model:
    def load(self, path):
        with open(os.path.join(path, "answer.txt")) as f:
            self.answer = f.read().strip()

    def predict(self, input, option):
        return PredictResult(self.answer, [1.0])


serve(Model())
