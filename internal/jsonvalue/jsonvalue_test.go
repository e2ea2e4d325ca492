package jsonvalue

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/swapwire/swapwire/predict"
)

func TestParseExample(t *testing.T) {
	tests := []struct {
		line string
		want predict.Value
	}{
		{`{"text": "hi"}`, predict.Text("hi")},
		{`{"text": ""}`, predict.Text("")},
		{`{"bytes": "aGk="}`, predict.Bytes([]byte("hi"))},
		{`{"ints": [1, -2]}`, predict.Ints(1, -2)},
		{`{"floats": [0.5]}`, predict.Floats(0.5)},
		{`{"strings": ["a", "b"], "option": {"k": {"deep": [1]}}}`, predict.Strings("a", "b")},
	}
	for _, tt := range tests {
		v, _, err := ParseExample([]byte(tt.line))
		if err != nil || v.Kind() != tt.want.Kind() || v.String() != tt.want.String() {
			t.Errorf("%s: %v %v", tt.line, v, err)
		}
	}
	_, opt, _ := ParseExample([]byte(`{"text": "x", "option": {"k": {"deep": [1]}}}`))
	if opt["k"].(map[string]any)["deep"].([]any)[0] != 1.0 {
		t.Errorf("option %v", opt)
	}
	for _, bad := range []string{`{}`, `{"text": "a", "ints": [1]}`, `{"txt": "a"}`, `[1]`, `{"ints": ["x"]}`} {
		if _, _, err := ParseExample([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestParseLabeledExample(t *testing.T) {
	tests := []struct {
		line  string
		label predict.Value
	}{
		{`{"ints": [1], "label": "cat"}`, predict.Text("cat")},
		{`{"ints": [1], "label": 7}`, predict.Ints(7)},
		{`{"ints": [1], "label": 0.5}`, predict.Floats(0.5)},
		{`{"ints": [1], "label": {"strings": ["a"]}}`, predict.Strings("a")},
	}
	for _, tt := range tests {
		_, _, label, err := ParseLabeledExample([]byte(tt.line))
		if err != nil || label.Kind() != tt.label.Kind() || label.String() != tt.label.String() {
			t.Errorf("%s: label %v %v", tt.line, label, err)
		}
	}
	for _, bad := range []string{`{"ints": [1]}`, `{"ints": [1], "label": [1]}`, `{"ints": [1], "label": 1e999}`} {
		if _, _, _, err := ParseLabeledExample([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestFromValueRoundTrip(t *testing.T) {
	for _, v := range []predict.Value{predict.Text("x"), predict.Bytes(nil), predict.Ints(3), predict.Floats(1.5), predict.Strings("a")} {
		data, err := json.Marshal(FromValue(v))
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := ParseExample(data)
		if err != nil || back.Kind() != v.Kind() || back.String() != v.String() {
			t.Errorf("%v -> %s -> %v %v", v, data, back, err)
		}
	}
}

// FuzzParseLabeledExample checks that no line makes the decoder panic and
// that whatever decodes holds exactly one value that survives a round trip.
func FuzzParseLabeledExample(f *testing.F) {
	for _, s := range []string{
		`{"ints": [1, 2], "label": 3}`, `{"text": "a", "label": "b"}`, `{"bytes": "AAE=", "label": {"floats": [1]}}`,
		`{"strings": [], "option": {"a": null}, "label": -0.0}`, `{"floats": [1e308], "label": 1e-320}`, `{`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		in, _, label, err := ParseLabeledExample(line)
		if err != nil {
			return
		}
		if in.IsZero() || label.IsZero() {
			t.Fatalf("decoded an empty value from %q", line)
		}
		data, err := json.Marshal(FromValue(in))
		if err != nil {
			t.Fatalf("re-encode %v: %v", in, err)
		}
		back, _, err := ParseExample(data)
		if err != nil || back.Kind() != in.Kind() || back.Len() != in.Len() {
			t.Fatalf("round trip of %q: %v %v", line, back, err)
		}
		if in.Kind() == predict.KindStrings && !slices.Equal(back.Strings(), in.Strings()) {
			t.Fatalf("strings changed: %q vs %q", back.Strings(), in.Strings())
		}
	})
}
