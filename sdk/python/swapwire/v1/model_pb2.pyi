from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from swapwire.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
VERSION_STATE_AVAILABLE: VersionState
VERSION_STATE_DRAINING: VersionState
VERSION_STATE_FAILED: VersionState
VERSION_STATE_LOADING: VersionState
VERSION_STATE_SERVING: VersionState
VERSION_STATE_STANDBY: VersionState
VERSION_STATE_UNSPECIFIED: VersionState

class ConfusionMatrix(_message.Message):
    __slots__ = ["labels", "rows"]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[ConfusionRow]
    def __init__(self, labels: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[ConfusionRow, _Mapping]]] = ...) -> None: ...

class ConfusionRow(_message.Message):
    __slots__ = ["counts"]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, counts: _Optional[_Iterable[int]] = ...) -> None: ...

class DeleteVersionRequest(_message.Message):
    __slots__ = ["model", "version"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DeleteVersionResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class EvaluateModelRequest(_message.Message):
    __slots__ = ["example", "header"]
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    example: LabelledExample
    header: EvaluationHeader
    def __init__(self, header: _Optional[_Union[EvaluationHeader, _Mapping]] = ..., example: _Optional[_Union[LabelledExample, _Mapping]] = ...) -> None: ...

class EvaluateModelResponse(_message.Message):
    __slots__ = ["accuracy", "confusion", "details", "errors", "examples", "labels", "model", "version"]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    CONFUSION_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    confusion: ConfusionMatrix
    details: _containers.RepeatedCompositeFieldContainer[ExampleResult]
    errors: int
    examples: int
    labels: _containers.RepeatedCompositeFieldContainer[LabelMetrics]
    model: str
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., examples: _Optional[int] = ..., errors: _Optional[int] = ..., accuracy: _Optional[float] = ..., labels: _Optional[_Iterable[_Union[LabelMetrics, _Mapping]]] = ..., confusion: _Optional[_Union[ConfusionMatrix, _Mapping]] = ..., details: _Optional[_Iterable[_Union[ExampleResult, _Mapping]]] = ...) -> None: ...

class EvaluationHeader(_message.Message):
    __slots__ = ["details", "model", "version"]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    details: bool
    model: str
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., details: bool = ...) -> None: ...

class ExampleResult(_message.Message):
    __slots__ = ["correct", "error", "expected", "index", "predicted"]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    correct: bool
    error: str
    expected: str
    index: int
    predicted: str
    def __init__(self, index: _Optional[int] = ..., expected: _Optional[str] = ..., predicted: _Optional[str] = ..., correct: bool = ..., error: _Optional[str] = ...) -> None: ...

class LabelMetrics(_message.Message):
    __slots__ = ["f1", "label", "precision", "recall", "support"]
    F1_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    f1: float
    label: str
    precision: float
    recall: float
    support: int
    def __init__(self, label: _Optional[str] = ..., precision: _Optional[float] = ..., recall: _Optional[float] = ..., f1: _Optional[float] = ..., support: _Optional[int] = ...) -> None: ...

class LabelledExample(_message.Message):
    __slots__ = ["input", "label", "option"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    input: _value_pb2.Value
    label: _value_pb2.Value
    option: _struct_pb2.Struct
    def __init__(self, input: _Optional[_Union[_value_pb2.Value, _Mapping]] = ..., option: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., label: _Optional[_Union[_value_pb2.Value, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ["model"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ["models"]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelStatus]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelStatus, _Mapping]]] = ...) -> None: ...

class ModelStatus(_message.Message):
    __slots__ = ["default", "labels", "name", "pinned_version", "serving_version", "store_error", "versions", "weights"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PINNED_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVING_VERSION_FIELD_NUMBER: _ClassVar[int]
    STORE_ERROR_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    default: bool
    labels: _containers.ScalarMap[str, int]
    name: str
    pinned_version: int
    serving_version: int
    store_error: str
    versions: _containers.RepeatedCompositeFieldContainer[VersionStatus]
    weights: _containers.RepeatedCompositeFieldContainer[VersionWeight]
    def __init__(self, name: _Optional[str] = ..., serving_version: _Optional[int] = ..., pinned_version: _Optional[int] = ..., labels: _Optional[_Mapping[str, int]] = ..., versions: _Optional[_Iterable[_Union[VersionStatus, _Mapping]]] = ..., default: bool = ..., weights: _Optional[_Iterable[_Union[VersionWeight, _Mapping]]] = ..., store_error: _Optional[str] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ["model"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class RollbackResponse(_message.Message):
    __slots__ = ["from_version", "to_version"]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    to_version: int
    def __init__(self, from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class SetLabelRequest(_message.Message):
    __slots__ = ["label", "model", "version"]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    label: str
    model: str
    version: int
    def __init__(self, model: _Optional[str] = ..., label: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class SetLabelResponse(_message.Message):
    __slots__ = ["status"]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ModelStatus
    def __init__(self, status: _Optional[_Union[ModelStatus, _Mapping]] = ...) -> None: ...

class SplitTrafficRequest(_message.Message):
    __slots__ = ["model", "weights"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    weights: _containers.RepeatedCompositeFieldContainer[VersionWeight]
    def __init__(self, model: _Optional[str] = ..., weights: _Optional[_Iterable[_Union[VersionWeight, _Mapping]]] = ...) -> None: ...

class SplitTrafficResponse(_message.Message):
    __slots__ = ["status"]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ModelStatus
    def __init__(self, status: _Optional[_Union[ModelStatus, _Mapping]] = ...) -> None: ...

class SwitchModelRequest(_message.Message):
    __slots__ = ["model", "version", "wait"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: int
    wait: bool
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., wait: bool = ...) -> None: ...

class SwitchModelResponse(_message.Message):
    __slots__ = ["status"]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: ModelStatus
    def __init__(self, status: _Optional[_Union[ModelStatus, _Mapping]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ["model", "sha256", "size", "version"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    sha256: str
    size: int
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class UploadModelRequest(_message.Message):
    __slots__ = ["chunk", "header"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    header: UploadHeader
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadModelResponse(_message.Message):
    __slots__ = ["files", "model", "sha256", "size", "version"]
    FILES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    files: int
    model: str
    sha256: str
    size: int
    version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[int] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., files: _Optional[int] = ...) -> None: ...

class VersionStatus(_message.Message):
    __slots__ = ["error", "in_flight", "load_duration", "loaded_at", "state", "version", "workers"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LOAD_DURATION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    error: str
    in_flight: int
    load_duration: _duration_pb2.Duration
    loaded_at: _timestamp_pb2.Timestamp
    state: VersionState
    version: int
    workers: _containers.RepeatedCompositeFieldContainer[WorkerStatus]
    def __init__(self, version: _Optional[int] = ..., state: _Optional[_Union[VersionState, str]] = ..., error: _Optional[str] = ..., load_duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., loaded_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., in_flight: _Optional[int] = ..., workers: _Optional[_Iterable[_Union[WorkerStatus, _Mapping]]] = ...) -> None: ...

class VersionWeight(_message.Message):
    __slots__ = ["version", "weight"]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    version: int
    weight: int
    def __init__(self, version: _Optional[int] = ..., weight: _Optional[int] = ...) -> None: ...

class WorkerStatus(_message.Message):
    __slots__ = ["error", "id", "pid", "restarts", "retry_at", "since", "state"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    RETRY_AT_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    error: str
    id: int
    pid: int
    restarts: int
    retry_at: _timestamp_pb2.Timestamp
    since: _timestamp_pb2.Timestamp
    state: str
    def __init__(self, id: _Optional[int] = ..., pid: _Optional[int] = ..., state: _Optional[str] = ..., since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., restarts: _Optional[int] = ..., error: _Optional[str] = ..., retry_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VersionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
