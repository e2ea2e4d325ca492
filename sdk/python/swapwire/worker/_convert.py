"""Conversion between worker protocol messages and plain Python values.

Inputs arrive as the natural Python type (str, bytes, list[int],
list[float], list[str]) and options as a dict. A request carrying named
tensors (a model that declares several inputs) arrives as a dict of name to
Tensor, in the request's order. A model's result may be a
PredictResult-like object, a (label, score[, option]) tuple or a dict with
"label", "score" and "option" keys; labels, scores and options may hold
numpy (or any other) values that offer tolist(), without this module
importing numpy.
"""

import json
import math
from typing import Dict, List, NamedTuple, Tuple, Union

from swapwire.v1 import value_pb2
from swapwire.worker.v1 import worker_pb2

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
# Integral doubles up to this size are given to the model as int.
_EXACT_INT = 1 << 53


class PredictResult:
    """One prediction: a label, a score or scores, and a free-form option.

    It mirrors Rekcurd's PredictResult. label is a str, bytes, int, float or
    a list of those; score is a float or a list of floats; option is a dict
    (or its JSON text, as Rekcurd stores it) or None.
    """

    __slots__ = ("label", "score", "option")

    def __init__(self, label, score=None, option=None):
        self.label = label
        self.score = score
        self.option = option

    def __repr__(self):
        return "PredictResult(label=%r, score=%r, option=%r)" % (
            self.label, self.score, self.option)


InputValue = Union[str, bytes, List[int], List[float], List[str]]
"""What one input (or one tensor's elements) arrives as."""


class Tensor(NamedTuple):
    """One named input of a model that declares several in its signature.

    name is the input's name; shape its dimensions without a batch
    dimension that was split off (a [3, 16] request reaches the model as
    three items, each with shape (16,)); values its elements in row-major
    order, as a single input arrives: a list of int, float or str, or str
    or bytes (a BYTES row of one element arrives as str with shape (1,)).
    """

    name: str
    shape: Tuple[int, ...]
    values: InputValue


def input_from_request(request: worker_pb2.PredictRequest) -> Union[InputValue, Dict[str, Tensor]]:
    """Returns what the model's predict receives for a PredictRequest: the
    input's Python value, or for named tensors a dict of name to Tensor in
    the request's order.

    It raises ValueError when neither or both of input and inputs are set,
    or a tensor has no name, a repeated name or no value.
    """
    if not request.inputs:
        return input_from_value(request.input)
    if request.HasField("input"):
        raise ValueError("the request sets both input and inputs; set one")
    out: Dict[str, Tensor] = {}
    for i, t in enumerate(request.inputs):
        if not t.name:
            raise ValueError("named input %d has no name" % i)
        if t.name in out:
            raise ValueError("input %r is given twice" % t.name)
        try:
            values = input_from_value(t.value)
        except ValueError as exc:
            raise ValueError("input %r: %s" % (t.name, exc)) from None
        out[t.name] = Tensor(t.name, tuple(t.shape), values)
    return out


def input_from_value(value: value_pb2.Value) -> InputValue:
    """Returns the Python value a swapwire.v1.Value holds.

    It raises ValueError for a Value with no kind set.
    """
    kind = value.WhichOneof("kind")
    if kind == "text":
        return value.text
    if kind == "data":
        return bytes(value.data)
    if kind == "ints":
        return list(value.ints.values)
    if kind == "floats":
        return list(value.floats.values)
    if kind == "strings":
        return list(value.strings.values)
    raise ValueError("input is empty: set one of text, data, ints, floats, strings")


def inputs_from_packed(packed) -> List[InputValue]:
    """Returns the inputs of a PackedInputs: count lists of ints or floats,
    cut from its one array. It raises ValueError when the array is not ints
    or floats or does not split into count items."""
    kind = packed.values.WhichOneof("kind")
    if kind == "ints":
        flat = list(packed.values.ints.values)
    elif kind == "floats":
        flat = list(packed.values.floats.values)
    else:
        raise ValueError("packed inputs of kind %s; want ints or floats" % kind)
    n = packed.count
    if n <= 0 or len(flat) % n:
        raise ValueError("packed inputs: %d elements do not split into %d items" % (len(flat), n))
    w = len(flat) // n
    return [flat[i:i + w] for i in range(0, len(flat), w)] if w else [[] for _ in range(n)]


def fill_packed(packed, results) -> bool:
    """Fills a PackedResults from a model's results when they are alike
    (PredictResult or tuple shapes with a label of one int, float or str,
    all of one kind, the same number of scores, and no option) and returns
    True; else returns False and leaves packed in any state."""
    labels, scores, width = [], [], None
    for result in results:
        if isinstance(result, BaseException):
            return False
        try:
            label, score, option = split_result(result)
        except TypeError:
            return False
        if option is not None:
            return False
        score = _plain(score)
        if score is None:
            score = ()
        elif type(score) is float or type(score) is int:
            score = (score,)
        elif type(score) is not list and type(score) is not tuple:
            return False
        if width is None:
            width = len(score)
        elif len(score) != width:
            return False
        labels.append(_plain(label))
        scores.extend(score)
    if not labels:
        return False
    kind = type(labels[0])
    if kind not in (int, float, str) or any(type(x) is not kind for x in labels):
        return False
    try:
        if kind is int:
            packed.labels.ints.values.extend(labels)
        elif kind is float:
            packed.labels.floats.values.extend(labels)
        else:
            packed.labels.strings.values.extend(labels)
        packed.scores.extend(scores)  # a non-number raises TypeError
    except (TypeError, ValueError):  # an int past int64, a score that is not a number
        return False
    packed.score_width = width
    return True


def option_from_struct(struct, present=True):
    """Returns a google.protobuf.Struct as a dict; an absent Struct is {}.

    Struct numbers are doubles on the wire; integral ones come back as int
    so that an option such as {"top_k": 3} can be used as an index.
    """
    if not present:
        return {}
    return {k: _from_struct_value(v) for k, v in struct.fields.items()}


def _from_struct_value(v):
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        n = v.number_value
        if n.is_integer() and abs(n) <= _EXACT_INT:
            return int(n)
        return n
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return {k: _from_struct_value(x) for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [_from_struct_value(x) for x in v.list_value.values]
    return None


def _plain(x):
    """Turns numpy scalars and arrays (anything with tolist) into Python values."""
    if isinstance(x, (str, bytes, bool, int, float, list, tuple, dict)) or x is None:
        return x
    tolist = getattr(x, "tolist", None)
    if callable(tolist):
        return tolist()
    return x


def split_result(result):
    """Returns (label, score, option) from any accepted result shape.

    It raises TypeError for anything else.
    """
    if type(result) is PredictResult:  # the common shape, checked first
        return result.label, result.score, result.option
    if isinstance(result, tuple):
        if len(result) == 2:
            return result[0], result[1], None
        if len(result) == 3:
            return result
        raise TypeError("predict returned a tuple of %d items; want (label, score[, option])"
                        % len(result))
    if isinstance(result, dict):
        if "label" not in result:
            raise TypeError("predict returned a dict without a \"label\" key")
        unknown = set(result) - {"label", "score", "option"}
        if unknown:
            raise TypeError("predict returned a dict with unknown keys %s" % sorted(unknown))
        return result["label"], result.get("score"), result.get("option")
    if hasattr(result, "label"):
        return result.label, getattr(result, "score", None), getattr(result, "option", None)
    raise TypeError("predict returned %s; want a PredictResult, a (label, score[, option]) "
                    "tuple or a dict" % type(result).__name__)


def value_from_label(label):
    """Returns the swapwire.v1.Value for a label.

    str is text, bytes is data, an int is ints [x], a float is floats [x], a
    list of ints is ints, a list of numbers with any float is floats, a list
    of str is strings. An empty list is an empty floats. None is a Value
    with no kind. Anything else raises TypeError.
    """
    label = _plain(label)
    value = value_pb2.Value()
    if label is None:
        return value
    if isinstance(label, str):
        value.text = label
    elif isinstance(label, (bytes, bytearray, memoryview)):
        value.data = bytes(label)
    elif isinstance(label, (bool, int)):
        value.ints.values.append(_int64(label))
    elif isinstance(label, float):
        value.floats.values.append(label)
    elif isinstance(label, (list, tuple)):
        items = [_plain(x) for x in label]
        if not items:
            value.floats.SetInParent()
        elif all(isinstance(x, str) for x in items):
            value.strings.values.extend(items)
        elif all(isinstance(x, (bool, int)) for x in items):
            value.ints.values.extend(_int64(x) for x in items)
        elif all(isinstance(x, (bool, int, float)) for x in items):
            value.floats.values.extend(float(x) for x in items)
        else:
            kinds = sorted({type(x).__name__ for x in items})
            raise TypeError("label list mixes or holds unsupported types %s; want all str "
                            "or all numbers" % ", ".join(kinds))
    else:
        raise TypeError("label of type %s is not supported; want str, bytes, int, float "
                        "or a list of those" % type(label).__name__)
    return value


def _int64(x):
    x = int(x)
    if not _INT64_MIN <= x <= _INT64_MAX:
        raise TypeError("label %d does not fit in int64" % x)
    return x


def scores_from(score):
    """Returns a score (None, a number or a flat list of numbers) as a list of floats."""
    score = _plain(score)
    if score is None:
        return []
    if isinstance(score, (bool, int, float)):
        return [float(score)]
    if isinstance(score, (list, tuple)):
        out = []
        for x in score:
            x = _plain(x)
            if not isinstance(x, (bool, int, float)):
                raise TypeError("score list holds %s; want numbers" % type(x).__name__)
            out.append(float(x))
        return out
    raise TypeError("score of type %s is not supported; want a float or a list of floats"
                    % type(score).__name__)


def _fill_scores(repeated, score):
    """Fills a repeated double field from a score, in bulk when it can."""
    tolist = getattr(score, "tolist", None)
    if callable(tolist) and not isinstance(score, (list, tuple)):
        score = tolist()  # a numpy array (or scalar) in one C call
    if isinstance(score, list):
        try:
            repeated.extend(score)  # one C loop over Python floats
            return
        except (TypeError, ValueError):
            del repeated[:]
    repeated.extend(scores_from(score))


def _jsonable(x):
    x = _plain(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        raise TypeError("option holds %r, which JSON cannot carry" % x)
    if x is None or isinstance(x, (str, bool, int, float)):
        return x
    raise TypeError("option holds %s; want JSON-like values" % type(x).__name__)


def fill_option(struct, option):
    """Fills a google.protobuf.Struct from a dict, or from its JSON text as Rekcurd keeps it."""
    if option is None:
        return
    if isinstance(option, (str, bytes)):
        option = json.loads(option)
    option = _jsonable(option)
    if not isinstance(option, dict):
        raise TypeError("option is %s; want a dict" % type(option).__name__)
    struct.update(option)


def fill_response(response, result):
    """Fills a worker PredictResponse from a model's result; TypeError when malformed."""
    label, score, option = split_result(result)
    if type(label) is int and _INT64_MIN <= label <= _INT64_MAX:
        response.output.ints.values.append(label)  # the common classifier label, without a Value copy
    else:
        response.output.CopyFrom(value_from_label(label))
    if score is not None:
        _fill_scores(response.scores, score)
    if option is not None:
        fill_option(response.option, option)


def response_from_result(result):
    """Returns the worker PredictResponse for a model's result; TypeError when malformed."""
    response = worker_pb2.PredictResponse()
    fill_response(response, result)
    return response


def signature_message(sig):
    """Returns the worker_pb2.Signature for a model's optional `signature`
    attribute, or None when it has none.

    sig is a dict: {"inputs": [{"name", "datatype", "shape"}, ...],
    "outputs": [...], "max_batch_size": 0}. datatype is an Open Inference
    Protocol name (FP32, INT64, BYTES, ...); shape leaves out the batch
    dimension, -1 marks any size; outputs named "label" and "scores" are the
    result's. It raises TypeError for anything else, when the worker starts.
    """
    if sig is None:
        return None
    if not isinstance(sig, dict) or set(sig) - {"inputs", "outputs", "max_batch_size"}:
        raise TypeError("signature must be a dict with inputs, outputs and max_batch_size")
    msg = worker_pb2.Signature(max_batch_size=int(sig.get("max_batch_size") or 0))
    for field in ("inputs", "outputs"):
        for spec in sig.get(field) or []:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise TypeError("signature %s: each must be a dict with a name" % field)
            getattr(msg, field).add(name=spec["name"], datatype=str(spec.get("datatype", "")),
                                    shape=[int(d) for d in spec.get("shape", [])])
    return msg
