"""The worker runtime's W3C traceparent handling (without opentelemetry)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from swapwire.worker import _trace  # noqa: E402
from swapwire.worker import current_span, parse_traceparent  # noqa: E402

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class ParseTraceparentTest(unittest.TestCase):
    def test_valid(self):
        self.assertEqual(parse_traceparent("00-%s-%s-01" % (TRACE, PARENT)), (TRACE, PARENT, 1))
        self.assertEqual(parse_traceparent("00-%s-%s-00" % (TRACE, PARENT)), (TRACE, PARENT, 0))

    def test_future_version_may_append(self):
        self.assertEqual(parse_traceparent("cc-%s-%s-01-what-ever" % (TRACE, PARENT)), (TRACE, PARENT, 1))

    def test_invalid(self):
        for h in [
            "",
            None,
            "00-%s-%s-01-x" % (TRACE, PARENT),      # version 00 has nothing after the flags
            "ff-%s-%s-01" % (TRACE, PARENT),        # version ff is invalid
            "00-%s-%s-01" % ("0" * 32, PARENT),     # all-zero trace id
            "00-%s-%s-01" % (TRACE, "0" * 16),      # all-zero parent id
            "00-%s-%s-01" % (TRACE.upper(), PARENT),  # upper case
            "00-%s-%s-0g" % (TRACE, PARENT),
            "00_%s-%s-01" % (TRACE, PARENT),
            "00-%s-%s-01" % (TRACE[:-1], PARENT),
            "cc-%s-%s-01x" % (TRACE, PARENT),       # a later version's extra field needs a dash
        ]:
            self.assertIsNone(parse_traceparent(h), h)


class TracedTest(unittest.TestCase):
    def test_child_span(self):
        self.assertIsNone(current_span())
        with _trace.traced("00-%s-%s-01" % (TRACE, PARENT)) as span:
            self.assertIs(current_span(), span)
            self.assertEqual(span.trace_id, TRACE)
            self.assertEqual(span.parent_id, PARENT)
            self.assertEqual(len(span.span_id), 16)
            self.assertNotEqual(span.span_id, PARENT)
            self.assertNotEqual(span.span_id, "0" * 16)
            self.assertTrue(span.sampled)
            self.assertEqual(span.traceparent(), "00-%s-%s-01" % (TRACE, span.span_id))
        self.assertIsNone(current_span())
        self.assertIsNotNone(span.end)
        self.assertGreaterEqual(span.end, span.start)

    def test_unsampled_keeps_flag(self):
        with _trace.traced("00-%s-%s-00" % (TRACE, PARENT)) as span:
            self.assertFalse(span.sampled)
            self.assertTrue(span.traceparent().endswith("-00"))

    def test_no_or_bad_header_runs_untraced(self):
        for h in ["", "garbage"]:
            with _trace.traced(h) as span:
                self.assertIsNone(span)
                self.assertIsNone(current_span())

    def test_exception_clears_current(self):
        with self.assertRaises(RuntimeError):
            with _trace.traced("00-%s-%s-01" % (TRACE, PARENT)):
                raise RuntimeError("model failed")
        self.assertIsNone(current_span())


if __name__ == "__main__":
    unittest.main()
