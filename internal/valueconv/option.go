package valueconv

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/swapwire/swapwire/predict"
)

// MaxOptionDepth is how deeply maps and lists may nest in an Option that
// OptionToProto converts. It guards against cyclic maps.
const MaxOptionDepth = 100

// OptionToProto converts o to a google.protobuf.Struct. A nil o converts to
// nil. Besides the JSON-like types that predict.Option documents, it accepts
// every Go integer and float type (converted to a double, so integers
// beyond 2^53 lose precision), json.Number, []byte (base64 text, as
// structpb does), any slice or array, and any map with string keys. It fails
// on other types, on strings that are not valid UTF-8, and on nesting deeper
// than [MaxOptionDepth]; the error names the offending path.
func OptionToProto(o predict.Option) (*structpb.Struct, error) {
	if o == nil {
		return nil, nil
	}
	return mapToStruct(o, "", 0)
}

// OptionFromProto converts a google.protobuf.Struct to an Option holding
// nil, bool, float64, string, []any and map[string]any values. A nil s
// converts to nil.
func OptionFromProto(s *structpb.Struct) predict.Option {
	if s == nil {
		return nil
	}
	return predict.Option(s.AsMap())
}

func mapToStruct(m map[string]any, path string, depth int) (*structpb.Struct, error) {
	if depth >= MaxOptionDepth {
		return nil, fmt.Errorf("option %s: nested deeper than %d levels", pathName(path), MaxOptionDepth)
	}
	fields := make(map[string]*structpb.Value, len(m))
	for k, v := range m {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("option %s: key %q is not valid UTF-8", pathName(path), k)
		}
		pv, err := toValue(v, path+"."+k, depth+1)
		if err != nil {
			return nil, err
		}
		fields[k] = pv
	}
	return &structpb.Struct{Fields: fields}, nil
}

func num(f float64) *structpb.Value {
	return &structpb.Value{Kind: &structpb.Value_NumberValue{NumberValue: f}}
}

func str(s string, path string) (*structpb.Value, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("option %s: string is not valid UTF-8", pathName(path))
	}
	return &structpb.Value{Kind: &structpb.Value_StringValue{StringValue: s}}, nil
}

func list(vals []*structpb.Value) *structpb.Value {
	return &structpb.Value{Kind: &structpb.Value_ListValue{ListValue: &structpb.ListValue{Values: vals}}}
}

func toValue(v any, path string, depth int) (*structpb.Value, error) {
	switch x := v.(type) {
	case nil:
		return structpb.NewNullValue(), nil
	case bool:
		return structpb.NewBoolValue(x), nil
	case string:
		return str(x, path)
	case float64:
		return num(x), nil
	case float32:
		return num(float64(x)), nil
	case int:
		return num(float64(x)), nil
	case int8:
		return num(float64(x)), nil
	case int16:
		return num(float64(x)), nil
	case int32:
		return num(float64(x)), nil
	case int64:
		return num(float64(x)), nil
	case uint:
		return num(float64(x)), nil
	case uint8:
		return num(float64(x)), nil
	case uint16:
		return num(float64(x)), nil
	case uint32:
		return num(float64(x)), nil
	case uint64:
		return num(float64(x)), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", pathName(path), err)
		}
		return num(f), nil
	case []byte:
		return structpb.NewStringValue(base64.StdEncoding.EncodeToString(x)), nil
	case map[string]any:
		s, err := mapToStruct(x, path, depth)
		if err != nil {
			return nil, err
		}
		return structpb.NewStructValue(s), nil
	case predict.Option:
		s, err := mapToStruct(x, path, depth)
		if err != nil {
			return nil, err
		}
		return structpb.NewStructValue(s), nil
	case []any:
		if depth >= MaxOptionDepth {
			return nil, fmt.Errorf("option %s: nested deeper than %d levels", pathName(path), MaxOptionDepth)
		}
		vals := make([]*structpb.Value, len(x))
		for i, e := range x {
			pv, err := toValue(e, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = pv
		}
		return list(vals), nil
	case []string:
		vals := make([]*structpb.Value, len(x))
		for i, e := range x {
			pv, err := str(e, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			vals[i] = pv
		}
		return list(vals), nil
	case []float64:
		vals := make([]*structpb.Value, len(x))
		for i, e := range x {
			vals[i] = num(e)
		}
		return list(vals), nil
	case []int64:
		vals := make([]*structpb.Value, len(x))
		for i, e := range x {
			vals[i] = num(float64(e))
		}
		return list(vals), nil
	case *structpb.Struct:
		return structpb.NewStructValue(x), nil
	case *structpb.Value:
		return x, nil
	}
	return reflectValue(v, path, depth)
}

// reflectValue converts the slices, arrays and string-keyed maps that the
// type switch of toValue does not name.
func reflectValue(v any, path string, depth int) (*structpb.Value, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if depth >= MaxOptionDepth {
			return nil, fmt.Errorf("option %s: nested deeper than %d levels", pathName(path), MaxOptionDepth)
		}
		vals := make([]*structpb.Value, rv.Len())
		for i := range vals {
			pv, err := toValue(rv.Index(i).Interface(), path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = pv
		}
		return list(vals), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if depth >= MaxOptionDepth {
			return nil, fmt.Errorf("option %s: nested deeper than %d levels", pathName(path), MaxOptionDepth)
		}
		fields := make(map[string]*structpb.Value, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			if !utf8.ValidString(k) {
				return nil, fmt.Errorf("option %s: key %q is not valid UTF-8", pathName(path), k)
			}
			pv, err := toValue(iter.Value().Interface(), path+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			fields[k] = pv
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields}), nil
	}
	return nil, fmt.Errorf("option %s: unsupported type %s", pathName(path), describe(v))
}

func pathName(path string) string {
	if path == "" {
		return "(root)"
	}
	return strconv.Quote(path[1:])
}
