package valueconv

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   predict.Value
		want *swapwirev1.Value
	}{
		{"text", predict.Text("héllo"), &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "héllo"}}},
		{"empty text", predict.Text(""), &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: ""}}},
		{"bytes", predict.Bytes([]byte{0, 1, 255}), &swapwirev1.Value{Kind: &swapwirev1.Value_Data{Data: []byte{0, 1, 255}}}},
		{"ints", predict.Ints(1, -2, math.MaxInt64), &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{1, -2, math.MaxInt64}}}}},
		{"floats", predict.Floats(0.5, -1e300), &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: []float64{0.5, -1e300}}}}},
		{"strings", predict.Strings("a", "", "ç"), &swapwirev1.Value{Kind: &swapwirev1.Value_Strings{Strings: &swapwirev1.StringArray{Values: []string{"a", "", "ç"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ValueToProto(tc.in)
			if !proto.Equal(p, tc.want) {
				t.Fatalf("ValueToProto = %v, want %v", p, tc.want)
			}
			// Through the wire and back.
			b, err := proto.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var q swapwirev1.Value
			if err := proto.Unmarshal(b, &q); err != nil {
				t.Fatal(err)
			}
			got, err := ValueFromProto(&q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind() != tc.in.Kind() || got.String() != tc.in.String() || got.Len() != tc.in.Len() {
				t.Fatalf("round trip = %v (%v, len %d), want %v (%v, len %d)",
					got, got.Kind(), got.Len(), tc.in, tc.in.Kind(), tc.in.Len())
			}
			if tc.in.Kind() == predict.KindBytes && string(got.Bytes()) != string(tc.in.Bytes()) {
				t.Fatalf("bytes = %v, want %v", got.Bytes(), tc.in.Bytes())
			}
		})
	}
}

func TestValueAliases(t *testing.T) {
	ints := []int64{1, 2, 3}
	p := ValueToProto(predict.Ints(ints...))
	if &p.GetInts().GetValues()[0] != &ints[0] {
		t.Error("ValueToProto copied the ints")
	}
	floats := []float64{1, 2}
	v, err := ValueFromProto(&swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: floats}}})
	if err != nil {
		t.Fatal(err)
	}
	if &v.Floats()[0] != &floats[0] {
		t.Error("ValueFromProto copied the floats")
	}
	data := []byte("abc")
	v, err = ValueFromProto(&swapwirev1.Value{Kind: &swapwirev1.Value_Data{Data: data}})
	if err != nil {
		t.Fatal(err)
	}
	if &v.Bytes()[0] != &data[0] {
		t.Error("ValueFromProto copied the bytes")
	}
	strs := []string{"x"}
	p = ValueToProto(predict.Strings(strs...))
	if &p.GetStrings().GetValues()[0] != &strs[0] {
		t.Error("ValueToProto copied the strings")
	}
}

func TestValueMissing(t *testing.T) {
	for name, p := range map[string]*swapwirev1.Value{
		"nil":   nil,
		"empty": {},
	} {
		_, err := ValueFromProto(p)
		if !errors.Is(err, ErrMissing) {
			t.Errorf("%s: err = %v, want ErrMissing", name, err)
		}
		if c := predict.CodeOf(err); c != codes.InvalidArgument {
			t.Errorf("%s: code = %v, want InvalidArgument", name, c)
		}
		if err != nil && !strings.Contains(err.Error(), "input is missing") {
			t.Errorf("%s: message %q does not say the input is missing", name, err)
		}
	}
	if p := ValueToProto(predict.Value{}); p != nil {
		t.Errorf("ValueToProto(zero) = %v, want nil", p)
	}
	// A set oneof with a nil array message is an empty array.
	v, err := ValueFromProto(&swapwirev1.Value{Kind: &swapwirev1.Value_Ints{}})
	if err != nil || v.Kind() != predict.KindInts || v.Len() != 0 {
		t.Errorf("nil ints array = %v %v, %v; want empty ints", v.Kind(), v.Len(), err)
	}
}

// nested builds an Option of the given depth: {"d": {"d": ... {"leaf": [1, "x", true, nil]}}}.
func nested(depth int) predict.Option {
	var m map[string]any = map[string]any{"leaf": []any{1.0, "x", true, nil}}
	for i := 1; i < depth; i++ {
		m = map[string]any{"d": m, "level": float64(depth - i)}
	}
	return predict.Option(m)
}

func TestOptionNestedDepth10(t *testing.T) {
	in := nested(10)
	s, err := OptionToProto(in)
	if err != nil {
		t.Fatal(err)
	}
	// Walk the proto: ten levels down is the leaf list.
	cur := s
	for i := 1; i < 10; i++ {
		if got := cur.GetFields()["level"].GetNumberValue(); got != float64(i) {
			t.Fatalf("level %d: number = %v", i, got)
		}
		cur = cur.GetFields()["d"].GetStructValue()
		if cur == nil {
			t.Fatalf("level %d: no struct", i)
		}
	}
	leaf := cur.GetFields()["leaf"].GetListValue().GetValues()
	if len(leaf) != 4 || leaf[0].GetNumberValue() != 1 || leaf[1].GetStringValue() != "x" || !leaf[2].GetBoolValue() {
		t.Fatalf("leaf = %v", leaf)
	}
	if _, ok := leaf[3].GetKind().(*structpb.Value_NullValue); !ok {
		t.Fatalf("leaf[3] = %v, want null", leaf[3])
	}

	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back structpb.Struct
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := OptionFromProto(&back)
	if !reflect.DeepEqual(map[string]any(got), map[string]any(in)) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, in)
	}
}

func TestOptionTypes(t *testing.T) {
	in := predict.Option{
		"int": 3, "int8": int8(-4), "uint64": uint64(5), "f32": float32(0.5),
		"num":     json.Number("2.5"),
		"bytes":   []byte("hi"),
		"strs":    []string{"a", "b"},
		"floats":  []float64{1.5},
		"ints":    []int64{7},
		"intlist": []int{8, 9},
		"smap":    map[string]string{"k": "v"},
		"opt":     predict.Option{"x": false},
		"arr":     [2]bool{true, false},
	}
	s, err := OptionToProto(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"int": 3.0, "int8": -4.0, "uint64": 5.0, "f32": 0.5,
		"num":     2.5,
		"bytes":   "aGk=",
		"strs":    []any{"a", "b"},
		"floats":  []any{1.5},
		"ints":    []any{7.0},
		"intlist": []any{8.0, 9.0},
		"smap":    map[string]any{"k": "v"},
		"opt":     map[string]any{"x": false},
		"arr":     []any{true, false},
	}
	if got := OptionFromProto(s); !reflect.DeepEqual(map[string]any(got), want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestOptionNil(t *testing.T) {
	s, err := OptionToProto(nil)
	if s != nil || err != nil {
		t.Errorf("OptionToProto(nil) = %v, %v", s, err)
	}
	if o := OptionFromProto(nil); o != nil {
		t.Errorf("OptionFromProto(nil) = %v", o)
	}
	if o := OptionFromProto(&structpb.Struct{}); o == nil || len(o) != 0 {
		t.Errorf("OptionFromProto(empty) = %#v, want empty non-nil", o)
	}
}

func TestOptionErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name string
		in   predict.Option
		want string
	}{
		{"chan", predict.Option{"a": map[string]any{"b": make(chan int)}}, `option "a.b": unsupported type chan int`},
		{"func in list", predict.Option{"l": []any{1, func() {}}}, `option "l[1]": unsupported type func()`},
		{"bad utf8", predict.Option{"s": "\xff"}, `option "s": string is not valid UTF-8`},
		{"bad key", predict.Option{"\xff": 1}, `not valid UTF-8`},
		{"int keys", predict.Option{"m": map[int]int{1: 1}}, `unsupported type map[int]int`},
		{"cycle", predict.Option(cyclic), "nested deeper than 100 levels"},
		{"bad number", predict.Option{"n": json.Number("x")}, `option "n"`},
	}
	for _, tc := range tests {
		_, err := OptionToProto(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestRequestAndResult(t *testing.T) {
	req, err := RequestToProto(predict.Request{Input: predict.Ints(1, 2), Option: predict.Option{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	back, err := RequestFromProto(req)
	if err != nil {
		t.Fatal(err)
	}
	if back.Input.String() != "1,2" || back.Option["k"] != "v" {
		t.Fatalf("request round trip = %v %v", back.Input, back.Option)
	}
	if _, err := RequestToProto(predict.Request{}); predict.CodeOf(err) != codes.InvalidArgument || !errors.Is(err, ErrMissing) {
		t.Errorf("empty request: %v", err)
	}
	if _, err := RequestToProto(predict.Request{Input: predict.Text("x"), Option: predict.Option{"c": make(chan int)}}); predict.CodeOf(err) != codes.InvalidArgument {
		t.Errorf("bad option: code %v (%v)", predict.CodeOf(err), err)
	}
	if _, err := RequestFromProto(&workerv1.PredictRequest{}); !errors.Is(err, ErrMissing) {
		t.Errorf("RequestFromProto(no input) = %v", err)
	}

	res, err := ResultToProto(predict.Result{Label: predict.Text("cat"), Scores: []float64{0.9, 0.1}, Option: predict.Option{"n": 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ResultFromProto(res)
	if err != nil {
		t.Fatal(err)
	}
	if r.Label.Text() != "cat" || !reflect.DeepEqual(r.Scores, []float64{0.9, 0.1}) || r.Option["n"] != 1.0 {
		t.Fatalf("result round trip = %+v", r)
	}
	// Scores alone: the label is the zero Value.
	r, err = ResultFromProto(&workerv1.PredictResponse{Scores: []float64{1}})
	if err != nil || !r.Label.IsZero() || r.Scores[0] != 1 {
		t.Fatalf("scores-only result = %+v, %v", r, err)
	}
	if _, err := ResultFromProto(nil); err == nil {
		t.Error("ResultFromProto(nil) succeeded")
	}
	if _, err := ResultToProto(predict.Result{Option: predict.Option{"c": make(chan int)}}); err == nil {
		t.Error("ResultToProto with a bad option succeeded")
	}
}

func TestErrorConversion(t *testing.T) {
	if ErrorToProto(nil) != nil || ErrorFromProto(nil) != nil {
		t.Fatal("nil did not convert to nil")
	}
	e := ErrorToProto(predict.InvalidArgument("bad %d", 7))
	if e.GetCode() != int32(codes.InvalidArgument) || e.GetMessage() != "bad 7" {
		t.Fatalf("ErrorToProto = %v", e)
	}
	err := ErrorFromProto(e)
	if predict.CodeOf(err) != codes.InvalidArgument || err.Error() != "bad 7" {
		t.Fatalf("ErrorFromProto = %v (%v)", err, predict.CodeOf(err))
	}
	for _, c := range []int32{0, 99, -1} {
		if got := predict.CodeOf(ErrorFromProto(&swapwirev1.Error{Code: c, Message: "m"})); got != codes.Unknown {
			t.Errorf("code %d converts to %v, want Unknown", c, got)
		}
	}
	if got := ErrorToProto(errors.New("plain")); got.GetCode() != int32(codes.Unknown) || got.GetMessage() != "plain" {
		t.Errorf("plain error = %v, want Unknown", got)
	}
	if got := ErrorToProto(status.Error(codes.NotFound, "no such")); got.GetCode() != int32(codes.NotFound) || got.GetMessage() != "no such" {
		t.Errorf("status error = %v", got)
	}
}

// FuzzValueFromProto checks that any wire bytes decode without a panic and
// that a decoded value converts back to an equal message.
func FuzzValueFromProto(f *testing.F) {
	for _, v := range []predict.Value{predict.Text("a"), predict.Ints(1, 2), predict.Floats(1), predict.Strings("x"), predict.Bytes([]byte{1})} {
		b, _ := proto.Marshal(ValueToProto(v))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p swapwirev1.Value
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		v, err := ValueFromProto(&p)
		if err != nil {
			if p.GetKind() != nil {
				t.Fatalf("set value %v failed: %v", &p, err)
			}
			return
		}
		q := ValueToProto(v)
		// Unknown fields are dropped; compare the oneof only.
		p.ProtoReflect().SetUnknown(nil)
		if !proto.Equal(dropUnknown(&p), dropUnknown(q)) {
			t.Fatalf("round trip: %v != %v", &p, q)
		}
	})
}

// dropUnknown clears the unknown fields of a value and of its array message.
func dropUnknown(p *swapwirev1.Value) *swapwirev1.Value {
	p = proto.Clone(p).(*swapwirev1.Value)
	switch k := p.GetKind().(type) {
	case *swapwirev1.Value_Ints:
		if k.Ints != nil {
			k.Ints.ProtoReflect().SetUnknown(nil)
		}
	case *swapwirev1.Value_Floats:
		if k.Floats != nil {
			k.Floats.ProtoReflect().SetUnknown(nil)
		}
	case *swapwirev1.Value_Strings:
		if k.Strings != nil {
			k.Strings.ProtoReflect().SetUnknown(nil)
		}
	}
	return p
}

// TestRequestTensors: named tensors travel over the worker protocol as
// PredictRequest.inputs, in order, with their shapes, and come back as the
// same KindTensors value; malformed ones are refused both ways.
func TestRequestTensors(t *testing.T) {
	in := predict.Tensors(
		predict.Tensor{Name: "INPUT0", Shape: []int64{2, 2}, Value: predict.Ints(1, 2, 3, 4)},
		predict.Tensor{Name: "INPUT1", Shape: []int64{1}, Value: predict.Text("hi")},
		predict.Tensor{Name: "w", Value: predict.Floats(0.5)},
	)
	req, err := RequestToProto(predict.Request{Input: in, Option: predict.Option{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if req.GetInput() != nil || len(req.GetInputs()) != 3 {
		t.Fatalf("RequestToProto(tensors) = %v, want three inputs and no input", req)
	}
	if got := req.GetInputs()[0]; got.GetName() != "INPUT0" || !reflect.DeepEqual(got.GetShape(), []int64{2, 2}) ||
		!reflect.DeepEqual(got.GetValue().GetInts().GetValues(), []int64{1, 2, 3, 4}) {
		t.Fatalf("first tensor = %v", got)
	}
	// Through the wire bytes, as a worker would read it.
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var wire workerv1.PredictRequest
	if err := proto.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	back, err := RequestFromProto(&wire)
	if err != nil {
		t.Fatal(err)
	}
	if back.Input.Kind() != predict.KindTensors || back.Option["k"] != "v" || !reflect.DeepEqual(back.Input.Tensors(), in.Tensors()) {
		t.Fatalf("round trip = %v %v, want %v", back.Input.Tensors(), back.Option, in.Tensors())
	}
	if a, ok := back.Input.Tensor("INPUT1"); !ok || a.Value.Text() != "hi" || !reflect.DeepEqual(a.Shape, []int64{1}) {
		t.Fatalf("INPUT1 = %v, %v", a, ok)
	}

	for _, c := range []struct {
		name string
		in   predict.Value
		want string
	}{
		{"no tensors", predict.Tensors(), "no tensor"},
		{"no name", predict.Tensors(predict.Tensor{Value: predict.Ints(1)}), "named input 0 has no name"},
		{"twice", predict.Tensors(predict.Tensor{Name: "a", Value: predict.Ints(1)}, predict.Tensor{Name: "a", Value: predict.Ints(2)}), `input "a" is given twice`},
		{"no value", predict.Tensors(predict.Tensor{Name: "a"}), `input "a" has no value`},
		{"nested", predict.Tensors(predict.Tensor{Name: "a", Value: predict.Tensors(predict.Tensor{Name: "b", Value: predict.Ints(1)})}), `input "a" holds named tensors`},
	} {
		_, err := RequestToProto(predict.Request{Input: c.in})
		if predict.CodeOf(err) != codes.InvalidArgument || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RequestToProto(%s) = %v, want InvalidArgument with %q", c.name, err, c.want)
		}
	}

	ints := &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{1}}}}
	for _, c := range []struct {
		name string
		p    *workerv1.PredictRequest
		want string
	}{
		{"both", &workerv1.PredictRequest{Input: ints, Inputs: []*workerv1.Tensor{{Name: "a", Value: ints}}}, "both input and inputs"},
		{"no name", &workerv1.PredictRequest{Inputs: []*workerv1.Tensor{{Name: "a", Value: ints}, {Value: ints}}}, "named input 1 has no name"},
		{"twice", &workerv1.PredictRequest{Inputs: []*workerv1.Tensor{{Name: "a", Value: ints}, {Name: "a", Value: ints}}}, `input "a" is given twice`},
		{"no value", &workerv1.PredictRequest{Inputs: []*workerv1.Tensor{{Name: "a"}}}, `input "a": input is missing`},
	} {
		_, err := RequestFromProto(c.p)
		if predict.CodeOf(err) != codes.InvalidArgument || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RequestFromProto(%s) = %v, want InvalidArgument with %q", c.name, err, c.want)
		}
	}
}

// FuzzRequestFromProto checks that any wire bytes decode as a request
// without a panic, that a decoded request (one value or named tensors)
// converts back to an equal message, and that a request refused has a
// reason the decoder gives: no input, both kinds, or a bad tensor.
func FuzzRequestFromProto(f *testing.F) {
	for _, in := range []predict.Value{
		predict.Text("a"),
		predict.Ints(1, 2),
		predict.Tensors(predict.Tensor{Name: "INPUT0", Shape: []int64{16}, Value: predict.Ints(1, 2)}, predict.Tensor{Name: "INPUT1", Shape: []int64{1}, Value: predict.Strings("x")}),
		predict.Tensors(predict.Tensor{Name: "x", Value: predict.Bytes([]byte{1})}),
	} {
		req, err := RequestToProto(predict.Request{Input: in, Option: predict.Option{"k": 1.0}})
		if err != nil {
			f.Fatal(err)
		}
		b, _ := proto.Marshal(req)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p workerv1.PredictRequest
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		r, err := RequestFromProto(&p)
		if err != nil {
			if predict.CodeOf(err) != codes.InvalidArgument {
				t.Fatalf("refused with code %v: %v", predict.CodeOf(err), err)
			}
			return
		}
		if (r.Input.Kind() == predict.KindTensors) != (len(p.GetInputs()) > 0) {
			t.Fatalf("kind %v from %d tensors", r.Input.Kind(), len(p.GetInputs()))
		}
		q, err := RequestToProto(r)
		if err != nil {
			t.Fatalf("decoded request %v does not encode: %v", r, err)
		}
		want := &workerv1.PredictRequest{Input: dropUnknownValue(p.GetInput())}
		for _, tn := range p.GetInputs() {
			want.Inputs = append(want.Inputs, &workerv1.Tensor{Name: tn.GetName(), Shape: tn.GetShape(), Value: dropUnknownValue(tn.GetValue())})
		}
		got := &workerv1.PredictRequest{Input: q.GetInput(), Inputs: q.GetInputs()}
		if !proto.Equal(want, got) {
			t.Fatalf("round trip: %v != %v", want, got)
		}
	})
}

// dropUnknownValue is dropUnknown that keeps nil and clears the value's own
// unknown fields too.
func dropUnknownValue(p *swapwirev1.Value) *swapwirev1.Value {
	if p == nil {
		return nil
	}
	p = dropUnknown(p)
	p.ProtoReflect().SetUnknown(nil)
	return p
}
