from google.protobuf import struct_pb2 as _struct_pb2
from swapwire.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Error(_message.Message):
    __slots__ = ["code", "message"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class ModelSummary(_message.Message):
    __slots__ = ["labels", "loaded_versions", "name", "serving_version"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LOADED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVING_VERSION_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, int]
    loaded_versions: _containers.RepeatedScalarFieldContainer[int]
    name: str
    serving_version: int
    def __init__(self, name: _Optional[str] = ..., serving_version: _Optional[int] = ..., loaded_versions: _Optional[_Iterable[int]] = ..., labels: _Optional[_Mapping[str, int]] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ["input", "label", "model", "option", "version"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    input: _value_pb2.Value
    label: str
    model: str
    option: _struct_pb2.Struct
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., label: _Optional[str] = ..., input: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., option: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ["model", "option", "output", "scores", "version"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    option: _struct_pb2.Struct
    output: _value_pb2.Value
    scores: _containers.RepeatedScalarFieldContainer[float]
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., output: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., scores: _Optional[_Iterable[float]] = ..., option: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PredictStreamRequest(_message.Message):
    __slots__ = ["id", "request"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    id: str
    request: PredictRequest
    def __init__(self, id: _Optional[str] = ..., request: _Optional[_Union[PredictRequest, _Mapping]] = ...) -> None: ...

class PredictStreamResponse(_message.Message):
    __slots__ = ["error", "id", "response"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    error: Error
    id: str
    response: PredictResponse
    def __init__(self, id: _Optional[str] = ..., response: _Optional[_Union[PredictResponse, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class ServiceInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ServiceInfoResponse(_message.Message):
    __slots__ = ["default_model", "models", "name", "service_level", "swapwire_version"]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SWAPWIRE_VERSION_FIELD_NUMBER: _ClassVar[int]
    default_model: str
    models: _containers.RepeatedCompositeFieldContainer[ModelSummary]
    name: str
    service_level: str
    swapwire_version: str
    def __init__(self, name: _Optional[str] = ..., service_level: _Optional[str] = ..., swapwire_version: _Optional[str] = ..., default_model: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelSummary, _Mapping]]] = ...) -> None: ...
