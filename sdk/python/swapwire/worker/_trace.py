"""Trace context for worker calls: the W3C traceparent the server sends.

The Swapwire server, when it traces, sends the traceparent of its
worker-call span with each predict call (PredictRequest.traceparent). The
runtime runs the model's predict inside a child span of it:

- when the ``opentelemetry`` package is importable, a real OpenTelemetry
  span (the tracer provider and exporter are the program's to configure,
  as for any OpenTelemetry Python program), made current for the call;
- otherwise a light span of this module: a fresh span id under the
  server's span, in the same trace, with the same sampled flag, so that
  whatever the model propagates (current_span().traceparent()) stays in
  the server's trace. It is not exported anywhere.

current_span() returns the span of the call in progress, or None outside a
traced call.
"""

import os
import time

try:  # pragma: no cover - Debian ships no python3-opentelemetry
    from opentelemetry import context as _otel_context
    from opentelemetry import trace as _otel_trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:
    _otel_trace = None

SPAN_NAME = "swapwire.worker.model"

_HEX = frozenset("0123456789abcdef")


def parse_traceparent(header):
    """Parses a W3C traceparent header.

    Returns (trace_id, parent_id, flags) as two lowercase hex strings and an
    int, or None when the header is invalid: a version other than two hex
    digits or "ff", version 00 with anything after the flags, a trace id
    of 32 or a parent id of 16 lowercase hex digits that is all zeros, or
    flags that are not two hex digits. A later version may append fields
    after a dash, which are ignored.
    """
    if not isinstance(header, str) or len(header) < 55:
        return None
    version, trace_id, parent_id, flags = header[0:2], header[3:35], header[36:52], header[53:55]
    if header[2] != "-" or header[35] != "-" or header[52] != "-":
        return None
    if not _is_hex(version) or version == "ff":
        return None
    if len(header) > 55 and (version == "00" or header[55] != "-"):
        return None
    if not _is_hex(trace_id) or trace_id == "0" * 32:
        return None
    if not _is_hex(parent_id) or parent_id == "0" * 16:
        return None
    if not _is_hex(flags):
        return None
    return trace_id, parent_id, int(flags, 16)


def _is_hex(s):
    return bool(s) and all(c in _HEX for c in s)


class Span:
    """A span of a worker call when the opentelemetry package is absent."""

    __slots__ = ("name", "trace_id", "span_id", "parent_id", "flags", "start", "end")

    def __init__(self, name, trace_id, parent_id, flags):
        self.name = name
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.flags = flags
        self.span_id = _new_span_id()
        self.start = time.time()
        self.end = None

    @property
    def sampled(self):
        return bool(self.flags & 1)

    def traceparent(self):
        """The traceparent header that makes a callee a child of this span."""
        return "00-%s-%s-%02x" % (self.trace_id, self.span_id, self.flags & 0xff)


class _OtelSpan:
    """current_span() under OpenTelemetry: the same fields, from a real span."""

    def __init__(self, span, parent_id):
        sc = span.get_span_context()
        self.span = span
        self.name = SPAN_NAME
        self.trace_id = "%032x" % sc.trace_id
        self.span_id = "%016x" % sc.span_id
        self.parent_id = parent_id
        self.flags = int(sc.trace_flags)

    @property
    def sampled(self):
        return bool(self.flags & 1)

    def traceparent(self):
        return "00-%s-%s-%02x" % (self.trace_id, self.span_id, self.flags & 0xff)


def _new_span_id():
    while True:
        b = os.urandom(8)
        if any(b):
            return b.hex()


_current = None


def current_span():
    """The span of the predict call in progress, or None."""
    return _current


class traced:
    """A context manager that runs a model call in a child span of header.

    Without a valid header it does nothing; the model runs untraced.
    """

    def __init__(self, header, name=SPAN_NAME):
        self.header = header
        self.name = name
        self._token = None
        self._otel_cm = None

    def __enter__(self):
        global _current
        parsed = parse_traceparent(self.header) if self.header else None
        if parsed is None:
            return None
        if _otel_trace is not None:  # pragma: no cover - needs opentelemetry
            ctx = TraceContextTextMapPropagator().extract({"traceparent": self.header})
            tracer = _otel_trace.get_tracer("swapwire.worker")
            self._otel_cm = tracer.start_as_current_span(self.name, context=ctx,
                                                         kind=_otel_trace.SpanKind.SERVER)
            span = self._otel_cm.__enter__()
            _current = _OtelSpan(span, parsed[1])
            return _current
        _current = Span(self.name, *parsed)
        return _current

    def __exit__(self, exc_type, exc, tb):
        global _current
        span = _current
        _current = None
        if self._otel_cm is not None:  # pragma: no cover - needs opentelemetry
            return self._otel_cm.__exit__(exc_type, exc, tb)
        if span is not None:
            span.end = time.time()
        return False
