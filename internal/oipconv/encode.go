package oipconv

import (
	"encoding/binary"
	"math"
	"reflect"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// Names of the outputs [Outputs] produces.
const (
	OutputLabel  = "label"
	OutputScores = "scores"
)

// ParamClassification is the requested-output parameter of Triton's
// classification extension (class_count). Swapwire refuses it: see
// [RequestedOutputs].
const ParamClassification = "classification"

// Output is one output tensor, ready for any front-end: its elements as a
// Value, and the same elements in Triton's raw layout (little-endian, each
// BYTES element prefixed by its 4-byte little-endian length).
type Output struct {
	Name       string
	Datatype   string
	Shape      []int64
	Value      predict.Value // ints, floats, strings or bytes
	Raw        []byte
	Parameters map[string]*inferencepb.InferParameter
}

// RequestedOutputs returns the names req asks for, in order and once each;
// nil when it names none. An unknown name is InvalidArgument, and so is the
// classification parameter (class_count): Swapwire's models return their
// own label and scores, so it refuses rather than ignore it.
func RequestedOutputs(req *inferencepb.ModelInferRequest) ([]string, error) {
	var names []string
	for _, o := range req.GetOutputs() {
		name := o.GetName()
		if name != OutputLabel && name != OutputScores {
			return nil, predict.InvalidArgument("unknown output %q; the outputs are %q and %q", name, OutputLabel, OutputScores)
		}
		if _, ok := o.GetParameters()[ParamClassification]; ok {
			return nil, predict.InvalidArgument("output %q asks for classification (class_count), which Swapwire does not support: read the label and scores outputs instead", name)
		}
		seen := false
		for _, n := range names {
			seen = seen || n == name
		}
		if !seen {
			names = append(names, name)
		}
	}
	return names, nil
}

// Outputs builds the output tensors from a model's results: one result, or
// with batch > 0 one per batch item, whose outputs then get the leading
// batch dimension.
//
// "label" carries the label: text and strings as BYTES, bytes as BYTES with
// the parameter content_type = "bytes", ints as INT64 and floats as FP64,
// unless the signature declares another datatype for it (any integer type
// for ints, FP32 or FP64 for ints and floats). Unbatched, its shape is [1]
// for text and bytes and [n] for arrays; batched, [N] when every item has
// one element and [N, n] when each has n. "scores" is FP64 (or the declared
// FP32), [n] or [N, n]. Items of a batch must agree on the label's kind and
// length and on the number of scores, or the error is Internal.
//
// With no names requested, the outputs are "label" unless every label is
// empty and "scores" unless there are none; else exactly the names given.
func Outputs(results []predict.Result, batch int, names []string, sig predict.Signature) ([]Output, error) {
	if batch == 0 && len(results) != 1 {
		return nil, predict.Errorf(codes.Internal, "%d results for an unbatched request", len(results))
	}
	if names == nil {
		for _, r := range results {
			if !r.Label.IsZero() {
				names = append(names, OutputLabel)
				break
			}
		}
		for _, r := range results {
			if len(r.Scores) > 0 {
				names = append(names, OutputScores)
				break
			}
		}
	}
	declared := map[string]string{}
	for _, o := range sig.Outputs {
		declared[o.Name] = o.Datatype
	}
	var outs []Output
	for _, name := range names {
		var o Output
		var err error
		if name == OutputLabel {
			o, err = labelOutput(results, batch, declared[OutputLabel])
		} else {
			o, err = scoresOutput(results, batch, declared[OutputScores])
		}
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}

func labelOutput(results []predict.Result, batch int, datatype string) (Output, error) {
	o := Output{Name: OutputLabel}
	kind := results[0].Label.Kind()
	per := labelLen(results[0].Label)
	for i, r := range results {
		if r.Label.Kind() != kind || labelLen(r.Label) != per {
			return o, predict.Errorf(codes.Internal, "batch item %d has a %s label of %d elements, item 0 a %s label of %d: a batch needs one kind and length",
				i, r.Label.Kind(), labelLen(r.Label), kind, per)
		}
	}
	switch kind {
	case predict.KindText, predict.KindStrings:
		var all []string
		for _, r := range results {
			if kind == predict.KindText {
				all = append(all, r.Label.Text())
			} else {
				all = append(all, r.Label.Strings()...)
			}
		}
		o.Value = predict.Strings(all...)
	case predict.KindBytes:
		if len(results) != 1 {
			return o, predict.Errorf(codes.Internal, "bytes labels cannot form a batch")
		}
		o.Value = results[0].Label
		o.Parameters = map[string]*inferencepb.InferParameter{
			ParamContentType: {ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: ContentTypeBytes}},
		}
	case predict.KindInts:
		var all []int64
		for _, r := range results {
			all = append(all, r.Label.Ints()...)
		}
		o.Value = predict.Ints(all...)
	case predict.KindFloats:
		var all []float64
		for _, r := range results {
			all = append(all, r.Label.Floats()...)
		}
		o.Value = predict.Floats(all...)
	case predict.KindNone:
		o.Value = predict.Strings()
		per = 0
	default:
		return o, predict.Errorf(codes.Internal, "a %s label cannot be an output", kind)
	}
	o.Shape = batchShape(batch, per)
	if datatype == "" {
		datatype = defaultDatatype(kind)
	}
	o.Datatype = datatype
	raw, err := encodeRaw(datatype, o.Value)
	if err != nil {
		return o, err
	}
	o.Raw = raw
	return o, nil
}

// labelLen is the number of elements a label contributes: 1 for text and
// bytes.
func labelLen(v predict.Value) int {
	switch v.Kind() {
	case predict.KindText, predict.KindBytes:
		return 1
	}
	return v.Len()
}

// batchShape is [per] unbatched, and batched [N] for one element per item
// or [N, per].
func batchShape(batch, per int) []int64 {
	if batch == 0 {
		return []int64{int64(per)}
	}
	if per == 1 {
		return []int64{int64(batch)}
	}
	return []int64{int64(batch), int64(per)}
}

func scoresOutput(results []predict.Result, batch int, datatype string) (Output, error) {
	per := len(results[0].Scores)
	var all []float64
	for i, r := range results {
		if len(r.Scores) != per {
			return Output{}, predict.Errorf(codes.Internal, "batch item %d has %d scores, item 0 %d: a batch needs one length", i, len(r.Scores), per)
		}
		all = append(all, r.Scores...)
	}
	if datatype == "" {
		datatype = TypeFP64
	}
	shape := []int64{int64(per)}
	if batch > 0 {
		shape = []int64{int64(batch), int64(per)}
	}
	o := Output{Name: OutputScores, Datatype: datatype, Shape: shape, Value: predict.Floats(all...)}
	raw, err := encodeRaw(datatype, o.Value)
	if err != nil {
		return o, err
	}
	o.Raw = raw
	return o, nil
}

func defaultDatatype(k predict.Kind) string {
	switch k {
	case predict.KindInts:
		return TypeInt64
	case predict.KindFloats:
		return TypeFP64
	}
	return TypeBytes
}

// encodeRaw writes v's elements in Triton's raw layout for datatype.
func encodeRaw(datatype string, v predict.Value) ([]byte, error) {
	d, ok := lookupDtype(datatype)
	if !ok || d.fam == famUnsupported {
		return nil, predict.Errorf(codes.Internal, "the model declares output datatype %q, which Swapwire cannot write", datatype)
	}
	mismatch := func() error {
		return predict.Errorf(codes.Internal, "the model declares datatype %s but answered %s", datatype, v.Kind())
	}
	switch d.fam {
	case famBytes:
		var b []byte
		switch v.Kind() {
		case predict.KindStrings:
			for _, s := range v.Strings() {
				b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
				b = append(b, s...)
			}
		case predict.KindBytes:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Bytes())))
			b = append(b, v.Bytes()...)
		default:
			return nil, mismatch()
		}
		return b, nil
	case famFloat:
		var fs []float64
		switch v.Kind() {
		case predict.KindFloats:
			fs = v.Floats()
		case predict.KindInts:
			for _, x := range v.Ints() {
				fs = append(fs, float64(x))
			}
		default:
			return nil, mismatch()
		}
		b := make([]byte, 0, len(fs)*d.size)
		for _, f := range fs {
			if d.size == 4 {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(f)))
			} else {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
			}
		}
		return b, nil
	}
	if v.Kind() != predict.KindInts {
		return nil, mismatch()
	}
	b := make([]byte, 0, v.Len()*d.size)
	for i, x := range v.Ints() {
		if x < d.minInt || x > d.maxInt {
			return nil, predict.Errorf(codes.Internal, "label element %d (%d) does not fit the declared %s", i, x, datatype)
		}
		switch d.size {
		case 1:
			b = append(b, byte(x))
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(x))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(x))
		}
	}
	return b, nil
}

// EncodeResponse builds the response to req from output tensors and the
// results' options, the way Triton answers: every output's elements in
// raw_output_contents, in output order, and no typed contents. The response
// echoes the request's model name, version and id (the caller may set the
// version actually served). The option becomes response parameters (bool,
// string and float64 as such, int and int64 as int64, anything else as its
// JSON text; a value JSON cannot carry fails with Internal); for a batch,
// only when every item's option is the same.
func EncodeResponse(outs []Output, results []predict.Result, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	resp := &inferencepb.ModelInferResponse{
		ModelName:    req.GetModelName(),
		ModelVersion: req.GetModelVersion(),
		Id:           req.GetId(),
	}
	for _, o := range outs {
		resp.Outputs = append(resp.Outputs, &inferencepb.ModelInferResponse_InferOutputTensor{
			Name: o.Name, Datatype: o.Datatype, Shape: o.Shape, Parameters: o.Parameters,
		})
		raw := o.Raw
		if raw == nil {
			raw = []byte{}
		}
		resp.RawOutputContents = append(resp.RawOutputContents, raw)
	}
	if len(results) > 0 {
		opt := results[0].Option
		for _, r := range results[1:] {
			if !reflect.DeepEqual(r.Option, opt) {
				opt = nil
				break
			}
		}
		params, err := optionParameters(opt)
		if err != nil {
			return nil, err
		}
		resp.Parameters = params
	}
	return resp, nil
}

// EncodeOutputs builds the response to req from one result of a model that
// declares no signature: [RequestedOutputs], [Outputs] and
// [EncodeResponse] in one call.
func EncodeOutputs(result predict.Result, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	names, err := RequestedOutputs(req)
	if err != nil {
		return nil, err
	}
	outs, err := Outputs([]predict.Result{result}, 0, names, predict.Signature{})
	if err != nil {
		return nil, err
	}
	return EncodeResponse(outs, []predict.Result{result}, req)
}
