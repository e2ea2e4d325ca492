from google.protobuf import struct_pb2 as _struct_pb2
from swapwire.v1 import prediction_pb2 as _prediction_pb2
from swapwire.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchResult(_message.Message):
    __slots__ = ["error", "response"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    error: _prediction_pb2.Error
    response: PredictResponse
    def __init__(self, response: _Optional[_Union[PredictResponse, _Mapping]] = ..., error: _Optional[_Union[_prediction_pb2.Error, _Mapping]] = ...) -> None: ...

class Call(_message.Message):
    __slots__ = ["id", "info", "load", "predict", "predict_batch", "unload"]
    ID_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    PREDICT_BATCH_FIELD_NUMBER: _ClassVar[int]
    PREDICT_FIELD_NUMBER: _ClassVar[int]
    UNLOAD_FIELD_NUMBER: _ClassVar[int]
    id: int
    info: InfoRequest
    load: LoadRequest
    predict: PredictRequest
    predict_batch: PredictBatchRequest
    unload: UnloadRequest
    def __init__(self, id: _Optional[int] = ..., info: _Optional[_Union[InfoRequest, _Mapping]] = ..., load: _Optional[_Union[LoadRequest, _Mapping]] = ..., unload: _Optional[_Union[UnloadRequest, _Mapping]] = ..., predict: _Optional[_Union[PredictRequest, _Mapping]] = ..., predict_batch: _Optional[_Union[PredictBatchRequest, _Mapping]] = ...) -> None: ...

class InfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ["batch", "input_kinds", "multi_version", "packed_batch", "pid", "protocol_version", "runtime", "signature", "versions"]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    INPUT_KINDS_FIELD_NUMBER: _ClassVar[int]
    MULTI_VERSION_FIELD_NUMBER: _ClassVar[int]
    PACKED_BATCH_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    batch: bool
    input_kinds: _containers.RepeatedScalarFieldContainer[str]
    multi_version: bool
    packed_batch: bool
    pid: int
    protocol_version: int
    runtime: str
    signature: Signature
    versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pid: _Optional[int] = ..., protocol_version: _Optional[int] = ..., input_kinds: _Optional[_Iterable[str]] = ..., batch: bool = ..., runtime: _Optional[str] = ..., multi_version: bool = ..., versions: _Optional[_Iterable[str]] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., packed_batch: bool = ...) -> None: ...

class LoadRequest(_message.Message):
    __slots__ = ["dir", "version"]
    DIR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    dir: str
    version: str
    def __init__(self, dir: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class LoadResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class PackedInputs(_message.Message):
    __slots__ = ["count", "values"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    count: int
    values: _value_pb2.Value
    def __init__(self, count: _Optional[int] = ..., values: _Optional[_Union[_value_pb2.Value, _Mapping]] = ...) -> None: ...

class PackedResults(_message.Message):
    __slots__ = ["labels", "score_width", "scores"]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SCORE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    labels: _value_pb2.Value
    score_width: int
    scores: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, labels: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., scores: _Optional[_Iterable[float]] = ..., score_width: _Optional[int] = ...) -> None: ...

class PredictBatchRequest(_message.Message):
    __slots__ = ["items", "packed", "traceparent", "version"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    PACKED_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[PredictRequest]
    packed: PackedInputs
    traceparent: str
    version: str
    def __init__(self, items: _Optional[_Iterable[_Union[PredictRequest, _Mapping]]] = ..., version: _Optional[str] = ..., traceparent: _Optional[str] = ..., packed: _Optional[_Union[PackedInputs, _Mapping]] = ...) -> None: ...

class PredictBatchResponse(_message.Message):
    __slots__ = ["packed", "results"]
    PACKED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    packed: PackedResults
    results: _containers.RepeatedCompositeFieldContainer[BatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BatchResult, _Mapping]]] = ..., packed: _Optional[_Union[PackedResults, _Mapping]] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ["input", "inputs", "option", "traceparent", "version"]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    input: _value_pb2.Value
    inputs: _containers.RepeatedCompositeFieldContainer[Tensor]
    option: _struct_pb2.Struct
    traceparent: str
    version: str
    def __init__(self, input: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., option: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., version: _Optional[str] = ..., traceparent: _Optional[str] = ..., inputs: _Optional[_Iterable[_Union[Tensor, _Mapping]]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ["option", "output", "scores"]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    option: _struct_pb2.Struct
    output: _value_pb2.Value
    scores: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, output: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., scores: _Optional[_Iterable[float]] = ..., option: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Reply(_message.Message):
    __slots__ = ["error", "id", "info", "load", "predict", "predict_batch", "unload"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    PREDICT_BATCH_FIELD_NUMBER: _ClassVar[int]
    PREDICT_FIELD_NUMBER: _ClassVar[int]
    UNLOAD_FIELD_NUMBER: _ClassVar[int]
    error: _prediction_pb2.Error
    id: int
    info: InfoResponse
    load: LoadResponse
    predict: PredictResponse
    predict_batch: PredictBatchResponse
    unload: UnloadResponse
    def __init__(self, id: _Optional[int] = ..., error: _Optional[_Union[_prediction_pb2.Error, _Mapping]] = ..., info: _Optional[_Union[InfoResponse, _Mapping]] = ..., load: _Optional[_Union[LoadResponse, _Mapping]] = ..., unload: _Optional[_Union[UnloadResponse, _Mapping]] = ..., predict: _Optional[_Union[PredictResponse, _Mapping]] = ..., predict_batch: _Optional[_Union[PredictBatchResponse, _Mapping]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ["inputs", "max_batch_size", "outputs"]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    max_batch_size: int
    outputs: _containers.RepeatedCompositeFieldContainer[TensorSpec]
    def __init__(self, inputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., outputs: _Optional[_Iterable[_Union[TensorSpec, _Mapping]]] = ..., max_batch_size: _Optional[int] = ...) -> None: ...

class Tensor(_message.Message):
    __slots__ = ["name", "shape", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    value: _value_pb2.Value
    def __init__(self, name: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., value: _Optional[_Union[_value_pb2.Value, _Mapping]] = ...) -> None: ...

class TensorSpec(_message.Message):
    __slots__ = ["datatype", "name", "shape"]
    DATATYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    datatype: str
    name: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., datatype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class UnloadRequest(_message.Message):
    __slots__ = ["version"]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...

class UnloadResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...
