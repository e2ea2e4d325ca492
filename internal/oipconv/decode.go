package oipconv

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// ParamContentType is the tensor or request parameter that, set to
// [ContentTypeBytes], makes a BYTES input raw bytes rather than text.
const ParamContentType = "content_type"

// ContentTypeBytes is the value of [ParamContentType] asking for raw bytes.
const ContentTypeBytes = "bytes"

// Input is the decoded input of a ModelInferRequest.
type Input struct {
	Name     string         // the tensor's name
	Datatype string         // the tensor's datatype, such as "FP32"
	Shape    []int64        // the tensor's shape, as sent
	Value    predict.Value  // the elements, flattened in row-major order
	Option   predict.Option // the request's parameters; nil when it has none
}

// Request is a decoded ModelInferRequest: its input tensors in request
// order and its parameters.
type Request struct {
	Inputs []Input
	Option predict.Option // the request's parameters; nil when it has none
}

// DecodeRequest decodes every input tensor of req as the package
// documentation describes. Each input's elements come from its typed
// contents or from raw_input_contents, which, when present, holds one entry
// per input in order; input names must be distinct. The request's
// parameters become the Option, as for [DecodeInputs].
func DecodeRequest(req *inferencepb.ModelInferRequest) (Request, error) {
	if req == nil {
		return Request{}, predict.InvalidArgument("no inference request")
	}
	ts := req.GetInputs()
	if len(ts) == 0 {
		return Request{}, predict.InvalidArgument("request has no inputs")
	}
	raws := req.GetRawInputContents()
	if len(raws) > 0 && len(raws) != len(ts) {
		return Request{}, predict.InvalidArgument("request has %d raw_input_contents for %d inputs", len(raws), len(ts))
	}
	out := Request{Inputs: make([]Input, len(ts)), Option: parametersOption(req.GetParameters())}
	for i, t := range ts {
		for _, prev := range ts[:i] {
			if prev.GetName() == t.GetName() {
				return Request{}, predict.InvalidArgument("request has two inputs named %q", t.GetName())
			}
		}
		var raw []byte
		if len(raws) > 0 {
			raw = raws[i]
		}
		in, err := decodeTensor(t, len(raws) > 0, raw, req.GetParameters())
		if err != nil {
			return Request{}, err
		}
		in.Option = out.Option
		out.Inputs[i] = in
	}
	return out, nil
}

// DecodeInputs decodes the single input of req as the package
// documentation describes; a request with another number of inputs is
// InvalidArgument ([DecodeRequest] takes several). The request's
// parameters become the Option: bool, string and double parameters as they
// are, int64 and uint64 parameters as float64 (exact up to 2^53), as JSON
// numbers are.
func DecodeInputs(req *inferencepb.ModelInferRequest) (Input, error) {
	if req == nil {
		return Input{}, predict.InvalidArgument("no inference request")
	}
	if n := len(req.GetInputs()); n != 1 {
		return Input{}, predict.InvalidArgument("request has %d inputs, this model takes exactly one", n)
	}
	if raws := req.GetRawInputContents(); len(raws) > 1 {
		return Input{}, predict.InvalidArgument("request has %d raw_input_contents for 1 input", len(raws))
	}
	r, err := DecodeRequest(req)
	if err != nil {
		return Input{}, err
	}
	return r.Inputs[0], nil
}

// decodeTensor decodes one input tensor from its typed contents or, with
// hasRaw, from raw.
func decodeTensor(t *inferencepb.ModelInferRequest_InferInputTensor, hasRaw bool, raw []byte, reqParams map[string]*inferencepb.InferParameter) (Input, error) {
	in := Input{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()}
	d, ok := lookupDtype(t.GetDatatype())
	if !ok {
		return Input{}, predict.InvalidArgument("input %q has unknown datatype %q", t.GetName(), t.GetDatatype())
	}
	if d.fam == famUnsupported {
		return Input{}, predict.InvalidArgument(
			"input %q has datatype %s, which Swapwire does not support; use INT8..INT64, UINT8..UINT64, FP32, FP64 or BYTES",
			t.GetName(), d.name)
	}
	count, err := elementCount(t.GetShape())
	if err != nil {
		return Input{}, predict.InvalidArgument("input %q: %v", t.GetName(), err)
	}
	wantBytes := d.fam == famBytes && isBytesContent(t.GetParameters(), reqParams)

	var v predict.Value
	if hasRaw {
		for _, f := range contentFields(t.GetContents()) {
			if f.n > 0 {
				return Input{}, predict.InvalidArgument("input %q has both %s and raw_input_contents", t.GetName(), f.name)
			}
		}
		v, err = decodeRaw(d, t.GetShape(), count, raw, wantBytes)
	} else {
		v, err = decodeTyped(d, t.GetShape(), count, t.GetContents(), wantBytes)
	}
	if err != nil {
		return Input{}, predict.InvalidArgument("input %q: %v", t.GetName(), err)
	}
	in.Value = v
	return in, nil
}

// elementCount returns the product of the dimensions; an empty shape is a
// scalar of one element.
func elementCount(shape []int64) (int64, error) {
	for i, d := range shape {
		if d < 0 {
			return 0, errorf("shape %v has negative dimension %d at index %d", shape, d, i)
		}
	}
	if slices.Contains(shape, 0) {
		return 0, nil
	}
	n := int64(1)
	for _, d := range shape {
		if n > math.MaxInt64/d {
			return 0, errorf("shape %v has more elements than can be counted", shape)
		}
		n *= d
	}
	return n, nil
}

func isBytesContent(params ...map[string]*inferencepb.InferParameter) bool {
	for _, m := range params {
		if p, ok := m[ParamContentType]; ok {
			return p.GetStringParam() == ContentTypeBytes
		}
	}
	return false
}

func countMismatch(shape []int64, count int64, what string, got int) error {
	return errorf("shape %v holds %d elements, %s holds %d", shape, count, what, got)
}

func decodeTyped(d dtype, shape []int64, count int64, c *inferencepb.InferTensorContents, wantBytes bool) (predict.Value, error) {
	for _, f := range contentFields(c) {
		if f.n > 0 && f.name != d.field {
			return predict.Value{}, errorf("datatype %s is carried in %s, but %s is set", d.name, d.field, f.name)
		}
	}
	var n int
	switch d.field {
	case "int_contents":
		n = len(c.GetIntContents())
	case "int64_contents":
		n = len(c.GetInt64Contents())
	case "uint_contents":
		n = len(c.GetUintContents())
	case "uint64_contents":
		n = len(c.GetUint64Contents())
	case "fp32_contents":
		n = len(c.GetFp32Contents())
	case "fp64_contents":
		n = len(c.GetFp64Contents())
	case "bytes_contents":
		n = len(c.GetBytesContents())
	}
	if int64(n) != count {
		return predict.Value{}, countMismatch(shape, count, d.field, n)
	}
	switch d.field {
	case "int_contents":
		out := make([]int64, n)
		for i, x := range c.GetIntContents() {
			if int64(x) < d.minInt || int64(x) > d.maxInt {
				return predict.Value{}, errorf("element %d (%d) is out of range for %s", i, x, d.name)
			}
			out[i] = int64(x)
		}
		return predict.Ints(out...), nil
	case "int64_contents":
		return predict.Ints(slices.Clone(c.GetInt64Contents())...), nil
	case "uint_contents":
		out := make([]int64, n)
		for i, x := range c.GetUintContents() {
			if int64(x) > d.maxInt {
				return predict.Value{}, errorf("element %d (%d) is out of range for %s", i, x, d.name)
			}
			out[i] = int64(x)
		}
		return predict.Ints(out...), nil
	case "uint64_contents":
		out := make([]int64, n)
		for i, x := range c.GetUint64Contents() {
			if x > math.MaxInt64 {
				return predict.Value{}, errorf("element %d (%d) does not fit in int64", i, x)
			}
			out[i] = int64(x)
		}
		return predict.Ints(out...), nil
	case "fp32_contents":
		out := make([]float64, n)
		for i, x := range c.GetFp32Contents() {
			out[i] = float64(x)
		}
		return predict.Floats(out...), nil
	case "fp64_contents":
		return predict.Floats(slices.Clone(c.GetFp64Contents())...), nil
	}
	return bytesValue(c.GetBytesContents(), wantBytes)
}

func decodeRaw(d dtype, shape []int64, count int64, raw []byte, wantBytes bool) (predict.Value, error) {
	if d.fam == famBytes {
		elems, err := splitRawBytes(raw, count)
		if err != nil {
			return predict.Value{}, err
		}
		if int64(len(elems)) != count {
			return predict.Value{}, countMismatch(shape, count, "raw contents", len(elems))
		}
		return bytesValue(elems, wantBytes)
	}
	if count > int64(len(raw)/d.size) || int64(len(raw)) != count*int64(d.size) {
		return predict.Value{}, errorf("raw contents are %d bytes, but shape %v of %s needs %d elements of %d bytes",
			len(raw), shape, d.name, count, d.size)
	}
	n := int(count)
	switch d.fam {
	case famFloat:
		out := make([]float64, n)
		for i := range out {
			if d.size == 4 {
				out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			} else {
				out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		return predict.Floats(out...), nil
	}
	out := make([]int64, n)
	for i := range out {
		var u uint64
		switch d.size {
		case 1:
			u = uint64(raw[i])
		case 2:
			u = uint64(binary.LittleEndian.Uint16(raw[2*i:]))
		case 4:
			u = uint64(binary.LittleEndian.Uint32(raw[4*i:]))
		default:
			u = binary.LittleEndian.Uint64(raw[8*i:])
		}
		if d.fam == famUnsigned {
			if u > math.MaxInt64 {
				return predict.Value{}, errorf("element %d (%d) does not fit in int64", i, u)
			}
			out[i] = int64(u)
			continue
		}
		// Sign-extend from the element's width.
		shift := 64 - 8*uint(d.size)
		out[i] = int64(u<<shift) >> shift
	}
	return predict.Ints(out...), nil
}

// splitRawBytes splits raw BYTES contents into elements. It stops with an
// error at a truncated length or element, and once more than limit
// elements were found (the caller then reports the mismatch), so a hostile
// stream of empty elements cannot allocate without bound.
func splitRawBytes(raw []byte, limit int64) ([][]byte, error) {
	var elems [][]byte
	for off := 0; off < len(raw); {
		if len(raw)-off < 4 {
			return nil, errorf("raw BYTES contents end inside the length of element %d", len(elems))
		}
		n := binary.LittleEndian.Uint32(raw[off:])
		off += 4
		if uint64(n) > uint64(len(raw)-off) {
			return nil, errorf("raw BYTES element %d claims %d bytes, only %d remain", len(elems), n, len(raw)-off)
		}
		elems = append(elems, raw[off:off+int(n):off+int(n)])
		off += int(n)
		if int64(len(elems)) > limit {
			return nil, errorf("raw BYTES contents hold more than the %d elements the shape allows", limit)
		}
	}
	return elems, nil
}

func bytesValue(elems [][]byte, wantBytes bool) (predict.Value, error) {
	if wantBytes {
		if len(elems) != 1 {
			return predict.Value{}, errorf("content_type %q needs exactly one element, got %d", ContentTypeBytes, len(elems))
		}
		return predict.Bytes(slices.Clone(elems[0])), nil
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		if !utf8.Valid(e) {
			return predict.Value{}, errorf("BYTES element %d is not valid UTF-8; set parameter %s=%q to send raw bytes",
				i, ParamContentType, ContentTypeBytes)
		}
		out[i] = string(e)
	}
	if len(out) == 1 {
		return predict.Text(out[0]), nil
	}
	return predict.Strings(out...), nil
}

// errorf builds the inner message of an InvalidArgument error; DecodeInputs
// adds the code and the input's name.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
