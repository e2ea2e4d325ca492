"""The worker server: the framed worker protocol (version 2) around a model.

Each frame is a 4-byte big-endian length and a protobuf message: a Call
from the Swapwire server, a Reply from the worker (see worker.proto). The
worker answers one Call at a time, on the main thread, over every
connection it has: no thread pool, no gRPC server, so a request costs a few
syscalls and the protobuf parse on top of the model.
"""

import logging
import os
import platform
import selectors
import signal
import socket
import stat
import struct
import sys
import traceback

import grpc
from google.protobuf.internal import api_implementation
from google.protobuf.message import DecodeError, Message

from swapwire.worker import _convert, _trace
from swapwire.worker.v1 import worker_pb2

PROTOCOL_VERSION = 2
ENV_PROTOCOL = "SWAPWIRE_WORKER_PROTOCOL"
ENV_ADDR = "SWAPWIRE_WORKER_ADDR"
READY_PREFIX = "SWAPWIRE_WORKER"

# Batches of images add up.
DEFAULT_MAX_MESSAGE_BYTES = 64 << 20
# Kept for the signature of serve(); a stopping worker finishes the call it
# runs, on its main thread, and exits.
DEFAULT_GRACE_SECONDS = 30.0
# How long the rest of a frame may take to arrive once it started, and a
# reply to be taken; a peer that stalls longer loses its connection, so it
# cannot hold the main thread.
DEFAULT_IO_TIMEOUT_SECONDS = 30.0
_HEADER = struct.Struct(">I")
_RECV_BYTES = 64 << 10

log = logging.getLogger("swapwire.worker")


class Error(Exception):
    """An error with an explicit gRPC status code, raised from load or predict.

    code is a grpc.StatusCode or its integer value (google.rpc.Code).
    """

    def __init__(self, code, message=""):
        if isinstance(code, int) and not isinstance(code, grpc.StatusCode):
            code = _code_from_int(code)
        if not isinstance(code, grpc.StatusCode):
            raise TypeError("code must be a grpc.StatusCode or an int, not %r" % (code,))
        if code is grpc.StatusCode.OK:
            code = grpc.StatusCode.UNKNOWN  # an error is never OK
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self):
        return self.message


def _code_from_int(n):
    for code in grpc.StatusCode:
        if code.value[0] == n:
            return code
    return grpc.StatusCode.UNKNOWN


def status_of(exc):
    """Returns the (grpc.StatusCode, message) an exception from predict maps to."""
    if isinstance(exc, Error):
        return exc.code, exc.message
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        return grpc.StatusCode.INVALID_ARGUMENT, "missing key %r" % (exc.args[0],)
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc) or type(exc).__name__
    text = str(exc)
    return grpc.StatusCode.INTERNAL, (
        "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__)


def _last_line(exc):
    lines = traceback.format_exception_only(type(exc), exc)
    return lines[-1].strip() if lines else type(exc).__name__


def _code_number(code):
    return code.value[0]


class _Models:
    """The versions a worker holds, each its own model instance.

    Given a class, the worker makes one instance per version, so an attached
    worker can load version 2 beside version 1. Given an instance, it holds
    one version at a time and says so in Info.
    """

    def __init__(self, model):
        if isinstance(model, type):
            self._factory, template = model, None
        else:
            self._factory, template = None, model
        probe = template if template is not None else model
        for name in ("load", "predict"):
            if not callable(getattr(probe, name, None)):
                raise TypeError("model %s has no %s method" % (getattr(probe, "__name__", type(probe).__name__), name))
        self._instance = template
        self.batch = callable(getattr(probe, "predict_batch", None))
        self.input_kinds = list(getattr(probe, "input_kinds", None) or [])
        self.signature = _convert.signature_message(getattr(probe, "signature", None))
        self.held = {}  # version -> model instance

    def info(self):
        return worker_pb2.InfoResponse(
            pid=os.getpid(),
            protocol_version=PROTOCOL_VERSION,
            input_kinds=self.input_kinds,
            batch=self.batch,
            runtime="python " + platform.python_version(),
            multi_version=self._factory is not None,
            versions=sorted(self.held),
            signature=self.signature,
            packed_batch=self.batch,
        )

    def load(self, request):
        version = request.version
        if self._factory is None:
            if self.held and version not in self.held:
                raise Error(grpc.StatusCode.FAILED_PRECONDITION,
                            "this worker holds one version at a time (it serves %s; give serve() the "
                            "model class rather than an instance to hold several)" % next(iter(self.held)))
            instance = self._instance
        else:
            instance = self._factory()
        try:
            instance.load(request.dir)
        except Exception as exc:  # the worker lives, and keeps what it holds
            log.error("load %s failed:\n%s", request.dir, traceback.format_exc())
            code = exc.code if isinstance(exc, Error) else grpc.StatusCode.FAILED_PRECONDITION
            raise Error(code, "load %s: %s" % (request.dir, _last_line(exc)))
        old = self.held.get(version)
        self.held[version] = instance
        if old is not None and old is not instance:
            _close(old)
        log.info("loaded %s", request.dir)

    def unload(self, request):
        instance = self.held.pop(request.version, None)
        if instance is not None:
            if instance is not self._instance:
                _close(instance)
            log.info("unloaded %s", request.version or "the model")

    def get(self, version):
        if version:
            instance = self.held.get(version)
            if instance is None:
                raise Error(grpc.StatusCode.FAILED_PRECONDITION,
                            "version %s is not loaded: call Load first" % version)
            return instance
        if len(self.held) == 1:
            return next(iter(self.held.values()))
        if not self.held:
            raise Error(grpc.StatusCode.FAILED_PRECONDITION, "no model loaded: call Load first")
        raise Error(grpc.StatusCode.FAILED_PRECONDITION,
                    "%d versions are loaded; the request must name one" % len(self.held))

    def close(self):
        for instance in self.held.values():
            _close(instance)
        self.held.clear()
        if self._instance is not None:
            _close(self._instance)


def _close(instance):
    close = getattr(instance, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            log.error("close failed:\n%s", traceback.format_exc())


def _predict(models, request):
    model = models.get(request.version)
    try:
        value = _convert.input_from_request(request)
        option = _convert.option_from_struct(request.option, request.HasField("option"))
        with _trace.traced(request.traceparent):
            result = model.predict(value, option)
    except Exception as exc:
        code, message = status_of(exc)
        if code is grpc.StatusCode.INTERNAL:
            log.error("predict failed:\n%s", traceback.format_exc())
        raise Error(code, message)
    return result


def _predict_batch(models, request, out):
    if not models.batch:
        raise Error(grpc.StatusCode.UNIMPLEMENTED, "the model has no predict_batch")
    model = models.get(request.version)
    if request.HasField("packed"):
        _predict_packed(model, request, out)
        return
    items = request.items
    failed = {}  # item position -> (code, message) for items that did not convert
    inputs, options = [], []
    to_input, to_option = _convert.input_from_request, _convert.option_from_struct
    for i, item in enumerate(items):
        try:
            inputs.append(to_input(item))
        except ValueError as exc:
            failed[i] = (grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            continue
        options.append(to_option(item.option, item.HasField("option")))
    outputs = _run_batch(model, inputs, options, request.traceparent) if inputs else ()
    # Results are built in place in the reply, in item order: no message is
    # made and then copied per item.
    add, fill = out.results.add, _fill_batch_result
    it = iter(outputs)
    for i in range(len(items)):
        r = add()
        if i in failed:
            _set_error(r.error, *failed[i])
        else:
            fill(r, next(it))


def _run_batch(model, inputs, options, traceparent):
    """Returns the model's results for a batch, one per input; raises Error
    when the call fails as a whole."""
    try:
        with _trace.traced(traceparent):
            outputs = list(model.predict_batch(inputs, options))
    except Exception as exc:
        code, message = status_of(exc)
        if code is grpc.StatusCode.INTERNAL:
            log.error("predict_batch failed:\n%s", traceback.format_exc())
        raise Error(code, message)
    if len(outputs) != len(inputs):
        raise Error(grpc.StatusCode.INTERNAL, "predict_batch returned %d results for %d inputs"
                    % (len(outputs), len(inputs)))
    return outputs


def _predict_packed(model, request, out):
    """Runs a batch whose inputs came packed into one array, and answers
    with packed results when every result is alike, else one per item."""
    try:
        inputs = _convert.inputs_from_packed(request.packed)
    except ValueError as exc:
        raise Error(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    outputs = _run_batch(model, inputs, [{} for _ in inputs], request.traceparent)
    if _convert.fill_packed(out.packed, outputs):
        return
    out.ClearField("packed")
    add, fill = out.results.add, _fill_batch_result
    for result in outputs:
        fill(add(), result)


def _set_error(err, code, message):
    err.code = _code_number(code)
    err.message = message


def _fill_batch_result(r, result):
    if isinstance(result, BaseException):
        _set_error(r.error, *status_of(result))
        return
    try:
        _convert.fill_response(r.response, result)
    except Exception as exc:
        r.ClearField("response")
        _set_error(r.error, grpc.StatusCode.INTERNAL, "bad predict result: %s" % exc)


def handle(models, call):
    """Runs one Call and returns its Reply."""
    reply = worker_pb2.Reply(id=call.id)
    kind = call.WhichOneof("kind")
    try:
        if kind == "predict":
            result = _predict(models, call.predict)
            try:
                _convert.fill_response(reply.predict, result)
            except Exception as exc:
                raise Error(grpc.StatusCode.INTERNAL, "bad predict result: %s" % exc)
        elif kind == "predict_batch":
            _predict_batch(models, call.predict_batch, reply.predict_batch)
        elif kind == "info":
            reply.info.CopyFrom(models.info())
        elif kind == "load":
            models.load(call.load)
            reply.load.SetInParent()
        elif kind == "unload":
            models.unload(call.unload)
            reply.unload.SetInParent()
        else:
            raise Error(grpc.StatusCode.UNIMPLEMENTED, "unknown call %r" % kind)
    except Error as exc:
        reply = error_reply(call.id, exc.code, exc.message)
    return reply


def error_reply(call_id, code, message):
    reply = worker_pb2.Reply(id=call_id)
    reply.error.code = _code_number(code)
    reply.error.message = message
    return reply


def parse_addr(addr):
    """Returns (scheme, where) for unix:///path or tcp://host:port."""
    if addr.startswith("unix://"):
        path = addr[len("unix://"):]
        if not path.startswith("/"):
            raise ValueError("worker address %r: want unix:///absolute/path" % addr)
        return "unix", path
    if addr.startswith("tcp://"):
        hostport = addr[len("tcp://"):]
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("worker address %r: want tcp://host:port" % addr)
        return "tcp", hostport
    raise ValueError("worker address %r: want unix:///path or tcp://host:port" % addr)


def _remove_stale_socket(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class _Conn:
    """One connection: a receive buffer and the frames in it."""

    __slots__ = ("sock", "buf")

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self, n):
        """Reads until the buffer holds n bytes; False at end of stream."""
        while len(self.buf) < n:
            chunk = self.sock.recv(max(_RECV_BYTES, n - len(self.buf)))
            if not chunk:
                return False
            self.buf += chunk
        return True

    def skip(self, n):
        """Drops n bytes of the stream (an oversize frame); False at end of stream."""
        while n > 0:
            if not self.buf:
                chunk = self.sock.recv(min(_RECV_BYTES, n))
                if not chunk:
                    return False
                self.buf += chunk
            k = min(n, len(self.buf))
            del self.buf[:k]
            n -= k
        return True


# protobuf's C runtimes (upb, C++) refuse a message nested deeper than 100
# levels while parsing (an option of 33 nested dicts); the pure-Python runtime
# parses any depth. The worker refuses such calls on it too, so that it answers
# alike on every runtime. (The pure-Python runtime still serializes nested
# Structs in time that doubles with each level: an option of 14 nested dicts
# took 0.5 s on protobuf 6.31.1, so a model that echoes a deep option back is
# slow there.)
_RECURSION_LIMIT = 100
_PURE_PYTHON_PROTOBUF = api_implementation.Type() == "python"


def _check_depth(msg, depth):
    """Raises DecodeError when a message under msg (at depth) is nested deeper
    than _RECURSION_LIMIT, counting map entries as the C runtimes do."""
    if depth > _RECURSION_LIMIT:
        raise DecodeError("nested deeper than protobuf's recursion limit of %d" % _RECURSION_LIMIT)
    for field, value in msg.ListFields():
        entry = field.message_type
        if entry is None:
            continue
        if isinstance(value, Message):
            _check_depth(value, depth + 1)
        elif not entry.GetOptions().map_entry:
            for item in value:
                _check_depth(item, depth + 1)
        elif entry.fields_by_name["value"].message_type is not None:
            for item in value.values():
                _check_depth(item, depth + 2)
        elif depth + 1 > _RECURSION_LIMIT:
            raise DecodeError("nested deeper than protobuf's recursion limit of %d" % _RECURSION_LIMIT)


class Worker:
    """A listening worker. serve() is the usual way to run one.

    serve_forever() answers calls on the calling thread until stop() (or a
    signal handler calling it) and then returns.
    """

    def __init__(self, model, addr, max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
                 io_timeout=DEFAULT_IO_TIMEOUT_SECONDS):
        self.models = _Models(model)
        self.model = model
        self.max_message_bytes = max_message_bytes
        self.io_timeout = io_timeout
        self.scheme, where = parse_addr(addr)
        self._socket_path = None
        if self.scheme == "unix":
            _remove_stale_socket(where)
            lis = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lis.bind(where)
            self._socket_path = where
        else:
            host, _, port = where.rpartition(":")
            host = host.strip("[]")
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            lis = socket.socket(family, socket.SOCK_STREAM)
            lis.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lis.bind((host, int(port)))
            where = "%s:%d" % (where.rpartition(":")[0], lis.getsockname()[1])
        lis.listen(16)
        self.where = where
        self._lis = lis
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    def ready_line(self):
        return "%s|%d|%s|%s" % (READY_PREFIX, PROTOCOL_VERSION, self.scheme, self.where)

    def stop(self):
        """Makes serve_forever return once the call it runs (if any) is answered.

        Safe to call from a signal handler.
        """
        self._stopping = True
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def serve_forever(self):
        sel = selectors.DefaultSelector()
        sel.register(self._lis, selectors.EVENT_READ, None)
        sel.register(self._wake_r, selectors.EVENT_READ, False)
        try:
            while not self._stopping:
                for key, _ in sel.select():
                    if key.data is None:
                        sock, _ = self._lis.accept()
                        sock.settimeout(self.io_timeout)
                        if sock.family != socket.AF_UNIX:
                            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        sel.register(sock, selectors.EVENT_READ, _Conn(sock))
                    elif key.data is False:
                        try:
                            self._wake_r.recv(64)
                        except OSError:
                            pass
                    elif not self._serve_one(key.data):
                        sel.unregister(key.fileobj)
                        key.fileobj.close()
                    if self._stopping:
                        break
        finally:
            for key in list(sel.get_map().values()):
                if key.data not in (None, False):
                    key.fileobj.close()
            sel.close()
            self._lis.close()
            self._wake_r.close()
            self._wake_w.close()
            if self._socket_path:
                try:
                    os.unlink(self._socket_path)
                except OSError:
                    pass
            self.models.close()

    def _serve_one(self, conn):
        """Answers the next Call of conn; False when the connection ends."""
        try:
            if not conn.fill(4):
                return False
            (n,) = _HEADER.unpack_from(conn.buf)
            del conn.buf[:4]
            if n > self.max_message_bytes:
                if not conn.skip(n):
                    return False
                data = error_reply(0, grpc.StatusCode.RESOURCE_EXHAUSTED,
                                   "the call is %d bytes, over the worker's limit of %d"
                                   % (n, self.max_message_bytes)).SerializeToString()
            else:
                if not conn.fill(n):
                    return False
                payload = bytes(conn.buf[:n])
                del conn.buf[:n]
                data = self._answer(payload)
            conn.sock.sendall(_HEADER.pack(len(data)) + data)
            return True
        except OSError:  # a closed, reset or stalled (socket.timeout) peer
            return False

    def _answer(self, payload):
        """Returns the serialized Reply to a serialized Call."""
        try:
            call = worker_pb2.Call.FromString(payload)
            if _PURE_PYTHON_PROTOBUF:
                _check_depth(call, 0)
        except (DecodeError, RecursionError) as exc:
            return error_reply(0, grpc.StatusCode.INVALID_ARGUMENT,
                               "the call does not parse (an option nested too deep?): %s"
                               % exc).SerializeToString()
        data = handle(self.models, call).SerializeToString()  # once: its length is the size check
        if len(data) > self.max_message_bytes:
            return error_reply(call.id, grpc.StatusCode.RESOURCE_EXHAUSTED,
                               "the reply is %d bytes, over the worker's limit of %d"
                               % (len(data), self.max_message_bytes)).SerializeToString()
        return data


def serve(model, addr=None, grace=DEFAULT_GRACE_SECONDS,
          max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES):
    """Serves model as a Swapwire worker until SIGTERM or SIGINT, then returns.

    model is a class (or an instance) with load(path) and predict(input,
    option), and optionally predict_batch(inputs, options), input_kinds and
    close(). Given a class, the worker makes one instance per loaded version
    and can hold several versions at once (attach mode); given an instance,
    it holds one. addr defaults to $SWAPWIRE_WORKER_ADDR: unix:///path.sock
    or tcp://host:port (port 0 picks a free port). Once listening, it prints
    the ready line SWAPWIRE_WORKER|2|unix|/path.sock (or ...|tcp|host:port)
    on stdout. Anything the model prints afterwards goes to stderr, so stdout
    stays the protocol's. Calls are answered one at a time on the calling
    (main) thread; on SIGTERM the call in progress is answered and serve
    returns. grace is accepted for compatibility and unused.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                            format="swapwire-worker %(levelname)s %(message)s")
    protocol = os.environ.get(ENV_PROTOCOL)
    if protocol is not None and protocol != str(PROTOCOL_VERSION):
        raise SystemExit("swapwire worker: %s=%s, but this runtime speaks protocol %d"
                         % (ENV_PROTOCOL, protocol, PROTOCOL_VERSION))
    addr = addr or os.environ.get(ENV_ADDR)
    if not addr:
        raise SystemExit("swapwire worker: no address: this program is a Swapwire model worker; "
                         "run it with `swapwire serve --worker ...`, or set %s=unix:///path.sock "
                         "or tcp://127.0.0.1:PORT" % ENV_ADDR)

    protocol_out = sys.stdout
    sys.stdout = sys.stderr
    worker = Worker(model, addr, max_message_bytes=max_message_bytes)

    def on_signal(signum, frame):
        log.info("%s: finishing the call in progress and stopping", signal.Signals(signum).name)
        worker.stop()

    # The handlers stay installed after a signal stopped the worker, so that
    # a second SIGTERM while the process exits cannot turn exit 0 into death
    # by signal.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        protocol_out.write(worker.ready_line() + "\n")
        protocol_out.flush()
        worker.serve_forever()
    except BaseException:
        for s, h in previous.items():
            signal.signal(s, h)
        raise
    finally:
        sys.stdout = protocol_out
    log.info("stopped")
