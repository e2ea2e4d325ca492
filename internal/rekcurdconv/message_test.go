package rekcurdconv

import (
	"math"
	"reflect"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
)

func opt(s string) *rekcurdpb.Option { return &rekcurdpb.Option{Val: s} }

func TestFromInputs(t *testing.T) {
	v, o, err := FromStringInput(&rekcurdpb.StringInput{Input: "hi", Option: opt(`{"k":1}`)})
	if err != nil || v.Kind() != predict.KindText || v.Text() != "hi" || !reflect.DeepEqual(o, predict.Option{"k": 1.0}) {
		t.Errorf("FromStringInput = %v, %v, %v", v, o, err)
	}
	v, o, err = FromArrIntInput(&rekcurdpb.ArrIntInput{Input: []int32{math.MinInt32, 5}})
	if err != nil || !reflect.DeepEqual(v.Ints(), []int64{math.MinInt32, 5}) || o == nil || len(o) != 0 {
		t.Errorf("FromArrIntInput = %v, %v, %v", v, o, err)
	}
	v, _, err = FromArrFloatInput(&rekcurdpb.ArrFloatInput{Input: []float32{0.25, -1}, Option: opt("{}")})
	if err != nil || !reflect.DeepEqual(v.Floats(), []float64{0.25, -1}) {
		t.Errorf("FromArrFloatInput = %v, %v", v, err)
	}
	v, _, err = FromArrStringInput(&rekcurdpb.ArrStringInput{Input: []string{"a", ""}})
	if err != nil || !reflect.DeepEqual(v.Strings(), []string{"a", ""}) {
		t.Errorf("FromArrStringInput = %v, %v", v, err)
	}
	for _, call := range []func() error{
		func() error { _, _, err := FromStringInput(&rekcurdpb.StringInput{Option: opt("[")}); return err },
		func() error { _, _, err := FromArrIntInput(&rekcurdpb.ArrIntInput{Option: opt("1")}); return err },
		func() error {
			_, _, err := FromArrFloatInput(&rekcurdpb.ArrFloatInput{Option: opt("null")})
			return err
		},
		func() error {
			_, _, err := FromArrStringInput(&rekcurdpb.ArrStringInput{Option: opt("{} x")})
			return err
		},
	} {
		if err := call(); predict.CodeOf(err) != codes.InvalidArgument {
			t.Errorf("bad option: error %v, want InvalidArgument", err)
		}
	}
}

func TestJoinBytesInput(t *testing.T) {
	v, o, err := JoinBytesInput([]*rekcurdpb.BytesInput{
		{Input: []byte("ab"), Option: opt(`{"x":"y"}`)},
		{Input: []byte{}},
		{Input: []byte("c"), Option: opt(`{"x":"y"}`)},
	})
	if err != nil || v.Kind() != predict.KindBytes || string(v.Bytes()) != "abc" || !reflect.DeepEqual(o, predict.Option{"x": "y"}) {
		t.Fatalf("JoinBytesInput = %v %q, %v, %v", v.Kind(), v.Bytes(), o, err)
	}
	for name, chunks := range map[string][]*rekcurdpb.BytesInput{
		"none":        nil,
		"conflicting": {{Option: opt(`{"a":1}`)}, {Option: opt(`{"a":2}`)}},
		"bad json":    {{Input: []byte("x"), Option: opt(`{`)}},
	} {
		if _, _, err := JoinBytesInput(chunks); predict.CodeOf(err) != codes.InvalidArgument {
			t.Errorf("%s: error %v, want InvalidArgument", name, err)
		}
	}
}

func TestScore(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		in   []float64
		want float32
	}{
		{nil, 0}, {[]float64{0.25}, 0.25}, {[]float64{0.1, 0.7, 0.2}, 0.7}, {[]float64{nan, 0.3, nan}, 0.3},
	} {
		if got, err := Score(tt.in); err != nil || got != tt.want {
			t.Errorf("Score(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if got, err := Score([]float64{nan}); err != nil || !math.IsNaN(float64(got)) {
		t.Errorf("Score(NaN) = %v, %v", got, err)
	}
	if _, err := Score([]float64{1e300}); predict.CodeOf(err) != codes.InvalidArgument {
		t.Errorf("Score(1e300) error %v", err)
	}
	if _, err := Scores([]float64{0, -1e300}); predict.CodeOf(err) != codes.InvalidArgument {
		t.Errorf("Scores(-1e300) error %v", err)
	}
}

func TestToOutputs(t *testing.T) {
	r := predict.Result{Label: predict.Text("cat"), Scores: []float64{0.2, 0.8}, Option: predict.Option{"model": "v3"}}
	so, err := ToStringOutput(r, "Predict_String_String")
	if err != nil || so.GetOutput() != "cat" || so.GetScore() != 0.8 || so.GetOption().GetVal() != `{"model":"v3"}` {
		t.Errorf("ToStringOutput = %v, %v", so, err)
	}
	bo, err := ToBytesOutput(predict.Result{Label: predict.Bytes([]byte{1, 2})}, "Predict_Bytes_Bytes")
	if err != nil || !reflect.DeepEqual(bo.GetOutput(), []byte{1, 2}) || bo.GetScore() != 0 || bo.GetOption().GetVal() != "{}" {
		t.Errorf("ToBytesOutput = %v, %v", bo, err)
	}
	io, err := ToArrIntOutput(predict.Result{Label: predict.Ints(4, 5), Scores: []float64{0.5, 0.25}}, "Predict_ArrInt_ArrInt")
	if err != nil || !reflect.DeepEqual(io.GetOutput(), []int32{4, 5}) || !reflect.DeepEqual(io.GetScore(), []float32{0.5, 0.25}) {
		t.Errorf("ToArrIntOutput = %v, %v", io, err)
	}
	fo, err := ToArrFloatOutput(predict.Result{Label: predict.Floats(1.5)}, "Predict_ArrFloat_ArrFloat")
	if err != nil || !reflect.DeepEqual(fo.GetOutput(), []float32{1.5}) || len(fo.GetScore()) != 0 {
		t.Errorf("ToArrFloatOutput = %v, %v", fo, err)
	}
	sto, err := ToArrStringOutput(predict.Result{Label: predict.Strings("a", "b"), Scores: []float64{1, 0}}, "Predict_ArrString_ArrString")
	if err != nil || !reflect.DeepEqual(sto.GetOutput(), []string{"a", "b"}) || !reflect.DeepEqual(sto.GetScore(), []float32{1, 0}) {
		t.Errorf("ToArrStringOutput = %v, %v", sto, err)
	}

	// Each builder reports a label mismatch, a score overflow and a bad option.
	badLabel := predict.Result{Label: predict.Value{}}
	badScore := predict.Result{Label: predict.Text("x"), Scores: []float64{1e40}}
	badOpt := predict.Result{Label: predict.Text("x"), Option: predict.Option{"n": math.Inf(1)}}
	intsBadScore := predict.Result{Label: predict.Ints(1), Scores: []float64{1e40}}
	intsBadOpt := predict.Result{Label: predict.Ints(1), Option: predict.Option{"n": math.NaN()}}
	strBadScore := predict.Result{Label: predict.Strings("x"), Scores: []float64{1e40}}
	strBadOpt := predict.Result{Label: predict.Strings("x"), Option: predict.Option{"n": math.NaN()}}
	for _, tt := range []struct {
		name string
		err  error
		code codes.Code
	}{
		{"string label", second(ToStringOutput(badLabel, "m")), codes.InvalidArgument},
		{"string score", second(ToStringOutput(badScore, "m")), codes.InvalidArgument},
		{"string option", second(ToStringOutput(badOpt, "m")), codes.Internal},
		{"bytes label", second(ToBytesOutput(badLabel, "m")), codes.InvalidArgument},
		{"bytes score", second(ToBytesOutput(badScore, "m")), codes.InvalidArgument},
		{"bytes option", second(ToBytesOutput(badOpt, "m")), codes.Internal},
		{"arrint label", second(ToArrIntOutput(badLabel, "m")), codes.InvalidArgument},
		{"arrint score", second(ToArrIntOutput(intsBadScore, "m")), codes.InvalidArgument},
		{"arrint option", second(ToArrIntOutput(intsBadOpt, "m")), codes.Internal},
		{"arrfloat label", second(ToArrFloatOutput(badLabel, "m")), codes.InvalidArgument},
		{"arrfloat score", second(ToArrFloatOutput(intsBadScore, "m")), codes.InvalidArgument},
		{"arrfloat option", second(ToArrFloatOutput(intsBadOpt, "m")), codes.Internal},
		{"arrstring label", second(ToArrStringOutput(badLabel, "m")), codes.InvalidArgument},
		{"arrstring score", second(ToArrStringOutput(strBadScore, "m")), codes.InvalidArgument},
		{"arrstring option", second(ToArrStringOutput(strBadOpt, "m")), codes.Internal},
	} {
		if c := predict.CodeOf(tt.err); c != tt.code {
			t.Errorf("%s: code %v (%v), want %v", tt.name, c, tt.err, tt.code)
		}
	}
}

func second[T any](_ T, err error) error { return err }
