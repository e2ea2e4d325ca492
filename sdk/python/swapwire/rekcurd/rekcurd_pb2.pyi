from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
v0: EnumVersionInfo
v1: EnumVersionInfo
v2: EnumVersionInfo

class ArrFloatInput(_message.Message):
    __slots__ = ["input", "option"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    input: _containers.RepeatedScalarFieldContainer[float]
    option: Option
    def __init__(self, input: _Optional[_Iterable[float]] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class ArrFloatOutput(_message.Message):
    __slots__ = ["option", "output", "score"]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    option: Option
    output: _containers.RepeatedScalarFieldContainer[float]
    score: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, output: _Optional[_Iterable[float]] = ..., score: _Optional[_Iterable[float]] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class ArrIntInput(_message.Message):
    __slots__ = ["input", "option"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    input: _containers.RepeatedScalarFieldContainer[int]
    option: Option
    def __init__(self, input: _Optional[_Iterable[int]] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class ArrIntOutput(_message.Message):
    __slots__ = ["option", "output", "score"]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    option: Option
    output: _containers.RepeatedScalarFieldContainer[int]
    score: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, output: _Optional[_Iterable[int]] = ..., score: _Optional[_Iterable[float]] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class ArrString(_message.Message):
    __slots__ = ["val"]
    VAL_FIELD_NUMBER: _ClassVar[int]
    val: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, val: _Optional[_Iterable[str]] = ...) -> None: ...

class ArrStringInput(_message.Message):
    __slots__ = ["input", "option"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    input: _containers.RepeatedScalarFieldContainer[str]
    option: Option
    def __init__(self, input: _Optional[_Iterable[str]] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class ArrStringOutput(_message.Message):
    __slots__ = ["option", "output", "score"]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    option: Option
    output: _containers.RepeatedScalarFieldContainer[str]
    score: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, output: _Optional[_Iterable[str]] = ..., score: _Optional[_Iterable[float]] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class BytesInput(_message.Message):
    __slots__ = ["input", "option"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    input: bytes
    option: Option
    def __init__(self, input: _Optional[bytes] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class BytesOutput(_message.Message):
    __slots__ = ["option", "output", "score"]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    option: Option
    output: bytes
    score: float
    def __init__(self, output: _Optional[bytes] = ..., score: _Optional[float] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class EvaluateModelRequest(_message.Message):
    __slots__ = ["data", "data_path", "result_path"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DATA_PATH_FIELD_NUMBER: _ClassVar[int]
    RESULT_PATH_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    data_path: str
    result_path: str
    def __init__(self, data: _Optional[bytes] = ..., data_path: _Optional[str] = ..., result_path: _Optional[str] = ...) -> None: ...

class EvaluateModelResponse(_message.Message):
    __slots__ = ["metrics"]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    metrics: EvaluationMetrics
    def __init__(self, metrics: _Optional[_Union[EvaluationMetrics, _Mapping]] = ...) -> None: ...

class EvaluationMetrics(_message.Message):
    __slots__ = ["accuracy", "fvalue", "label", "num", "option", "precision", "recall"]
    class OptionEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    FVALUE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    NUM_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    fvalue: _containers.RepeatedScalarFieldContainer[float]
    label: _containers.RepeatedCompositeFieldContainer[IO]
    num: int
    option: _containers.ScalarMap[str, float]
    precision: _containers.RepeatedScalarFieldContainer[float]
    recall: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, num: _Optional[int] = ..., accuracy: _Optional[float] = ..., precision: _Optional[_Iterable[float]] = ..., recall: _Optional[_Iterable[float]] = ..., fvalue: _Optional[_Iterable[float]] = ..., option: _Optional[_Mapping[str, float]] = ..., label: _Optional[_Iterable[_Union[IO, _Mapping]]] = ...) -> None: ...

class EvaluationResultRequest(_message.Message):
    __slots__ = ["data_path", "result_path"]
    DATA_PATH_FIELD_NUMBER: _ClassVar[int]
    RESULT_PATH_FIELD_NUMBER: _ClassVar[int]
    data_path: str
    result_path: str
    def __init__(self, data_path: _Optional[str] = ..., result_path: _Optional[str] = ...) -> None: ...

class EvaluationResultResponse(_message.Message):
    __slots__ = ["detail", "metrics"]
    class Detail(_message.Message):
        __slots__ = ["input", "is_correct", "label", "output", "score"]
        INPUT_FIELD_NUMBER: _ClassVar[int]
        IS_CORRECT_FIELD_NUMBER: _ClassVar[int]
        LABEL_FIELD_NUMBER: _ClassVar[int]
        OUTPUT_FIELD_NUMBER: _ClassVar[int]
        SCORE_FIELD_NUMBER: _ClassVar[int]
        input: IO
        is_correct: bool
        label: IO
        output: IO
        score: _containers.RepeatedScalarFieldContainer[float]
        def __init__(self, input: _Optional[_Union[IO, _Mapping]] = ..., label: _Optional[_Union[IO, _Mapping]] = ..., output: _Optional[_Union[IO, _Mapping]] = ..., score: _Optional[_Iterable[float]] = ..., is_correct: bool = ...) -> None: ...
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    detail: _containers.RepeatedCompositeFieldContainer[EvaluationResultResponse.Detail]
    metrics: EvaluationMetrics
    def __init__(self, metrics: _Optional[_Union[EvaluationMetrics, _Mapping]] = ..., detail: _Optional[_Iterable[_Union[EvaluationResultResponse.Detail, _Mapping]]] = ...) -> None: ...

class HealthCheckRequest(_message.Message):
    __slots__ = ["service"]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: str
    def __init__(self, service: _Optional[str] = ...) -> None: ...

class HealthCheckResponse(_message.Message):
    __slots__ = ["status"]
    class ServingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    NOT_SERVING: HealthCheckResponse.ServingStatus
    SERVING: HealthCheckResponse.ServingStatus
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN: HealthCheckResponse.ServingStatus
    status: HealthCheckResponse.ServingStatus
    def __init__(self, status: _Optional[_Union[HealthCheckResponse.ServingStatus, str]] = ...) -> None: ...

class IO(_message.Message):
    __slots__ = ["str", "tensor"]
    STR_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    str: ArrString
    tensor: Tensor
    def __init__(self, tensor: _Optional[_Union[Tensor, _Mapping]] = ..., str: _Optional[_Union[ArrString, _Mapping]] = ...) -> None: ...

class ModelResponse(_message.Message):
    __slots__ = ["message", "status"]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    message: str
    status: int
    def __init__(self, status: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Option(_message.Message):
    __slots__ = ["val"]
    VAL_FIELD_NUMBER: _ClassVar[int]
    val: str
    def __init__(self, val: _Optional[str] = ...) -> None: ...

class ServiceInfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ServiceInfoResponse(_message.Message):
    __slots__ = ["application_name", "service_level", "service_name"]
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    service_level: str
    service_name: str
    def __init__(self, application_name: _Optional[str] = ..., service_name: _Optional[str] = ..., service_level: _Optional[str] = ...) -> None: ...

class StringInput(_message.Message):
    __slots__ = ["input", "option"]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    input: str
    option: Option
    def __init__(self, input: _Optional[str] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class StringOutput(_message.Message):
    __slots__ = ["option", "output", "score"]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    option: Option
    output: str
    score: float
    def __init__(self, output: _Optional[str] = ..., score: _Optional[float] = ..., option: _Optional[_Union[Option, _Mapping]] = ...) -> None: ...

class SwitchModelRequest(_message.Message):
    __slots__ = ["path"]
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class Tensor(_message.Message):
    __slots__ = ["shape", "val"]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    VAL_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    val: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., val: _Optional[_Iterable[float]] = ...) -> None: ...

class UploadEvaluationDataRequest(_message.Message):
    __slots__ = ["data", "data_path"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DATA_PATH_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    data_path: str
    def __init__(self, data: _Optional[bytes] = ..., data_path: _Optional[str] = ...) -> None: ...

class UploadEvaluationDataResponse(_message.Message):
    __slots__ = ["message", "status"]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    message: str
    status: int
    def __init__(self, status: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class UploadModelRequest(_message.Message):
    __slots__ = ["data", "path"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    path: str
    def __init__(self, path: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class EnumVersionInfo(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
