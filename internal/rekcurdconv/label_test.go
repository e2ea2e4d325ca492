package rekcurdconv

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

func TestLabelCoercions(t *testing.T) {
	const m = "Predict_X_Y"
	if got, err := StringLabel(predict.Text("cat"), m); err != nil || got != "cat" {
		t.Errorf("StringLabel(text) = %q, %v", got, err)
	}
	if got, err := StringLabel(predict.Strings("dog"), m); err != nil || got != "dog" {
		t.Errorf("StringLabel(strings[1]) = %q, %v", got, err)
	}
	if got, err := BytesLabel(predict.Bytes([]byte{0, 255}), m); err != nil || !reflect.DeepEqual(got, []byte{0, 255}) {
		t.Errorf("BytesLabel(bytes) = %v, %v", got, err)
	}
	if got, err := BytesLabel(predict.Text("hé"), m); err != nil || !reflect.DeepEqual(got, []byte("hé")) {
		t.Errorf("BytesLabel(text) = %v, %v", got, err)
	}
	if got, err := ArrIntLabel(predict.Ints(7), m); err != nil || !reflect.DeepEqual(got, []int32{7}) {
		t.Errorf("ArrIntLabel(ints[1]) = %v, %v", got, err)
	}
	if got, err := ArrIntLabel(predict.Ints(-1, 2, 3), m); err != nil || !reflect.DeepEqual(got, []int32{-1, 2, 3}) {
		t.Errorf("ArrIntLabel(ints) = %v, %v", got, err)
	}
	if got, err := ArrFloatLabel(predict.Floats(0.5, -2), m); err != nil || !reflect.DeepEqual(got, []float32{0.5, -2}) {
		t.Errorf("ArrFloatLabel(floats) = %v, %v", got, err)
	}
	if got, err := ArrFloatLabel(predict.Ints(3, 1<<40+1), m); err != nil || !reflect.DeepEqual(got, []float32{3, 1 << 40}) {
		t.Errorf("ArrFloatLabel(ints) = %v, %v", got, err)
	}
	if got, err := ArrStringLabel(predict.Strings("a", "b"), m); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ArrStringLabel(strings) = %v, %v", got, err)
	}
	if got, err := ArrStringLabel(predict.Text("a"), m); err != nil || !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("ArrStringLabel(text) = %v, %v", got, err)
	}
}

func TestLabelMismatch(t *testing.T) {
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"ints to String", func() error { _, err := StringLabel(predict.Ints(1), "Predict_String_String"); return err },
			"model returned ints label, method Predict_String_String wants String"},
		{"two strings to String", func() error { _, err := StringLabel(predict.Strings("a", "b"), "Predict_ArrInt_String"); return err },
			"model returned strings label, method Predict_ArrInt_String wants String"},
		{"floats to Bytes", func() error { _, err := BytesLabel(predict.Floats(1), "Predict_Bytes_Bytes"); return err },
			"model returned floats label, method Predict_Bytes_Bytes wants Bytes"},
		{"floats to ArrInt", func() error { _, err := ArrIntLabel(predict.Floats(1), "Predict_String_ArrInt"); return err },
			"model returned floats label, method Predict_String_ArrInt wants ArrInt"},
		{"text to ArrFloat", func() error { _, err := ArrFloatLabel(predict.Text("x"), "Predict_String_ArrFloat"); return err },
			"model returned text label, method Predict_String_ArrFloat wants ArrFloat"},
		{"bytes to ArrString", func() error { _, err := ArrStringLabel(predict.Bytes(nil), "Predict_Bytes_ArrString"); return err },
			"model returned bytes label, method Predict_Bytes_ArrString wants ArrString"},
		{"none to String", func() error { _, err := StringLabel(predict.Value{}, "Predict_String_String"); return err },
			"model returned none label, method Predict_String_String wants String"},
		{"int overflow", func() error { _, err := ArrIntLabel(predict.Ints(1, 1<<31), "Predict_String_ArrInt"); return err },
			"method Predict_String_ArrInt cannot carry: element 1 (2147483648) does not fit in int32"},
		{"float overflow", func() error { _, err := ArrFloatLabel(predict.Floats(1e300), "Predict_String_ArrFloat"); return err },
			"method Predict_String_ArrFloat cannot carry: element 0 (1e+300) does not fit in float32"},
	}
	for _, tt := range tests {
		err := tt.call()
		if err == nil || predict.CodeOf(err) != codes.InvalidArgument || err.Error() != tt.msg && !strings.HasSuffix(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want InvalidArgument %q", tt.name, err, tt.msg)
		}
	}
}
