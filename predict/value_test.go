package predict_test

import (
	"testing"

	"github.com/swapwire/swapwire/predict"
)

func TestValueKinds(t *testing.T) {
	tests := []struct {
		v    predict.Value
		kind predict.Kind
		n    int
		str  string
	}{
		{predict.Value{}, predict.KindNone, 0, ""},
		{predict.Text("héllo"), predict.KindText, 6, "héllo"},
		{predict.Bytes([]byte{1, 2, 3}), predict.KindBytes, 3, "3 bytes"},
		{predict.Ints(1, -2, 3), predict.KindInts, 3, "1,-2,3"},
		{predict.Floats(0.5, 2), predict.KindFloats, 2, "0.5,2"},
		{predict.Strings("a", "b"), predict.KindStrings, 2, "a,b"},
		{predict.Tensors(predict.Tensor{Name: "x", Shape: []int64{2}, Value: predict.Ints(1, 2)}, predict.Tensor{Name: "y", Value: predict.Text("t")}),
			predict.KindTensors, 2, "x=1,2;y=t"},
	}
	for _, tt := range tests {
		if tt.v.Kind() != tt.kind || tt.v.Len() != tt.n || tt.v.String() != tt.str || tt.v.IsZero() != (tt.kind == predict.KindNone) {
			t.Errorf("%v: kind %v len %d string %q", tt.kind, tt.v.Kind(), tt.v.Len(), tt.v.String())
		}
		if k, ok := predict.ParseKind(tt.kind.String()); tt.kind != predict.KindNone && (!ok || k != tt.kind) {
			t.Errorf("ParseKind(%q) = %v, %v", tt.kind.String(), k, ok)
		}
	}
	if _, ok := predict.ParseKind("none"); ok {
		t.Error("ParseKind accepted none")
	}
	if got := predict.Kind(99).String(); got != "kind(99)" {
		t.Errorf("unknown kind prints %q", got)
	}
	// Named tensors are found by name.
	tv := predict.Tensors(predict.Tensor{Name: "a", Value: predict.Floats(0.5)}, predict.Tensor{Name: "b", Value: predict.Ints(3)})
	if b, ok := tv.Tensor("b"); !ok || b.Value.Ints()[0] != 3 || len(tv.Tensors()) != 2 {
		t.Errorf("Tensor(b) = %v, %v", b, ok)
	}
	if _, ok := tv.Tensor("c"); ok || predict.Ints(1).Tensors() != nil {
		t.Error("found a tensor that is not there")
	}
	// Accessors of the other kinds return zero values.
	v := predict.Ints(7)
	if v.Text() != "" || v.Bytes() != nil || v.Floats() != nil || v.Strings() != nil || v.Ints()[0] != 7 {
		t.Error("accessors of other kinds are not zero")
	}
}
