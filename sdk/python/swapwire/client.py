"""A Python client for a Swapwire server's native API (swapwire.v1).

    from swapwire.client import Client

    with Client("127.0.0.1:50051") as c:
        r = c.predict("what a great day", model="sentiment")
        r.label, r.scores, r.option          # "positive", [2.0], {"matched": [...], ...}
        c.upload("digits", "examples/digits/model/v2")
        c.switch("digits", 1)

Inputs and labels are plain Python values: str is text, bytes is data, a
list of ints is ints, a list of numbers with any float is floats, a list of
str is strings (an int or a float alone is a one-element array). A numpy
array is flattened and sent by its dtype: float dtypes as floats (whole
numbers stay floats), integer and bool dtypes as ints, str as strings. With
Client(numpy=True), ints and floats labels and the scores come back as numpy
arrays. Options are dicts. Every failed call raises Error, a grpc.RpcError
that carries code() and details() like grpc's own.

Needs only grpcio and protobuf; numpy is used when given or asked for.
swapwire.aio has the same client for asyncio.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import os
import stat
import tarfile
import tempfile
import typing

import grpc

from swapwire.v1 import model_pb2, model_pb2_grpc, prediction_pb2, prediction_pb2_grpc, value_pb2
from swapwire.worker._convert import fill_option, option_from_struct, value_from_label

__all__ = [
    "Client", "Error", "PredictResult", "ServiceInfo", "ModelSummary", "ModelStatus",
    "VersionStatus", "UploadResult", "RollbackResult", "Evaluation", "LabelMetrics",
    "ExampleResult", "to_value", "from_value",
]

# What a prediction takes: str, bytes, a number, a list of numbers or str,
# a numpy array, or a swapwire.v1.Value.
Input = typing.Union[str, bytes, int, float, typing.Sequence[typing.Any], value_pb2.Value,
                     typing.Any]
Option = typing.Optional[typing.Mapping[str, typing.Any]]

_MAX_MESSAGE = 64 << 20
# The default of every method's timeout: the client's timeout.
_DEFAULT = object()
# Archives up to this size are built in memory; larger ones in a temp file.
_MEMORY_ARCHIVE = 64 << 20


class Error(grpc.RpcError):
    """A failed call: a gRPC status code and message.

    code() and details() answer like grpc's own errors; code is the
    grpc.StatusCode and message the text, as attributes too. For an item of
    predict_stream, id is the item's id.
    """

    def __init__(self, code: grpc.StatusCode, message: str, id: typing.Optional[str] = None) -> None:
        super().__init__("%s: %s" % (code.name, message))
        self.code_ = code
        self.message = message
        self.id = id

    def code(self) -> grpc.StatusCode:
        return self.code_

    def details(self) -> str:
        return self.message

    def __repr__(self):
        return "Error(%s, %r)" % (self.code_.name, self.message)


_CODES = {c.value[0]: c for c in grpc.StatusCode}


def _status_code(number):
    return _CODES.get(number, grpc.StatusCode.UNKNOWN)


def _wrap(err):
    if isinstance(err, Error):
        return err
    code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
    details = err.details() if callable(getattr(err, "details", None)) else str(err)
    return Error(code or grpc.StatusCode.UNKNOWN, details or "")


# ---------------------------------------------------------------------------
# Values.

def _numpy_value(x: typing.Any) -> typing.Optional[value_pb2.Value]:
    """Returns the Value for a numpy array or scalar by its dtype, or None
    when x is not one. numpy is not imported: an array is recognised by its
    dtype.kind and ravel()."""
    dtype = getattr(x, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if not isinstance(kind, str) or not callable(getattr(x, "tolist", None)):
        return None
    flat = x.ravel().tolist() if callable(getattr(x, "ravel", None)) else [x.tolist()]
    v = value_pb2.Value()
    if kind == "f":
        v.floats.values.extend(float(e) for e in flat)
    elif kind in "iub":
        v.ints.values.extend(int(e) for e in flat)
    elif kind == "U":
        v.strings.values.extend(flat)
    else:
        raise TypeError("numpy dtype %s is not supported; want a float, int, bool or str dtype"
                        % dtype)
    return v


def to_value(x: Input) -> value_pb2.Value:
    """Returns the swapwire.v1.Value for a Python value (a Value is returned as is).

    A numpy array goes by its dtype (see the module documentation). Raises
    TypeError for a value no Value kind can hold.
    """
    if isinstance(x, value_pb2.Value):
        return x
    if x is None:
        raise TypeError("input is None; want str, bytes or a list of ints, floats or str")
    v = _numpy_value(x)
    if v is not None:
        return v
    return value_from_label(x)


def from_value(v: value_pb2.Value, numpy: typing.Any = None) -> typing.Any:
    """Returns the Python value a swapwire.v1.Value holds; None when it holds nothing.

    With numpy (the numpy module), ints and floats come back as int64 and
    float64 arrays.
    """
    kind = v.WhichOneof("kind")
    if kind == "text":
        return v.text
    if kind == "data":
        return bytes(v.data)
    if kind == "ints":
        if numpy is not None:
            return numpy.array(v.ints.values, dtype=numpy.int64)
        return list(v.ints.values)
    if kind == "floats":
        if numpy is not None:
            return numpy.array(v.floats.values, dtype=numpy.float64)
        return list(v.floats.values)
    if kind == "strings":
        return list(v.strings.values)
    return None


def _struct(option, into):
    if option:
        fill_option(into, option)


# ---------------------------------------------------------------------------
# Results.

@dataclasses.dataclass
class PredictResult:
    """One prediction's answer. label is the model's output as a Python value."""
    model: str
    version: int
    label: typing.Any
    scores: typing.Any  # a list of float, or a float64 array with numpy=True
    option: typing.Dict[str, typing.Any]
    id: str = ""

    @property
    def score(self) -> typing.Optional[float]:
        """The first score, or None when there are none."""
        return float(self.scores[0]) if len(self.scores) else None


def _predict_result(resp, id="", numpy=None):
    return PredictResult(
        model=resp.model, version=resp.version, label=from_value(resp.output, numpy),
        scores=(numpy.array(resp.scores, dtype=numpy.float64) if numpy is not None
                else list(resp.scores)),
        option=option_from_struct(resp.option, resp.HasField("option")),
        id=id)


def _import_numpy(want: bool) -> typing.Any:
    if not want:
        return None
    try:
        import numpy
    except ImportError as e:
        raise ImportError("Client(numpy=True) needs numpy (Debian: python3-numpy)") from e
    return numpy


@dataclasses.dataclass
class ModelSummary:
    name: str
    serving_version: int
    loaded_versions: typing.List[int]
    labels: typing.Dict[str, int]


@dataclasses.dataclass
class ServiceInfo:
    name: str
    service_level: str
    swapwire_version: str
    default_model: str
    models: typing.List[ModelSummary]


@dataclasses.dataclass
class VersionStatus:
    version: int
    state: str                  # "AVAILABLE", "LOADING", "SERVING", "STANDBY", "DRAINING", "FAILED"
    error: str
    load_seconds: float
    loaded_at: typing.Optional[datetime.datetime]
    in_flight: int


@dataclasses.dataclass
class ModelStatus:
    name: str
    serving_version: int
    pinned_version: int         # 0 when following the latest version
    labels: typing.Dict[str, int]
    versions: typing.List[VersionStatus]
    default: bool
    weights: typing.Dict[int, int] = dataclasses.field(default_factory=dict)  # traffic split

    def version(self, number):
        """Returns the VersionStatus of one version, or None."""
        for v in self.versions:
            if v.version == number:
                return v
        return None


def _state_name(state):
    name = model_pb2.VersionState.Name(state)
    return name[len("VERSION_STATE_"):] if name.startswith("VERSION_STATE_") else name


def _model_status(m):
    versions = []
    for v in m.versions:
        versions.append(VersionStatus(
            version=v.version, state=_state_name(v.state), error=v.error,
            load_seconds=v.load_duration.ToTimedelta().total_seconds(),
            loaded_at=(v.loaded_at.ToDatetime().replace(tzinfo=datetime.timezone.utc)
                       if v.HasField("loaded_at") else None),
            in_flight=v.in_flight))
    return ModelStatus(name=m.name, serving_version=m.serving_version,
                       pinned_version=m.pinned_version, labels=dict(m.labels),
                       versions=versions, default=getattr(m, "default"),
                       weights={w.version: w.weight for w in m.weights})


@dataclasses.dataclass
class UploadResult:
    model: str
    version: int
    sha256: str
    size: int
    files: int


@dataclasses.dataclass
class RollbackResult:
    from_version: int
    to_version: int


@dataclasses.dataclass
class LabelMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclasses.dataclass
class ExampleResult:
    index: int
    expected: str
    predicted: str
    correct: bool
    error: str


@dataclasses.dataclass
class Evaluation:
    model: str
    version: int
    examples: int
    errors: int
    accuracy: float
    labels: typing.List[LabelMetrics]
    confusion_labels: typing.List[str]
    confusion: typing.List[typing.List[int]]   # rows: expected, columns: predicted
    details: typing.List[ExampleResult]


# ---------------------------------------------------------------------------
# grpc.health.v1, encoded by hand: HealthCheckRequest{string service = 1},
# HealthCheckResponse{ServingStatus status = 1}.

_HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _encode_health(service):
    if not service:
        return b""
    b = service.encode("utf-8")
    return b"\x0a" + _varint(len(b)) + b


def _decode_health(data):
    """Returns field 1 (a varint) of a HealthCheckResponse; 0 when absent."""
    i, status = 0, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(data, i)
            if field == 1:
                status = v
        elif wire == 2:
            n, i = _read_varint(data, i)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("malformed health response")
    return status


def _read_varint(data, i):
    shift = n = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("malformed health response")
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7


# ---------------------------------------------------------------------------
# Archives.

def _archive_entries(path):
    """Yields (abs path, archive name) for a file or a directory tree, sorted."""
    path = os.path.abspath(path)
    st = os.stat(path)
    if stat.S_ISREG(st.st_mode):
        yield path, os.path.basename(path)
        return
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError("%s is neither a file nor a directory" % path)
    for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
        dirnames.sort()
        rel = os.path.relpath(dirpath, path)
        if rel != ".":
            yield dirpath, rel.replace(os.sep, "/")
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            name = f if rel == "." else rel.replace(os.sep, "/") + "/" + f
            if not stat.S_ISREG(os.stat(full).st_mode):
                raise ValueError("%s is not a regular file; a model version holds only "
                                 "directories and regular files" % full)
            yield full, name


def build_archive(path, fileobj):
    """Writes a tar of a directory's contents (or of one file) to fileobj.

    Entry names are relative to the directory, links are followed, and owner
    and times are dropped so that the same tree gives the same archive.
    """
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT,
                      dereference=True) as tar:
        n = 0
        for full, name in _archive_entries(path):
            info = tar.gettarinfo(full, arcname=name)
            if info.isdir():
                info.type = tarfile.DIRTYPE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isdir():
                tar.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.size = os.stat(full).st_size
                with open(full, "rb") as f:
                    tar.addfile(info, f)
                n += 1
        if n == 0:
            raise ValueError("%s holds no files" % path)


def _tree_size(path):
    return sum(os.stat(full).st_size for full, name in _archive_entries(path)
               if not os.path.isdir(full))


# ---------------------------------------------------------------------------
# The client.

class Client:
    """A connection to a Swapwire server.

    addr is host:port (or any gRPC target). token, when given, is sent as
    "authorization: Bearer <token>" (admin calls need it unless the server
    takes them from loopback or a client certificate). timeout is the
    default deadline in seconds of each call; every method takes timeout= to
    override it (None for no deadline). credentials, a
    grpc.ChannelCredentials, makes a TLS channel; options are extra channel
    options. numpy=True returns ints and floats labels and the scores as
    numpy arrays (and needs numpy). Use it as a context manager or call
    close().
    """

    def __init__(self, addr: str, token: typing.Optional[str] = None,
                 timeout: typing.Optional[float] = 30,
                 credentials: typing.Optional[grpc.ChannelCredentials] = None,
                 options: typing.Optional[typing.Sequence[typing.Tuple[str, typing.Any]]] = None,
                 numpy: bool = False) -> None:
        self._numpy = _import_numpy(numpy)
        opts = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                ("grpc.max_send_message_length", _MAX_MESSAGE)]
        opts.extend(options or [])
        if credentials is not None:
            self._channel = grpc.secure_channel(addr, credentials, options=opts)
        else:
            self._channel = grpc.insecure_channel(addr, options=opts)
        self.addr = addr
        self.timeout = timeout
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        self._predict = prediction_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_pb2_grpc.ModelServiceStub(self._channel)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: typing.Any) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    @property
    def channel(self) -> grpc.Channel:
        """The underlying grpc.Channel, for other services on the same port."""
        return self._channel

    def _call(self, method, request, timeout):
        t = self.timeout if timeout is _DEFAULT else timeout
        try:
            return method(request, timeout=t, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _wrap(e) from None

    # -- prediction ---------------------------------------------------------

    @staticmethod
    def _request(input, model="", version=0, label="", option=None):
        req = prediction_pb2.PredictRequest(model=model or "", version=version or 0,
                                            label=label or "")
        req.input.CopyFrom(to_value(input))
        _struct(option, req.option)
        return req

    def predict(self, input: Input, model: str = "", version: int = 0, label: str = "",
                option: Option = None, timeout: typing.Any = _DEFAULT) -> PredictResult:
        """Runs one input through a model and returns a PredictResult.

        model "" is the server's default model; version 0 the serving
        version; label a version label such as "canary".
        """
        req = self._request(input, model, version, label, option)
        return _predict_result(self._call(self._predict.Predict, req, timeout), numpy=self._numpy)

    def predict_stream(self, items: typing.Iterable[typing.Any], model: str = "",
                       version: int = 0, label: str = "", option: Option = None,
                       return_errors: bool = False, timeout: typing.Any = _DEFAULT
                       ) -> typing.Iterator[typing.Union[PredictResult, Error]]:
        """Runs many inputs over one PredictStream and yields a PredictResult each, in order.

        An item is an input, or a dict with "input" and any of "model",
        "version", "label", "option", "id" (the other arguments are the
        defaults). Results carry the item's id ("0", "1", ... unless given).
        A failed item raises its Error, or with return_errors=True is yielded
        as an Error instance and the stream goes on.
        """
        bad = []  # an exception raised while making a request, re-raised here

        def make(i, item):
            if isinstance(item, dict):
                unknown = set(item) - {"input", "model", "version", "label", "option", "id"}
                if unknown or "input" not in item:
                    raise TypeError("stream item %d: want a dict with \"input\" and any of "
                                    "model, version, label, option, id" % i)
                req = self._request(item["input"], item.get("model", model),
                                    item.get("version", version), item.get("label", label),
                                    item.get("option", option))
                return prediction_pb2.PredictStreamRequest(id=str(item.get("id", i)), request=req)
            return prediction_pb2.PredictStreamRequest(
                id=str(i), request=self._request(item, model, version, label, option))

        def requests():
            # grpc runs this in its own thread and would turn an exception
            # into a bare CANCELLED; keep it for the caller instead.
            try:
                for i, item in enumerate(items):
                    yield make(i, item)
            except Exception as e:  # noqa: BLE001
                bad.append(e)

        t = self.timeout if timeout is _DEFAULT else timeout
        call = self._predict.PredictStream(requests(), timeout=t, metadata=self._metadata)
        try:
            for resp in call:
                if bad:
                    raise bad[0]
                if resp.HasField("error"):
                    err = Error(_status_code(resp.error.code), resp.error.message, id=resp.id)
                    if not return_errors:
                        call.cancel()
                        raise err
                    yield err
                else:
                    yield _predict_result(resp.response, resp.id, self._numpy)
            if bad:
                raise bad[0]
        except grpc.RpcError as e:
            if bad:
                raise bad[0] from None
            if isinstance(e, Error):
                raise
            raise _wrap(e) from None
        finally:
            call.cancel()

    def service_info(self, timeout: typing.Any = _DEFAULT) -> ServiceInfo:
        """Returns the server's ServiceInfo."""
        r = self._call(self._predict.ServiceInfo, prediction_pb2.ServiceInfoRequest(), timeout)
        return ServiceInfo(
            name=r.name, service_level=r.service_level, swapwire_version=r.swapwire_version,
            default_model=r.default_model,
            models=[ModelSummary(m.name, m.serving_version, list(m.loaded_versions),
                                 dict(m.labels)) for m in r.models])

    def health(self, service: str = "", timeout: typing.Any = _DEFAULT) -> str:
        """Asks grpc.health.v1.Health/Check and returns the status name.

        service "" is the whole server; a model name is that model. Returns
        "SERVING", "NOT_SERVING", "UNKNOWN" or "SERVICE_UNKNOWN"; an unknown
        service raises Error(NOT_FOUND). The messages are encoded here, so
        no grpcio-health-checking package is needed.
        """
        check = self._channel.unary_unary("/grpc.health.v1.Health/Check")
        return _HEALTH_STATUS.get(
            _decode_health(self._call(check, _encode_health(service), timeout)), "UNKNOWN")

    # -- administration -----------------------------------------------------

    def models(self, model: str = "", timeout: typing.Any = _DEFAULT) -> typing.List[ModelStatus]:
        """Returns a list of ModelStatus, sorted by name (only model's when given)."""
        r = self._call(self._models.ListModels, model_pb2.ListModelsRequest(model=model), timeout)
        return [_model_status(m) for m in r.models]

    def model(self, model: str, timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Returns one model's ModelStatus."""
        found = self.models(model, timeout=timeout)
        if not found:
            raise Error(grpc.StatusCode.NOT_FOUND, "model %r is not served here" % model)
        return found[0]

    def upload(self, model: str, path: typing.Union[str, os.PathLike], version: int = 0,
               chunk_size: int = 1 << 20,
               progress: typing.Optional[typing.Callable[[int, int], None]] = None,
               timeout: typing.Any = _DEFAULT) -> UploadResult:
        """Publishes a directory (its contents) or a single file as a new model version.

        It builds a tar archive (in memory, or in a temp file when large),
        sends a header with its sha256 and size, then the archive in chunks.
        version 0 takes the next free version. progress, when given, is
        called as progress(sent_bytes, total_bytes) after each chunk.
        Returns an UploadResult.
        """
        with _Upload(model, path, version, chunk_size, progress) as up:
            r = self._call(self._models.UploadModel, up.requests(), timeout)
        return _upload_result(r)

    def switch(self, model: str, version: typing.Optional[int] = None,
               timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Pins model to version, or with None (or 0) makes it follow the latest.

        Returns the model's ModelStatus after the change was written.
        """
        r = self._call(self._models.SwitchModel,
                       model_pb2.SwitchModelRequest(model=model, version=version or 0), timeout)
        return _model_status(r.status)

    def set_label(self, model: str, label: str, version: typing.Optional[int],
                  timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Points label at version; None or 0 removes it. Returns the ModelStatus."""
        r = self._call(self._models.SetLabel,
                       model_pb2.SetLabelRequest(model=model, label=label, version=version or 0),
                       timeout)
        return _model_status(r.status)

    def split(self, model: str, weights: typing.Optional[typing.Mapping[int, int]],
              timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Shares the traffic that names no version among versions by weight,
        such as {3: 90, 4: 10}; an empty dict or None removes the split.
        Returns the ModelStatus."""
        pairs = [model_pb2.VersionWeight(version=v, weight=w) for v, w in sorted((weights or {}).items())]
        r = self._call(self._models.SplitTraffic,
                       model_pb2.SplitTrafficRequest(model=model, weights=pairs), timeout)
        return _model_status(r.status)

    def rollback(self, model: str, timeout: typing.Any = _DEFAULT) -> RollbackResult:
        """Pins model to the good version that served before. Returns a RollbackResult."""
        r = self._call(self._models.Rollback, model_pb2.RollbackRequest(model=model), timeout)
        return RollbackResult(from_version=r.from_version, to_version=r.to_version)

    def delete_version(self, model: str, version: int, timeout: typing.Any = _DEFAULT) -> None:
        """Removes a version from the store (not the serving one)."""
        self._call(self._models.DeleteVersion,
                   model_pb2.DeleteVersionRequest(model=model, version=version), timeout)

    def evaluate(self, model: str, examples: typing.Iterable[typing.Any], version: int = 0,
                 details: bool = False, timeout: typing.Any = _DEFAULT) -> Evaluation:
        """Streams labelled examples through a model version and returns an Evaluation.

        An example is (input, label), (input, label, option) or a dict with
        "input", "label" and optionally "option". A label is a Python value
        like an input (an int label is ints [x]); labels compare by their text
        form. details=True also returns one ExampleResult per example.
        """
        r = self._call(self._models.EvaluateModel,
                       _evaluate_requests(model, examples, version, details), timeout)
        return _evaluation(r)


class _Upload:
    """The archive of an upload and the requests that send it; a context
    manager that removes the archive (in memory, or a temp file when large).
    The sync and asyncio clients share it."""

    def __init__(self, model: str, path: typing.Union[str, os.PathLike], version: int,
                 chunk_size: int, progress: typing.Optional[typing.Callable[[int, int], None]]):
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self._buf = (io.BytesIO() if _tree_size(path) < _MEMORY_ARCHIVE
                     else tempfile.TemporaryFile(prefix="swapwire-upload-"))
        try:
            build_archive(path, self._buf)
            self.total = self._buf.tell()
            self._buf.seek(0)
            h = hashlib.sha256()
            while True:
                b = self._buf.read(1 << 20)
                if not b:
                    break
                h.update(b)
        except BaseException:
            self._buf.close()
            raise
        self._header = model_pb2.UploadHeader(model=model, version=version or 0,
                                              sha256=h.hexdigest(), size=self.total)
        self._chunk = chunk_size
        self._progress = progress

    def __enter__(self) -> "_Upload":
        return self

    def __exit__(self, *exc: typing.Any) -> None:
        self._buf.close()

    def requests(self) -> typing.Iterator[model_pb2.UploadModelRequest]:
        """The header, then the archive in chunks, calling progress(sent, total)
        after each."""
        yield model_pb2.UploadModelRequest(header=self._header)
        self._buf.seek(0)
        sent = 0
        while True:
            b = self._buf.read(self._chunk)
            if not b:
                break
            sent += len(b)
            yield model_pb2.UploadModelRequest(chunk=b)
            if self._progress is not None:
                self._progress(sent, self.total)


def _upload_result(r: typing.Any) -> UploadResult:
    return UploadResult(model=r.model, version=r.version, sha256=r.sha256, size=r.size,
                        files=r.files)


def _evaluate_requests(model: str, examples: typing.Iterable[typing.Any], version: int,
                       details: bool) -> typing.Iterator[model_pb2.EvaluateModelRequest]:
    """The header, then one request per labelled example (see Client.evaluate)."""
    yield model_pb2.EvaluateModelRequest(
        header=model_pb2.EvaluationHeader(model=model or "", version=version or 0,
                                          details=details))
    for i, ex in enumerate(examples):
        if isinstance(ex, dict):
            inp, lab, opt = ex.get("input"), ex.get("label"), ex.get("option")
        elif isinstance(ex, (tuple, list)) and len(ex) in (2, 3):
            inp, lab = ex[0], ex[1]
            opt = ex[2] if len(ex) == 3 else None
        else:
            raise TypeError("example %d: want (input, label[, option]) or a dict" % i)
        le = model_pb2.LabelledExample()
        le.input.CopyFrom(to_value(inp))
        le.label.CopyFrom(to_value(lab))
        _struct(opt, le.option)
        yield model_pb2.EvaluateModelRequest(example=le)


def _evaluation(r: typing.Any) -> Evaluation:
    return Evaluation(
        model=r.model, version=r.version, examples=r.examples, errors=r.errors,
        accuracy=r.accuracy,
        labels=[LabelMetrics(m.label, m.precision, m.recall, m.f1, m.support)
                for m in r.labels],
        confusion_labels=list(r.confusion.labels),
        confusion=[list(row.counts) for row in r.confusion.rows],
        details=[ExampleResult(d.index, d.expected, d.predicted, d.correct, d.error)
                 for d in r.details])
