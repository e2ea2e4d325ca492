"""The Node package test's model: answers its input as the label, so ints
beyond 2^53 and whole-number floats can be checked on the way back."""


class Model:
    def load(self, path):
        pass

    def predict(self, input, option):
        return input, [float(len(input))], {}
