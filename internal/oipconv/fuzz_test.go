package oipconv

import (
	"math"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

var fuzzTypes = []string{TypeInt8, TypeInt16, TypeInt32, TypeInt64, TypeUint8, TypeUint16, TypeUint32,
	TypeUint64, TypeFP32, TypeFP64, TypeBytes, TypeBool, TypeFP16, TypeBF16, "NOPE"}

// fuzzRequest builds a request from fuzz inputs. In raw mode data is the raw
// contents; in typed mode every byte of data becomes one element of the
// field the datatype names (split at zero bytes for BYTES).
func fuzzRequest(dt uint8, ndims uint8, d0, d1 int64, data []byte, typed, asBytes bool) *inferencepb.ModelInferRequest {
	name := fuzzTypes[int(dt)%len(fuzzTypes)]
	shape := []int64{d0, d1}[:int(ndims)%3]
	tn := &tensor{Name: "x", Datatype: name, Shape: shape}
	if asBytes {
		tn.Parameters = bytesParam(ContentTypeBytes)
	}
	req := &inferencepb.ModelInferRequest{Inputs: []*tensor{tn}}
	if !typed {
		req.RawInputContents = [][]byte{data}
		return req
	}
	c := &inferencepb.InferTensorContents{}
	for _, b := range data {
		switch name {
		case TypeInt8, TypeInt16, TypeInt32:
			c.IntContents = append(c.IntContents, int32(int8(b))*300)
		case TypeInt64:
			c.Int64Contents = append(c.Int64Contents, int64(int8(b))<<56)
		case TypeUint8, TypeUint16, TypeUint32:
			c.UintContents = append(c.UintContents, uint32(b)*300)
		case TypeUint64:
			c.Uint64Contents = append(c.Uint64Contents, uint64(b)<<56)
		case TypeFP32:
			c.Fp32Contents = append(c.Fp32Contents, float32(int8(b))/3)
		case TypeFP64:
			c.Fp64Contents = append(c.Fp64Contents, float64(int8(b))/3)
		case TypeBool:
			c.BoolContents = append(c.BoolContents, b%2 == 1)
		}
	}
	if name == TypeBytes {
		start := 0
		for i := 0; i <= len(data); i++ {
			if i == len(data) || data[i] == 0 {
				c.BytesContents = append(c.BytesContents, data[start:i])
				start = i + 1
			}
		}
	}
	tn.Contents = c
	return req
}

// elements is the number of tensor elements a decoded value stands for.
func elements(v predict.Value) int64 {
	switch v.Kind() {
	case predict.KindText, predict.KindBytes:
		return 1
	}
	return int64(v.Len())
}

// typedFrom writes a decoded value back as typed contents of datatype dt.
func typedFrom(dt string, v predict.Value) *inferencepb.InferTensorContents {
	c := &inferencepb.InferTensorContents{}
	for _, x := range v.Ints() {
		switch dt {
		case TypeInt64:
			c.Int64Contents = append(c.Int64Contents, x)
		case TypeUint64:
			c.Uint64Contents = append(c.Uint64Contents, uint64(x))
		case TypeUint8, TypeUint16, TypeUint32:
			c.UintContents = append(c.UintContents, uint32(x))
		default:
			c.IntContents = append(c.IntContents, int32(x))
		}
	}
	for _, x := range v.Floats() {
		if dt == TypeFP32 {
			c.Fp32Contents = append(c.Fp32Contents, float32(x))
		} else {
			c.Fp64Contents = append(c.Fp64Contents, x)
		}
	}
	switch v.Kind() {
	case predict.KindText:
		c.BytesContents = [][]byte{[]byte(v.Text())}
	case predict.KindBytes:
		c.BytesContents = [][]byte{v.Bytes()}
	case predict.KindStrings:
		for _, s := range v.Strings() {
			c.BytesContents = append(c.BytesContents, []byte(s))
		}
	}
	return c
}

func FuzzDecodeInputs(f *testing.F) {
	f.Add(uint8(2), uint8(1), int64(2), int64(0), le(4, 1, 2), false, false)
	f.Add(uint8(10), uint8(1), int64(2), int64(0), lp("ab", "c"), false, false)
	f.Add(uint8(10), uint8(1), int64(1), int64(0), lp("\xff"), false, true)
	f.Add(uint8(8), uint8(2), int64(1), int64(2), f32(1, float32(math.NaN())), false, false)
	f.Add(uint8(0), uint8(1), int64(3), int64(0), []byte{1, 2, 3}, true, false)
	f.Add(uint8(10), uint8(2), int64(1), int64(-1), []byte("a\x00b"), true, false)
	f.Fuzz(func(t *testing.T, dt, ndims uint8, d0, d1 int64, data []byte, typed, asBytes bool) {
		req := fuzzRequest(dt, ndims, d0, d1, data, typed, asBytes)
		in, err := DecodeInputs(req)
		if err != nil {
			if c := predict.CodeOf(err); c != codes.InvalidArgument {
				t.Fatalf("error code %v, want InvalidArgument: %v", c, err)
			}
			return
		}
		count, err := elementCount(in.Shape)
		if err != nil {
			t.Fatalf("decoded a request whose shape %v is invalid: %v", in.Shape, err)
		}
		if got := elements(in.Value); got != count {
			t.Fatalf("decoded %d elements (%v), shape %v holds %d", got, in.Value.Kind(), in.Shape, count)
		}
		d, _ := lookupDtype(in.Datatype)
		wantKind := map[family]predict.Kind{famSigned: predict.KindInts, famUnsigned: predict.KindInts, famFloat: predict.KindFloats}[d.fam]
		if d.fam == famBytes {
			wantKind = map[bool]predict.Kind{true: predict.KindText, false: predict.KindStrings}[count == 1]
			if asBytes {
				wantKind = predict.KindBytes
			}
		}
		if in.Value.Kind() != wantKind {
			t.Fatalf("%s decoded as %v, want %v", in.Datatype, in.Value.Kind(), wantKind)
		}
		// The same elements sent as typed contents decode to the same value.
		again := fuzzRequest(dt, ndims, d0, d1, nil, true, asBytes)
		again.Inputs[0].Contents = typedFrom(in.Datatype, in.Value)
		in2, err := DecodeInputs(again)
		if err != nil || !sameValue(in2.Value, in.Value) {
			t.Fatalf("typed re-decode of %v gave %v, %v", in.Value, in2.Value, err)
		}
	})
}

// FuzzBatchRoundTrip decodes a request, shapes it for a batching signature
// (the first dimension is the batch) and encodes one echoed result per item:
// every error is InvalidArgument (the request's fault) or, from encoding,
// Internal; a batch splits into exactly d0 items whose elements add up to the
// whole; the raw outputs read back as the inputs' elements.
func FuzzBatchRoundTrip(f *testing.F) {
	f.Add(uint8(2), uint8(2), int64(2), int64(2), le(4, 1, 2, 3, 4), false)
	f.Add(uint8(10), uint8(2), int64(2), int64(1), lp("ab", "c"), false)
	f.Add(uint8(8), uint8(2), int64(3), int64(0), []byte{}, false)
	f.Add(uint8(9), uint8(1), int64(1), int64(0), f64(2.5), true)
	f.Fuzz(func(t *testing.T, dt, ndims uint8, d0, d1 int64, data []byte, typed bool) {
		req := fuzzRequest(dt, ndims, d0, d1, data, typed, false)
		dec, err := DecodeRequest(req)
		if err != nil {
			if c := predict.CodeOf(err); c != codes.InvalidArgument {
				t.Fatalf("decode error code %v: %v", c, err)
			}
			return
		}
		sig := predict.Signature{Inputs: []predict.TensorSpec{{Name: dec.Inputs[0].Name}}, MaxBatchSize: 1 << 20}
		values, n, err := ModelInputs(dec, sig, true)
		if err != nil {
			if c := predict.CodeOf(err); c != codes.InvalidArgument {
				t.Fatalf("ModelInputs error code %v: %v", c, err)
			}
			return
		}
		if n != len(values) || int64(n) != dec.Inputs[0].Shape[0] {
			t.Fatalf("batch %d with %d values for shape %v", n, len(values), dec.Inputs[0].Shape)
		}
		var total int64
		results := make([]predict.Result, n)
		for i, v := range values {
			total += elements(v)
			results[i] = predict.Result{Label: v}
		}
		if want := elements(dec.Inputs[0].Value); total != want {
			t.Fatalf("items hold %d elements, the input %d", total, want)
		}
		outs, err := Outputs(results, n, []string{OutputLabel}, predict.Signature{})
		if err != nil {
			if c := predict.CodeOf(err); c != codes.Internal {
				t.Fatalf("Outputs error code %v: %v", c, err)
			}
			return
		}
		back, err := DecodeInputs(&inferencepb.ModelInferRequest{
			Inputs:           []*tensor{{Name: "label", Datatype: outs[0].Datatype, Shape: []int64{total}}},
			RawInputContents: [][]byte{outs[0].Raw},
		})
		if err != nil || elements(back.Value) != total {
			t.Fatalf("raw label of %d elements read back as %v, %v", total, back.Value, err)
		}
	})
}
