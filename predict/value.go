package predict

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says which of its forms a [Value] holds.
type Kind uint8

// The kinds of a Value. The zero Value has KindNone.
const (
	KindNone    Kind = iota // no value
	KindText                // a string
	KindBytes               // raw bytes
	KindInts                // []int64
	KindFloats              // []float64
	KindStrings             // []string
	KindTensors             // named tensors, one per input of a multi-input model
)

var kindNames = [...]string{"none", "text", "bytes", "ints", "floats", "strings", "tensors"}

// String returns the kind's name: none, text, bytes, ints, floats, strings
// or tensors.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the Kind named s, as Kind.String spells it.
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s && i != 0 {
			return Kind(i), true
		}
	}
	return KindNone, false
}

// Value is one model input or output: exactly one of a string, bytes, or an
// array of int64, float64 or string. Build one with [Text], [Bytes], [Ints],
// [Floats] or [Strings]. A Value does not copy the slice it is given; treat
// it as read-only once built.
//
// A model with several named inputs (a [Signer] declaring more than one)
// receives a [Tensors] value from protocols that carry named tensors (the
// Open Inference Protocol). It is an input kind only: the native and Rekcurd
// protocols never produce it, and a label of this kind is not encoded.
type Value struct {
	kind    Kind
	text    string
	bytes   []byte
	ints    []int64
	floats  []float64
	strings []string
	tensors []Tensor
}

// Tensor is one named input of a [KindTensors] value: its elements in
// row-major order and its shape (without a batch dimension that was split
// off).
type Tensor struct {
	Name  string
	Shape []int64
	Value Value
}

// Tensors returns a Value holding named tensors.
func Tensors(ts ...Tensor) Value { return Value{kind: KindTensors, tensors: ts} }

// Tensors returns the named tensors, or nil when v is not tensors.
func (v Value) Tensors() []Tensor { return v.tensors }

// Tensor returns the tensor named name and whether there is one.
func (v Value) Tensor(name string) (Tensor, bool) {
	for _, t := range v.tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Text returns a Value holding a string.
func Text(s string) Value { return Value{kind: KindText, text: s} }

// Bytes returns a Value holding raw bytes.
func Bytes(b []byte) Value { return Value{kind: KindBytes, bytes: b} }

// Ints returns a Value holding an int64 array.
func Ints(v ...int64) Value { return Value{kind: KindInts, ints: v} }

// Floats returns a Value holding a float64 array.
func Floats(v ...float64) Value { return Value{kind: KindFloats, floats: v} }

// Strings returns a Value holding a string array.
func Strings(v ...string) Value { return Value{kind: KindStrings, strings: v} }

// Kind reports which form v holds.
func (v Value) Kind() Kind { return v.kind }

// IsZero reports whether v holds nothing.
func (v Value) IsZero() bool { return v.kind == KindNone }

// Text returns the string, or "" when v is not text.
func (v Value) Text() string { return v.text }

// Bytes returns the bytes, or nil when v is not bytes.
func (v Value) Bytes() []byte { return v.bytes }

// Ints returns the int64 array, or nil when v is not ints.
func (v Value) Ints() []int64 { return v.ints }

// Floats returns the float64 array, or nil when v is not floats.
func (v Value) Floats() []float64 { return v.floats }

// Strings returns the string array, or nil when v is not strings.
func (v Value) Strings() []string { return v.strings }

// Len returns the number of elements of an array, the length of text or
// bytes, the number of tensors, and 0 for the zero Value.
func (v Value) Len() int {
	switch v.kind {
	case KindText:
		return len(v.text)
	case KindBytes:
		return len(v.bytes)
	case KindInts:
		return len(v.ints)
	case KindFloats:
		return len(v.floats)
	case KindStrings:
		return len(v.strings)
	case KindTensors:
		return len(v.tensors)
	}
	return 0
}

// String returns a short text form of v, used for labels in evaluation and
// in logs: the text itself, or the elements joined by commas.
func (v Value) String() string {
	switch v.kind {
	case KindText:
		return v.text
	case KindBytes:
		return fmt.Sprintf("%d bytes", len(v.bytes))
	case KindInts:
		parts := make([]string, len(v.ints))
		for i, x := range v.ints {
			parts[i] = strconv.FormatInt(x, 10)
		}
		return strings.Join(parts, ",")
	case KindFloats:
		parts := make([]string, len(v.floats))
		for i, x := range v.floats {
			parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
		return strings.Join(parts, ",")
	case KindStrings:
		return strings.Join(v.strings, ",")
	case KindTensors:
		parts := make([]string, len(v.tensors))
		for i, t := range v.tensors {
			parts[i] = t.Name + "=" + t.Value.String()
		}
		return strings.Join(parts, ";")
	}
	return ""
}
