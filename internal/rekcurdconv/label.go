package rekcurdconv

import (
	"github.com/swapwire/swapwire/predict"
)

func mismatch(label predict.Value, method string, want Form) error {
	return predict.InvalidArgument("model returned %s label, method %s wants %s", label.Kind(), method, want)
}

// StringLabel returns label as the output of a method whose output form is
// String: a text label, or the only element of a one-element strings label.
// method names the called method in the error message.
func StringLabel(label predict.Value, method string) (string, error) {
	switch {
	case label.Kind() == predict.KindText:
		return label.Text(), nil
	case label.Kind() == predict.KindStrings && len(label.Strings()) == 1:
		return label.Strings()[0], nil
	}
	return "", mismatch(label, method, FormString)
}

// BytesLabel returns label as the output of a method whose output form is
// Bytes: a bytes label, or the UTF-8 bytes of a text label.
func BytesLabel(label predict.Value, method string) ([]byte, error) {
	switch label.Kind() {
	case predict.KindBytes:
		return label.Bytes(), nil
	case predict.KindText:
		return []byte(label.Text()), nil
	}
	return nil, mismatch(label, method, FormBytes)
}

// ArrIntLabel returns label as the output of a method whose output form is
// ArrInt: an ints label narrowed to int32. An element that does not fit
// fails with InvalidArgument.
func ArrIntLabel(label predict.Value, method string) ([]int32, error) {
	if label.Kind() != predict.KindInts {
		return nil, mismatch(label, method, FormArrInt)
	}
	out, err := Int32s(label.Ints())
	if err != nil {
		return nil, predict.InvalidArgument("model returned ints label that method %s cannot carry: %v", method, err)
	}
	return out, nil
}

// ArrFloatLabel returns label as the output of a method whose output form
// is ArrFloat: a floats label narrowed to float32 (see [Float32]), or an ints
// label converted to the nearest float32 (exact up to 2^24).
func ArrFloatLabel(label predict.Value, method string) ([]float32, error) {
	switch label.Kind() {
	case predict.KindFloats:
		out, err := Float32s(label.Floats())
		if err != nil {
			return nil, predict.InvalidArgument("model returned floats label that method %s cannot carry: %v", method, err)
		}
		return out, nil
	case predict.KindInts:
		ints := label.Ints()
		out := make([]float32, len(ints))
		for i, x := range ints {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, mismatch(label, method, FormArrFloat)
}

// ArrStringLabel returns label as the output of a method whose output form
// is ArrString: a strings label, or a text label as a one-element array.
func ArrStringLabel(label predict.Value, method string) ([]string, error) {
	switch label.Kind() {
	case predict.KindStrings:
		return label.Strings(), nil
	case predict.KindText:
		return []string{label.Text()}, nil
	}
	return nil, mismatch(label, method, FormArrString)
}
