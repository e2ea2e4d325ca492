"""The worker gRPC server: WorkerService and grpc.health.v1 around a model."""

import logging
import os
import platform
import signal
import stat
import sys
import threading
import traceback
from concurrent import futures

import grpc

from swapwire.worker import _convert, _health
from swapwire.worker.v1 import worker_pb2, worker_pb2_grpc

PROTOCOL_VERSION = 1
ENV_PROTOCOL = "SWAPWIRE_WORKER_PROTOCOL"
ENV_ADDR = "SWAPWIRE_WORKER_ADDR"
READY_PREFIX = "SWAPWIRE_WORKER"
WORKER_SERVICE = "swapwire.worker.v1.WorkerService"

# Bigger than grpcio's 4 MiB default: batches of images add up.
DEFAULT_MAX_MESSAGE_BYTES = 64 << 20
DEFAULT_GRACE_SECONDS = 30.0

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


class _Servicer(worker_pb2_grpc.WorkerServiceServicer):
    def __init__(self, model, health):
        self._model = model
        self._health = health
        # The protocol sends one request at a time; the lock makes sure the
        # model never sees two even if a client sends more.
        self._lock = threading.Lock()
        self._loaded = False
        self._batch = callable(getattr(model, "predict_batch", None))

    def Info(self, request, context):
        kinds = getattr(self._model, "input_kinds", None) or []
        return worker_pb2.InfoResponse(
            pid=os.getpid(),
            protocol_version=PROTOCOL_VERSION,
            input_kinds=list(kinds),
            batch=self._batch,
            runtime="python " + platform.python_version(),
        )

    def Load(self, request, context):
        with self._lock:
            self._loaded = False
            self._health.set_all(_health.NOT_SERVING)
            try:
                self._model.load(request.dir)
            except Exception as exc:  # the worker lives; the server sees the status
                log.error("load %s failed:\n%s", request.dir, traceback.format_exc())
                code = exc.code if isinstance(exc, Error) else grpc.StatusCode.FAILED_PRECONDITION
                context.abort(code, "load %s: %s" % (request.dir, _last_line(exc)))
            self._loaded = True
            self._health.set_all(_health.SERVING)
            log.info("loaded %s", request.dir)
            return worker_pb2.LoadResponse()

    def _require_loaded(self, context):
        if not self._loaded:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no model loaded: call Load first")

    def Predict(self, request, context):
        with self._lock:
            self._require_loaded(context)
            try:
                value = _convert.input_from_value(request.input)
                option = _convert.option_from_struct(request.option, request.HasField("option"))
                result = self._model.predict(value, option)
            except Exception as exc:
                code, message = status_of(exc)
                if code is grpc.StatusCode.INTERNAL:
                    log.error("predict failed:\n%s", traceback.format_exc())
                context.abort(code, message)
            try:
                return _convert.response_from_result(result)
            except Exception as exc:
                context.abort(grpc.StatusCode.INTERNAL, "bad predict result: %s" % exc)

    def PredictBatch(self, request, context):
        if not self._batch:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "the model has no predict_batch")
        with self._lock:
            self._require_loaded(context)
            n = len(request.items)
            results = [None] * n
            inputs, options, index = [], [], []
            for i, item in enumerate(request.items):
                try:
                    inputs.append(_convert.input_from_value(item.input))
                except ValueError as exc:
                    results[i] = _error_result(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                    continue
                options.append(_convert.option_from_struct(item.option, item.HasField("option")))
                index.append(i)
            if index:
                try:
                    outputs = list(self._model.predict_batch(inputs, options))
                except Exception as exc:
                    code, message = status_of(exc)
                    if code is grpc.StatusCode.INTERNAL:
                        log.error("predict_batch failed:\n%s", traceback.format_exc())
                    context.abort(code, message)
                if len(outputs) != len(inputs):
                    context.abort(grpc.StatusCode.INTERNAL,
                                  "predict_batch returned %d results for %d inputs"
                                  % (len(outputs), len(inputs)))
                for i, out in zip(index, outputs):
                    results[i] = _batch_result(out)
            return worker_pb2.PredictBatchResponse(results=results)


def _error_result(code, message):
    r = worker_pb2.BatchResult()
    r.error.code = code.value[0]
    r.error.message = message
    return r


def _batch_result(out):
    if isinstance(out, BaseException):
        return _error_result(*status_of(out))
    try:
        return worker_pb2.BatchResult(response=_convert.response_from_result(out))
    except Exception as exc:
        return _error_result(grpc.StatusCode.INTERNAL, "bad predict result: %s" % exc)


def parse_addr(addr):
    """Returns (scheme, where, grpc_target) for unix:///path or tcp://host:port."""
    if addr.startswith("unix://"):
        path = addr[len("unix://"):]
        if not path.startswith("/"):
            raise ValueError("worker address %r: want unix:///absolute/path" % addr)
        return "unix", path, "unix:" + path
    if addr.startswith("tcp://"):
        hostport = addr[len("tcp://"):]
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("worker address %r: want tcp://host:port" % addr)
        return "tcp", hostport, hostport
    raise ValueError("worker address %r: want unix:///path or tcp://host:port" % addr)


def _remove_stale_socket(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class Worker:
    """A started worker server. serve() is the usual way to run one."""

    def __init__(self, model, addr, max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES):
        if isinstance(model, type):
            model = model()
        for name in ("load", "predict"):
            if not callable(getattr(model, name, None)):
                raise TypeError("model %s has no %s method" % (type(model).__name__, name))
        self.model = model
        self.scheme, where, target = parse_addr(addr)
        self.health = _health.Health(["", WORKER_SERVICE])
        # Three threads: the model runs on one at a time (see _Servicer), so
        # health checks are answered while a prediction runs.
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="swapwire-worker"),
            options=[("grpc.max_receive_message_length", max_message_bytes),
                     ("grpc.max_send_message_length", max_message_bytes),
                     ("grpc.so_reuseport", 0)])
        worker_pb2_grpc.add_WorkerServiceServicer_to_server(
            _Servicer(model, self.health), self.server)
        self.server.add_generic_rpc_handlers((self.health.handler(),))
        self._socket_path = None
        if self.scheme == "unix":
            _remove_stale_socket(where)
            self._socket_path = where
        port = self.server.add_insecure_port(target)
        if self.scheme == "tcp":
            if port == 0:
                raise OSError("cannot listen on %s" % where)
            where = "%s:%d" % (where.rpartition(":")[0], port)
        self.where = where
        self._stopping = threading.Event()

    def ready_line(self):
        return "%s|%d|%s|%s" % (READY_PREFIX, PROTOCOL_VERSION, self.scheme, self.where)

    def start(self):
        self.server.start()

    def stop(self, grace=DEFAULT_GRACE_SECONDS):
        """Stops accepting requests and lets the in-flight one finish within grace seconds."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.health.set_all(_health.NOT_SERVING)
        self.server.stop(grace)

    def wait(self):
        self.server.wait_for_termination()
        if self._socket_path:
            try:
                os.unlink(self._socket_path)
            except OSError:
                pass
        close = getattr(self.model, "close", None)
        if callable(close):
            close()


def serve(model, addr=None, grace=DEFAULT_GRACE_SECONDS,
          max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES):
    """Serves model as a Swapwire worker until SIGTERM or SIGINT, then returns.

    model is an instance or a class with load(path) and predict(input, option),
    and optionally predict_batch(inputs, options), input_kinds and close().
    addr defaults to $SWAPWIRE_WORKER_ADDR: unix:///path.sock or tcp://host:port
    (port 0 picks a free port). Once serving, it prints the ready line
    SWAPWIRE_WORKER|1|unix|/path.sock (or ...|tcp|host:port) on stdout. Anything
    the model prints afterwards goes to stderr, so stdout stays the protocol's.
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
        log.info("%s: draining and stopping", signal.Signals(signum).name)
        worker.stop(grace)

    # The handlers stay installed after a signal stopped the worker, so that
    # a second SIGTERM while the process exits cannot turn exit 0 into death
    # by signal.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.start()
        protocol_out.write(worker.ready_line() + "\n")
        protocol_out.flush()
        worker.wait()
    except BaseException:
        for s, h in previous.items():
            signal.signal(s, h)
        raise
    finally:
        sys.stdout = protocol_out
    log.info("stopped")
