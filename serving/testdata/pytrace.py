"""A Python model for the tracing tests: it answers with the span the worker
runtime made for the call (swapwire.worker.current_span()), as the option
{"trace_id", "span_id", "parent_id", "sampled"}; all empty when untraced.
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "sdk", "python"))

from swapwire.worker import PredictResult, current_span, serve  # noqa: E402


class Model:
    def load(self, path):
        pass

    def predict(self, input, option):
        span = current_span()
        if span is None:
            return PredictResult("untraced", [1.0], {"trace_id": "", "span_id": "", "parent_id": "", "sampled": False})
        return PredictResult("traced", [1.0], {
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "parent_id": span.parent_id,
            "sampled": span.sampled,
        })


serve(Model)
