"""A model for the installed-package test: it answers the sum of a float
input, with label "big" or "small", and says which swapwire it runs."""

import swapwire


class Model:
    def load(self, path):
        with open(path + "/threshold.txt") as f:
            self.threshold = float(f.read())

    def predict(self, input, option):
        total = float(sum(input))
        return ("big" if total > self.threshold else "small", [total],
                {"swapwire_file": swapwire.__file__})
