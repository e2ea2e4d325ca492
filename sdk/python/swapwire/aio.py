"""An asyncio client for a Swapwire server's native API (swapwire.v1).

    from swapwire.aio import Client

    async with Client("127.0.0.1:50051") as c:
        r = await c.predict("what a great day", model="sentiment")
        async for r in c.predict_stream(["good", "bad"], model="sentiment"):
            print(r.id, r.label)

It takes and returns what swapwire.client.Client does (the same values,
results and Error), over grpc.aio. Each method takes timeout= (seconds;
None for no deadline) to override the client's.
"""

from __future__ import annotations

import os
import typing

import grpc
import grpc.aio

from swapwire.client import (_DEFAULT, _HEALTH_STATUS, _MAX_MESSAGE, Error, Evaluation, Input,
                             ModelStatus, Option, PredictResult, RollbackResult, ServiceInfo,
                             ModelSummary, UploadResult, _Upload, _decode_health,
                             _encode_health, _evaluate_requests, _evaluation, _import_numpy,
                             _model_status, _predict_result, _status_code, _upload_result, _wrap,
                             Client as _SyncClient)
from swapwire.v1 import model_pb2, model_pb2_grpc, prediction_pb2, prediction_pb2_grpc

__all__ = ["Client", "Error"]


class Client:
    """An asyncio connection to a Swapwire server; arguments as swapwire.client.Client."""

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
            self._channel = grpc.aio.secure_channel(addr, credentials, options=opts)
        else:
            self._channel = grpc.aio.insecure_channel(addr, options=opts)
        self.addr = addr
        self.timeout = timeout
        self._metadata = (("authorization", "Bearer " + token),) if token else ()
        self._predict = prediction_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_pb2_grpc.ModelServiceStub(self._channel)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: typing.Any) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    @property
    def channel(self) -> grpc.aio.Channel:
        """The underlying grpc.aio.Channel."""
        return self._channel

    def _timeout(self, timeout: typing.Any) -> typing.Optional[float]:
        return self.timeout if timeout is _DEFAULT else timeout

    async def _call(self, method: typing.Any, request: typing.Any, timeout: typing.Any) -> typing.Any:
        try:
            return await method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise _wrap(e) from None

    async def predict(self, input: Input, model: str = "", version: int = 0, label: str = "",
                      option: Option = None, timeout: typing.Any = _DEFAULT) -> PredictResult:
        """Runs one input through a model; see swapwire.client.Client.predict."""
        req = _SyncClient._request(input, model, version, label, option)
        return _predict_result(await self._call(self._predict.Predict, req, timeout),
                               numpy=self._numpy)

    async def predict_stream(self, items: typing.Iterable[typing.Any], model: str = "",
                             version: int = 0, label: str = "", option: Option = None,
                             return_errors: bool = False, timeout: typing.Any = _DEFAULT
                             ) -> typing.AsyncIterator[typing.Union[PredictResult, Error]]:
        """Runs many inputs over one PredictStream, yielding results in order.

        Items are as for swapwire.client.Client.predict_stream (an input, or
        a dict with "input" and any of model, version, label, option, id).
        """
        reqs = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                unknown = set(item) - {"input", "model", "version", "label", "option", "id"}
                if unknown or "input" not in item:
                    raise TypeError("stream item %d: want a dict with \"input\" and any of "
                                    "model, version, label, option, id" % i)
                req = _SyncClient._request(item["input"], item.get("model", model),
                                           item.get("version", version),
                                           item.get("label", label), item.get("option", option))
                reqs.append(prediction_pb2.PredictStreamRequest(id=str(item.get("id", i)),
                                                                request=req))
            else:
                reqs.append(prediction_pb2.PredictStreamRequest(
                    id=str(i), request=_SyncClient._request(item, model, version, label, option)))
        call = self._predict.PredictStream(iter(reqs), timeout=self._timeout(timeout),
                                           metadata=self._metadata)
        try:
            async for resp in call:
                if resp.HasField("error"):
                    err = Error(_status_code(resp.error.code), resp.error.message, id=resp.id)
                    if not return_errors:
                        raise err
                    yield err
                else:
                    yield _predict_result(resp.response, resp.id, self._numpy)
        except Error:
            raise
        except grpc.RpcError as e:
            raise _wrap(e) from None
        finally:
            call.cancel()

    async def service_info(self, timeout: typing.Any = _DEFAULT) -> ServiceInfo:
        """Returns the server's ServiceInfo."""
        r = await self._call(self._predict.ServiceInfo, prediction_pb2.ServiceInfoRequest(),
                             timeout)
        return ServiceInfo(
            name=r.name, service_level=r.service_level, swapwire_version=r.swapwire_version,
            default_model=r.default_model,
            models=[ModelSummary(m.name, m.serving_version, list(m.loaded_versions),
                                 dict(m.labels)) for m in r.models])

    async def health(self, service: str = "", timeout: typing.Any = _DEFAULT) -> str:
        """Asks grpc.health.v1.Health/Check: "SERVING", "NOT_SERVING", ..."""
        check = self._channel.unary_unary("/grpc.health.v1.Health/Check")
        return _HEALTH_STATUS.get(
            _decode_health(await self._call(check, _encode_health(service), timeout)), "UNKNOWN")

    async def models(self, model: str = "", timeout: typing.Any = _DEFAULT
                     ) -> typing.List[ModelStatus]:
        """Returns a list of ModelStatus, sorted by name (only model's when given)."""
        r = await self._call(self._models.ListModels, model_pb2.ListModelsRequest(model=model),
                             timeout)
        return [_model_status(m) for m in r.models]

    async def switch(self, model: str, version: typing.Optional[int] = None,
                     timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Pins model to version, or with None (or 0) makes it follow the latest."""
        r = await self._call(self._models.SwitchModel,
                             model_pb2.SwitchModelRequest(model=model, version=version or 0),
                             timeout)
        return _model_status(r.status)

    async def set_label(self, model: str, label: str, version: typing.Optional[int],
                        timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Points label at version; None or 0 removes it."""
        r = await self._call(self._models.SetLabel,
                             model_pb2.SetLabelRequest(model=model, label=label,
                                                       version=version or 0), timeout)
        return _model_status(r.status)

    async def split(self, model: str, weights: typing.Optional[typing.Mapping[int, int]],
                    timeout: typing.Any = _DEFAULT) -> ModelStatus:
        """Shares unnamed traffic among versions by weight; None or {} removes it."""
        pairs = [model_pb2.VersionWeight(version=v, weight=w)
                 for v, w in sorted((weights or {}).items())]
        r = await self._call(self._models.SplitTraffic,
                             model_pb2.SplitTrafficRequest(model=model, weights=pairs), timeout)
        return _model_status(r.status)

    async def delete_version(self, model: str, version: int,
                             timeout: typing.Any = _DEFAULT) -> None:
        """Removes a version from the store (not the serving one)."""
        await self._call(self._models.DeleteVersion,
                         model_pb2.DeleteVersionRequest(model=model, version=version), timeout)

    async def rollback(self, model: str, timeout: typing.Any = _DEFAULT) -> RollbackResult:
        """Pins model to the good version that served before."""
        r = await self._call(self._models.Rollback, model_pb2.RollbackRequest(model=model),
                             timeout)
        return RollbackResult(from_version=r.from_version, to_version=r.to_version)

    async def upload(self, model: str, path: typing.Union[str, "os.PathLike[str]"],
                     version: int = 0, chunk_size: int = 1 << 20,
                     progress: typing.Optional[typing.Callable[[int, int], None]] = None,
                     timeout: typing.Any = _DEFAULT) -> UploadResult:
        """Publishes a directory or a file as a new version; see swapwire.client.Client.upload.

        The archive is built before the call starts (in memory, or in a temp
        file when large), blocking the event loop for that long."""
        with _Upload(model, path, version, chunk_size, progress) as up:
            r = await self._call(self._models.UploadModel, up.requests(), timeout)
        return _upload_result(r)

    async def evaluate(self, model: str, examples: typing.Iterable[typing.Any], version: int = 0,
                       details: bool = False, timeout: typing.Any = _DEFAULT) -> Evaluation:
        """Streams labelled examples through a version; see swapwire.client.Client.evaluate."""
        r = await self._call(self._models.EvaluateModel,
                             _evaluate_requests(model, examples, version, details), timeout)
        return _evaluation(r)
