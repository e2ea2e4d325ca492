package rekcurdconv

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

func TestParseOptionValues(t *testing.T) {
	tests := []struct {
		in   string
		want predict.Option
	}{
		{"", predict.Option{}},
		{"  \n", predict.Option{}},
		{"{}", predict.Option{}},
		{` { } `, predict.Option{}},
		{`{"top_k": 3}`, predict.Option{"top_k": 3.0}},
		{`{"a": -0.5e2, "b": true, "c": null, "d": "x<y&z"}`,
			predict.Option{"a": -50.0, "b": true, "c": nil, "d": "x<y&z"}},
		{`{"list": [1, "two", [3.5], {"k": false}]}`,
			predict.Option{"list": []any{1.0, "two", []any{3.5}, map[string]any{"k": false}}}},
		{`{"max": 9007199254740992}`, predict.Option{"max": 9007199254740992.0}},
		{`{"big": 100000000000000000000000}`, predict.Option{"big": 1e23}},
		{`{"tiny": 1e-300, "huge": 1.5E300}`, predict.Option{"tiny": 1e-300, "huge": 1.5e300}},
		{`{"dup": 1, "dup": 2}`, predict.Option{"dup": 2.0}},
		// The shortest digits of 2^60, as FormatOption writes it, read back exactly.
		{`{"int": 1152921504606847000}`, predict.Option{"int": float64(1 << 60)}},
	}
	for _, tt := range tests {
		got, err := ParseOption(tt.in)
		if err != nil {
			t.Errorf("ParseOption(%q): %v", tt.in, err)
			continue
		}
		if got == nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOption(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseOptionErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"{", "not valid JSON"},
		{"not json", "not valid JSON"},
		{`{"a":1}}`, "data after"},
		{`{"a":1} {}`, "data after"},
		{"null", "got null"},
		{"[1,2]", "got an array"},
		{`"text"`, "got a string"},
		{"42", "got a number"},
		{"true", "got a boolean"},
		{`{"id": 9007199254740993}`, "9007199254740993 cannot be held exactly"},
		{`{"id": [12345678901234567891]}`, "12345678901234567891 cannot be held exactly"},
		{`{"x": 1e400}`, "out of float64 range"},
		{`{"x": {"y": -1e309}}`, "out of float64 range"},
	}
	for _, tt := range tests {
		got, err := ParseOption(tt.in)
		if err == nil {
			t.Errorf("ParseOption(%q) = %v, want error", tt.in, got)
			continue
		}
		if c := predict.CodeOf(err); c != codes.InvalidArgument {
			t.Errorf("ParseOption(%q) code = %v, want InvalidArgument", tt.in, c)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseOption(%q) error %q does not contain %q", tt.in, err, tt.msg)
		}
	}
}

func TestFormatOption(t *testing.T) {
	tests := []struct {
		in   predict.Option
		want string
	}{
		{nil, "{}"},
		{predict.Option{}, "{}"},
		{predict.Option{"b": 2.0, "a": "<&>"}, `{"a":"<&>","b":2}`},
		{predict.Option{"n": nil, "l": []any{1.5, true}}, `{"l":[1.5,true],"n":null}`},
		{predict.Option{"big": 1e21, "int": float64(1 << 60)}, `{"big":1e+21,"int":1152921504606847000}`},
	}
	for _, tt := range tests {
		got, err := FormatOption(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("FormatOption(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []predict.Option{{"x": math.NaN()}, {"x": []any{math.Inf(1)}}, {"x": make(chan int)}} {
		got, err := FormatOption(bad)
		if err == nil || predict.CodeOf(err) != codes.Internal || got != "" {
			t.Errorf("FormatOption(%v) = %q, %v; want Internal error", bad, got, err)
		}
	}
}

// nested builds an option whose innermost value sits depth maps deep, with
// an array at every level.
func nested(depth int) predict.Option {
	var v any = "leaf"
	for i := depth; i > 1; i-- {
		v = map[string]any{"level": float64(i), "next": v, "arr": []any{float64(i), "s", nil}}
	}
	return predict.Option{"level": 1.0, "next": v}
}

func TestOptionDepth10RoundTrip(t *testing.T) {
	opt := nested(10)
	text, err := FormatOption(opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(text, "{"); got != 10 {
		t.Fatalf("formatted option has %d objects, want 10: %s", got, text)
	}
	back, err := ParseOption(text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, opt) {
		t.Fatalf("round trip changed the option:\n got %#v\nwant %#v", back, opt)
	}
	// Walk down to the leaf to prove the depth survived.
	var v any = map[string]any(back)
	for i := 1; i <= 10; i++ {
		m, ok := v.(map[string]any)
		if !ok || m["level"] != float64(i) {
			t.Fatalf("level %d: got %#v", i, v)
		}
		v = m["next"]
	}
	if v != "leaf" {
		t.Fatalf("leaf = %#v, want \"leaf\"", v)
	}
}

func FuzzParseOption(f *testing.F) {
	for _, s := range []string{"", "{}", `{"a":1}`, `{"a":[1,{"b":null}]}`, "[]", "null",
		`{"n":9007199254740993}`, `{"x":1e400}`, `{"s":"\ud800"}`, `{"a":1}x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		opt, err := ParseOption(text)
		if err != nil {
			if c := predict.CodeOf(err); c != codes.InvalidArgument {
				t.Fatalf("ParseOption(%q) error code %v, want InvalidArgument", text, c)
			}
			if opt != nil {
				t.Fatalf("ParseOption(%q) returned %v with an error", text, opt)
			}
			return
		}
		if opt == nil {
			t.Fatalf("ParseOption(%q) returned a nil option", text)
		}
		out, err := FormatOption(opt)
		if err != nil {
			t.Fatalf("FormatOption of parsed %q: %v", text, err)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("FormatOption produced invalid UTF-8: %q", out)
		}
		back, err := ParseOption(out)
		if err != nil {
			t.Fatalf("ParseOption(FormatOption(%q)) = %v (text %q)", text, err, out)
		}
		if !reflect.DeepEqual(back, opt) {
			t.Fatalf("round trip of %q changed it: %#v != %#v", text, back, opt)
		}
		again, err := FormatOption(back)
		if err != nil || again != out {
			t.Fatalf("formatting is not stable: %q then %q (%v)", out, again, err)
		}
	})
}
