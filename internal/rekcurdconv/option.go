package rekcurdconv

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

// ParseOption decodes the JSON text of a Rekcurd Option into a
// predict.Option.
//
// An empty (or all-space) text and "{}" give an empty, non-nil Option. Any
// other text must be exactly one JSON object; invalid JSON, trailing data,
// and a top-level value that is not an object (including null) fail with
// InvalidArgument. Nesting is kept as maps and slices at any depth
// encoding/json accepts.
//
// Numbers become float64, as google.protobuf.Struct carries them. A number
// with a fraction or an exponent is rounded to the nearest float64 as usual.
// An integer literal, however, must survive the conversion: it is accepted
// only when the float64 prints back as the same digits, so
// 9007199254740993 (2^53+1) is rejected with InvalidArgument instead of
// silently becoming ...992; send such identifiers as strings. A number out of
// float64 range is rejected too.
func ParseOption(text string) (predict.Option, error) {
	if strings.TrimSpace(text) == "" {
		return predict.Option{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, predict.InvalidArgument("rekcurd option is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, predict.InvalidArgument("rekcurd option has data after its JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, predict.InvalidArgument("rekcurd option must be a JSON object, got %s", jsonType(v))
	}
	if err := numbersToFloats(obj); err != nil {
		return nil, err
	}
	return predict.Option(obj), nil
}

// numbersToFloats replaces every json.Number below v, in place, with its
// float64. The recursion depth is bounded by encoding/json's nesting limit.
func numbersToFloats(v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			f, err := convertNumber(x)
			if err != nil {
				return err
			}
			v[k] = f
		}
	case []any:
		for i, x := range v {
			f, err := convertNumber(x)
			if err != nil {
				return err
			}
			v[i] = f
		}
	}
	return nil
}

func convertNumber(x any) (any, error) {
	n, ok := x.(json.Number)
	if !ok {
		return x, numbersToFloats(x)
	}
	s := string(n)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, predict.InvalidArgument("rekcurd option number %s is out of float64 range", s)
	}
	if !strings.ContainsAny(s, ".eE") && strconv.FormatFloat(f, 'f', -1, 64) != s {
		return nil, predict.InvalidArgument(
			"rekcurd option integer %s cannot be held exactly as a float64 (it would become %s); send it as a string",
			s, strconv.FormatFloat(f, 'f', -1, 64))
	}
	return f, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an unknown value"
}

// FormatOption encodes opt as the JSON text of a Rekcurd Option. A nil or
// empty Option gives "{}". Keys are sorted and HTML characters are not
// escaped. A value JSON cannot carry, such as a NaN or infinite float, fails
// with Internal: the option came from the model, not from the client.
func FormatOption(opt predict.Option) (string, error) {
	if len(opt) == 0 {
		return "{}", nil
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(opt)); err != nil {
		return "", predict.Errorf(codes.Internal, "model option cannot be written as JSON: %v", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
