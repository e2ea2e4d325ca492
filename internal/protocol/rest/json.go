package rest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// The KServe v2 JSON request: tensors carry their elements in "data", flat
// or nested in row-major order, typed by "datatype".
type inferRequestJSON struct {
	ID         string                     `json:"id,omitempty"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Inputs     []inputJSON                `json:"inputs"`
	Outputs    []requestedOutputJSON      `json:"outputs,omitempty"`
}

type inputJSON struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Data       json.RawMessage            `json:"data"`
}

type requestedOutputJSON struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
}

type inferResponseJSON struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version,omitempty"`
	ID           string         `json:"id,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	Outputs      []outputJSON   `json:"outputs"`
}

type outputJSON struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       []any          `json:"data"`
}

// maxDepth bounds how deep "data" may nest: a tensor has at most this
// many dimensions.
const maxDepth = 64

// DecodeRequest turns a KServe v2 JSON inference request into the gRPC
// request the Open Inference Protocol service takes, so that both
// transports share one decoder (oipconv) and one set of errors. Elements
// go into the typed contents field of the tensor's datatype; a datatype
// the JSON form cannot carry keeps no contents, so the service reports it
// exactly as for gRPC. Errors are InvalidArgument *predict.Error values.
func DecodeRequest(body []byte, model, version string) (*inferencepb.ModelInferRequest, error) {
	var in inferRequestJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return nil, predict.InvalidArgument("request body is not a KServe v2 inference request: %v", err)
	}
	if dec.More() {
		return nil, predict.InvalidArgument("request body has data after the JSON object")
	}
	req := &inferencepb.ModelInferRequest{ModelName: model, ModelVersion: version, Id: in.ID}
	var err error
	if req.Parameters, err = decodeParams(in.Parameters); err != nil {
		return nil, err
	}
	for i, t := range in.Inputs {
		it := &inferencepb.ModelInferRequest_InferInputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		if it.Parameters, err = decodeParams(t.Parameters); err != nil {
			return nil, err
		}
		var elems []json.RawMessage
		if err := flatten(t.Data, 0, &elems); err != nil {
			return nil, predict.InvalidArgument("input %d (%q): data: %v", i, t.Name, err)
		}
		if it.Contents, err = contents(t.Datatype, elems); err != nil {
			return nil, predict.InvalidArgument("input %d (%q): %v", i, t.Name, err)
		}
		req.Inputs = append(req.Inputs, it)
	}
	for _, o := range in.Outputs {
		ro := &inferencepb.ModelInferRequest_InferRequestedOutputTensor{Name: o.Name}
		if ro.Parameters, err = decodeParams(o.Parameters); err != nil {
			return nil, err
		}
		req.Outputs = append(req.Outputs, ro)
	}
	return req, nil
}

// flatten appends the scalars of a possibly nested JSON array in order.
func flatten(raw json.RawMessage, depth int, out *[]json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		*out = append(*out, raw)
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	for _, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] == '[' {
			if err := flatten(it, depth+1, out); err != nil {
				return err
			}
			continue
		}
		*out = append(*out, it)
	}
	return nil
}

// contents puts the elements in the typed field of datatype.
func contents(datatype string, elems []json.RawMessage) (*inferencepb.InferTensorContents, error) {
	c := &inferencepb.InferTensorContents{}
	for i, e := range elems {
		var err error
		switch datatype {
		case "BOOL":
			var b bool
			if err = json.Unmarshal(e, &b); err == nil {
				c.BoolContents = append(c.BoolContents, b)
			}
		case "INT8", "INT16", "INT32":
			var n int64
			if n, err = intElem(e, math.MinInt32, math.MaxInt32); err == nil {
				c.IntContents = append(c.IntContents, int32(n))
			}
		case "INT64":
			var n int64
			if n, err = intElem(e, math.MinInt64, math.MaxInt64); err == nil {
				c.Int64Contents = append(c.Int64Contents, n)
			}
		case "UINT8", "UINT16", "UINT32":
			var n uint64
			if n, err = uintElem(e, math.MaxUint32); err == nil {
				c.UintContents = append(c.UintContents, uint32(n))
			}
		case "UINT64":
			var n uint64
			if n, err = uintElem(e, math.MaxUint64); err == nil {
				c.Uint64Contents = append(c.Uint64Contents, n)
			}
		case "FP32":
			var f float64
			if f, err = floatElem(e); err == nil {
				c.Fp32Contents = append(c.Fp32Contents, float32(f))
			}
		case "FP64":
			var f float64
			if f, err = floatElem(e); err == nil {
				c.Fp64Contents = append(c.Fp64Contents, f)
			}
		case "BYTES":
			var s string
			if err = json.Unmarshal(e, &s); err == nil {
				c.BytesContents = append(c.BytesContents, []byte(s))
			}
		default:
			// Not carried in JSON: left to the service, which names the
			// datatype in its error as it does for gRPC.
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("element %d (%s) is not a %s element", i, abbrev(e), datatype)
		}
	}
	return c, nil
}

func abbrev(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}

func intElem(e json.RawMessage, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(string(e), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("bad integer")
	}
	return n, nil
}

func uintElem(e json.RawMessage, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(string(e), 10, 64)
	if err != nil || n > hi {
		return 0, fmt.Errorf("bad integer")
	}
	return n, nil
}

func floatElem(e json.RawMessage) (float64, error) {
	var n json.Number
	if err := json.Unmarshal(e, &n); err != nil {
		return 0, err
	}
	return n.Float64()
}

// decodeParams reads KServe parameters: a bool, a string, or a number
// (an integer becomes int64_param, else double_param).
func decodeParams(in map[string]json.RawMessage) (map[string]*inferencepb.InferParameter, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]*inferencepb.InferParameter, len(in))
	for k, raw := range in {
		raw = bytes.TrimSpace(raw)
		p := &inferencepb.InferParameter{}
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, predict.InvalidArgument("parameter %q: %v", k, err)
			}
			p.ParameterChoice = &inferencepb.InferParameter_StringParam{StringParam: s}
		case string(raw) == "true" || string(raw) == "false":
			p.ParameterChoice = &inferencepb.InferParameter_BoolParam{BoolParam: string(raw) == "true"}
		default:
			if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
				p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: n}
			} else if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
				p.ParameterChoice = &inferencepb.InferParameter_DoubleParam{DoubleParam: f}
			} else {
				return nil, predict.InvalidArgument("parameter %q must be a bool, a number or a string, not %s", k, abbrev(raw))
			}
		}
		out[k] = p
	}
	return out, nil
}

func encodeParams(in map[string]*inferencepb.InferParameter) map[string]any {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, p := range in {
		switch c := p.GetParameterChoice().(type) {
		case *inferencepb.InferParameter_BoolParam:
			out[k] = c.BoolParam
		case *inferencepb.InferParameter_Int64Param:
			out[k] = c.Int64Param
		case *inferencepb.InferParameter_StringParam:
			out[k] = c.StringParam
		case *inferencepb.InferParameter_DoubleParam:
			out[k] = c.DoubleParam
		case *inferencepb.InferParameter_Uint64Param:
			out[k] = c.Uint64Param
		}
	}
	return out
}

// EncodeResponse turns the service's response into KServe v2 JSON: each
// output's elements, from its typed contents or from raw_output_contents,
// in "data". BYTES elements become strings.
func EncodeResponse(resp *inferencepb.ModelInferResponse) (*inferResponseJSON, error) {
	out := &inferResponseJSON{
		ModelName:    resp.GetModelName(),
		ModelVersion: resp.GetModelVersion(),
		ID:           resp.GetId(),
		Parameters:   encodeParams(resp.GetParameters()),
		Outputs:      []outputJSON{},
	}
	raw := resp.GetRawOutputContents()
	for i, o := range resp.GetOutputs() {
		oj := outputJSON{Name: o.GetName(), Shape: o.GetShape(), Datatype: o.GetDatatype(), Parameters: encodeParams(o.GetParameters())}
		if oj.Shape == nil {
			oj.Shape = []int64{}
		}
		var err error
		if i < len(raw) {
			oj.Data, err = rawData(o.GetDatatype(), raw[i])
		} else {
			oj.Data = typedData(o.GetContents())
		}
		if err != nil {
			return nil, predict.Errorf(codes.Internal, "output %q: %v", o.GetName(), err)
		}
		if oj.Data == nil {
			oj.Data = []any{}
		}
		out.Outputs = append(out.Outputs, oj)
	}
	return out, nil
}

func typedData(c *inferencepb.InferTensorContents) []any {
	var out []any
	for _, v := range c.GetBoolContents() {
		out = append(out, v)
	}
	for _, v := range c.GetIntContents() {
		out = append(out, v)
	}
	for _, v := range c.GetInt64Contents() {
		out = append(out, v)
	}
	for _, v := range c.GetUintContents() {
		out = append(out, v)
	}
	for _, v := range c.GetUint64Contents() {
		out = append(out, v)
	}
	for _, v := range c.GetFp32Contents() {
		out = append(out, v)
	}
	for _, v := range c.GetFp64Contents() {
		out = append(out, v)
	}
	for _, v := range c.GetBytesContents() {
		out = append(out, bytesElem(v))
	}
	return out
}

// bytesElem is a BYTES element as JSON carries it: a string. Bytes that
// are not UTF-8 cannot be carried; they become a string of their bytes'
// replacement characters, as encoding/json would make of them.
func bytesElem(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

// rawData decodes one raw_output_contents entry (little-endian; BYTES
// elements each prefixed by a 4-byte little-endian length).
func rawData(datatype string, raw []byte) ([]any, error) {
	size := map[string]int{"BOOL": 1, "INT8": 1, "UINT8": 1, "INT16": 2, "UINT16": 2, "INT32": 4, "UINT32": 4, "FP32": 4, "INT64": 8, "UINT64": 8, "FP64": 8}
	var out []any
	if datatype == "BYTES" {
		for len(raw) > 0 {
			if len(raw) < 4 {
				return nil, fmt.Errorf("truncated BYTES length")
			}
			n := binary.LittleEndian.Uint32(raw)
			raw = raw[4:]
			if uint64(n) > uint64(len(raw)) {
				return nil, fmt.Errorf("truncated BYTES element")
			}
			out = append(out, bytesElem(raw[:n]))
			raw = raw[n:]
		}
		return out, nil
	}
	sz, ok := size[datatype]
	if !ok {
		return nil, fmt.Errorf("datatype %q cannot be written as JSON", datatype)
	}
	if len(raw)%sz != 0 {
		return nil, fmt.Errorf("%d raw bytes are not whole %s elements", len(raw), datatype)
	}
	le := binary.LittleEndian
	for b := raw; len(b) > 0; b = b[sz:] {
		switch datatype {
		case "BOOL":
			out = append(out, b[0] != 0)
		case "INT8":
			out = append(out, int8(b[0]))
		case "UINT8":
			out = append(out, b[0])
		case "INT16":
			out = append(out, int16(le.Uint16(b)))
		case "UINT16":
			out = append(out, le.Uint16(b))
		case "INT32":
			out = append(out, int32(le.Uint32(b)))
		case "UINT32":
			out = append(out, le.Uint32(b))
		case "FP32":
			out = append(out, math.Float32frombits(le.Uint32(b)))
		case "INT64":
			out = append(out, int64(le.Uint64(b)))
		case "UINT64":
			out = append(out, le.Uint64(b))
		case "FP64":
			out = append(out, math.Float64frombits(le.Uint64(b)))
		}
	}
	return out, nil
}
