// Package jsonvalue reads and writes predict values as JSON objects, the
// format of warm-up samples, evaluation data and the CLI's output:
//
//	{"text": "hello"}
//	{"bytes": "aGVsbG8="}            (standard base64)
//	{"ints": [1, 2, 3]}
//	{"floats": [0.5, 1]}
//	{"strings": ["a", "b"]}
//
// An example adds "option" (an object) and, for evaluation, "label" (a value
// object of its own, or a bare string or number).
package jsonvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/swapwire/swapwire/predict"
)

// Object is the JSON form of a value. Exactly one field is set.
type Object struct {
	Text    *string   `json:"text,omitempty"`
	Bytes   []byte    `json:"bytes,omitempty"`
	Ints    []int64   `json:"ints,omitempty"`
	Floats  []float64 `json:"floats,omitempty"`
	Strings []string  `json:"strings,omitempty"`
}

// MarshalJSON writes the one field that is set, even when it is an empty
// array (which the omitempty tags would drop).
func (o Object) MarshalJSON() ([]byte, error) {
	switch {
	case o.Text != nil:
		return json.Marshal(struct {
			Text string `json:"text"`
		}{*o.Text})
	case o.Bytes != nil:
		return json.Marshal(struct {
			Bytes []byte `json:"bytes"`
		}{o.Bytes})
	case o.Ints != nil:
		return json.Marshal(struct {
			Ints []int64 `json:"ints"`
		}{o.Ints})
	case o.Floats != nil:
		return json.Marshal(struct {
			Floats []float64 `json:"floats"`
		}{o.Floats})
	case o.Strings != nil:
		return json.Marshal(struct {
			Strings []string `json:"strings"`
		}{o.Strings})
	}
	return []byte("{}"), nil
}

// Example is one line of a warm-up or evaluation file.
type Example struct {
	Object
	Option predict.Option  `json:"option,omitempty"`
	Label  json.RawMessage `json:"label,omitempty"`
}

// FromValue returns the JSON form of v.
func FromValue(v predict.Value) Object {
	var o Object
	switch v.Kind() {
	case predict.KindText:
		s := v.Text()
		o.Text = &s
	case predict.KindBytes:
		o.Bytes = v.Bytes()
		if o.Bytes == nil {
			o.Bytes = []byte{}
		}
	case predict.KindInts:
		o.Ints = nonNil(v.Ints())
	case predict.KindFloats:
		o.Floats = nonNil(v.Floats())
	case predict.KindStrings:
		o.Strings = nonNil(v.Strings())
	}
	return o
}

// Value returns the value o holds, or an error when it holds none or more than one.
func (o Object) Value() (predict.Value, error) {
	var v predict.Value
	n := 0
	if o.Text != nil {
		v, n = predict.Text(*o.Text), n+1
	}
	if o.Bytes != nil {
		v, n = predict.Bytes(o.Bytes), n+1
	}
	if o.Ints != nil {
		v, n = predict.Ints(o.Ints...), n+1
	}
	if o.Floats != nil {
		v, n = predict.Floats(o.Floats...), n+1
	}
	if o.Strings != nil {
		v, n = predict.Strings(o.Strings...), n+1
	}
	switch n {
	case 0:
		return v, fmt.Errorf("no value: set one of text, bytes, ints, floats, strings")
	case 1:
		return v, nil
	}
	return predict.Value{}, fmt.Errorf("%d values: set exactly one of text, bytes, ints, floats, strings", n)
}

// ParseExample decodes one line of a warm-up or evaluation file.
func ParseExample(line []byte) (predict.Value, predict.Option, error) {
	var ex Example
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ex); err != nil {
		return predict.Value{}, nil, err
	}
	v, err := ex.Object.Value()
	return v, ex.Option, err
}

// ParseLabeledExample decodes one line of an evaluation file: an example
// with a "label", given as a value object or as a bare string or number.
func ParseLabeledExample(line []byte) (in predict.Value, opt predict.Option, label predict.Value, err error) {
	var ex Example
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ex); err != nil {
		return in, nil, label, err
	}
	if in, err = ex.Object.Value(); err != nil {
		return in, nil, label, err
	}
	if len(ex.Label) == 0 {
		return in, nil, label, fmt.Errorf("no label")
	}
	label, err = parseLabel(ex.Label)
	return in, ex.Option, label, err
}

func parseLabel(raw json.RawMessage) (predict.Value, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return predict.Text(s), nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return predict.Ints(i), nil
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return predict.Value{}, fmt.Errorf("label %s is not a number", raw)
		}
		return predict.Floats(f), nil
	}
	var o Object
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return predict.Value{}, fmt.Errorf("label: %w", err)
	}
	return o.Value()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
