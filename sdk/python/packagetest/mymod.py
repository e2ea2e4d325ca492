"""A model for the installed-package test: it answers the sum of a float
input, with label "big" or "small", and says which swapwire and which
protobuf runtime it runs on."""

import google.protobuf
from google.protobuf.internal import api_implementation

import swapwire


class Model:
    def load(self, path):
        with open(path + "/threshold.txt") as f:
            self.threshold = float(f.read())

    def predict(self, input, option):
        total = float(sum(input))
        return ("big" if total > self.threshold else "small", [total],
                {"swapwire_file": swapwire.__file__,
                 "protobuf": "%s %s" % (google.protobuf.__version__, api_implementation.Type())})
