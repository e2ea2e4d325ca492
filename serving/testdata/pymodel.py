"""A Python model for the server's worker tests.

Its version directory holds answer.txt: the label it answers, or "raise" to
make load fail. Option {"sleep": seconds} makes a prediction take that long.
When the file named by $PYMODEL_CRASH_FILE exists, the worker exits at start.
"""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "sdk", "python"))

crash = os.environ.get("PYMODEL_CRASH_FILE")
if crash and os.path.exists(crash):
    print("crash file present, exiting at start", file=sys.stderr)
    sys.exit(3)

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


serve(Model())
