"""The Swapwire worker runtime: serve a Python model to a Swapwire server.

A model is a class with load(path) and predict(input, option), the contract
of Rekcurd's PredictInterface::

    from swapwire.worker import PredictResult, serve

    class Model:
        def load(self, path):
            self.model = ...                  # read files under path
        def predict(self, input, option):     # input: str, bytes, list of int/float/str
            return PredictResult(label="cat", score=0.9, option={"k": 1})

    if __name__ == "__main__":
        serve(Model)

A model that declares several inputs in its signature attribute (see
README) receives them as a dict of name to Tensor(name, shape, values),
values being what a single input of that kind would be::

    class Simple:
        signature = {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [16]},
                                {"name": "INPUT1", "datatype": "INT32", "shape": [16]}],
                     "max_batch_size": 8}
        def load(self, path):
            pass
        def predict(self, inputs, option):     # inputs: {"INPUT0": Tensor, ...}
            a, b = inputs["INPUT0"].values, inputs["INPUT1"].values
            return [x + y for x, y in zip(a, b)], [x - y for x, y in zip(a, b)]

predict may also return (label, score[, option]) or {"label", "score",
"option"}. An optional predict_batch(inputs, options) returns one result per
input; an item may be an exception to fail only that item. ValueError,
TypeError and KeyError become INVALID_ARGUMENT, Error carries its own code,
any other exception INTERNAL; the worker keeps running.

Given a class, serve makes one instance per model version it loads, so a
worker attached to Swapwire holds several versions at once; a failed load
keeps every version already held. Calls are answered one at a time on the
main thread, over the framed worker protocol (version 2, see worker.proto).

When the server traces, each predict call runs in a child span of the
server's worker-call span (an OpenTelemetry span when the opentelemetry
package is importable); current_span() returns it, and its traceparent()
carries the trace on to anything the model calls.

Generated protocol stubs live in swapwire.worker.v1 and swapwire.v1.
"""

from swapwire.worker._convert import PredictResult, Tensor
from swapwire.worker._server import PROTOCOL_VERSION, Error, Worker, serve
from swapwire.worker._trace import current_span, parse_traceparent

__all__ = ["PROTOCOL_VERSION", "Error", "PredictResult", "Tensor", "Worker", "current_span",
           "parse_traceparent", "serve"]
