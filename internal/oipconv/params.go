package oipconv

import (
	"encoding/json"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

func parametersOption(params map[string]*inferencepb.InferParameter) predict.Option {
	if len(params) == 0 {
		return nil
	}
	opt := make(predict.Option, len(params))
	for k, p := range params {
		switch c := p.GetParameterChoice().(type) {
		case *inferencepb.InferParameter_BoolParam:
			opt[k] = c.BoolParam
		case *inferencepb.InferParameter_Int64Param:
			opt[k] = float64(c.Int64Param)
		case *inferencepb.InferParameter_StringParam:
			opt[k] = c.StringParam
		case *inferencepb.InferParameter_DoubleParam:
			opt[k] = c.DoubleParam
		case *inferencepb.InferParameter_Uint64Param:
			opt[k] = float64(c.Uint64Param)
		default:
			opt[k] = nil
		}
	}
	return opt
}

// optionParameters turns a result's option into response parameters: a
// bool, string or float64 as that parameter kind, an int or int64 as int64,
// and anything else (nil, maps, slices) as its JSON text in a string
// parameter.
func optionParameters(opt predict.Option) (map[string]*inferencepb.InferParameter, error) {
	if len(opt) == 0 {
		return nil, nil
	}
	out := make(map[string]*inferencepb.InferParameter, len(opt))
	for k, v := range opt {
		p := &inferencepb.InferParameter{}
		switch v := v.(type) {
		case bool:
			p.ParameterChoice = &inferencepb.InferParameter_BoolParam{BoolParam: v}
		case string:
			p.ParameterChoice = &inferencepb.InferParameter_StringParam{StringParam: v}
		case float64:
			p.ParameterChoice = &inferencepb.InferParameter_DoubleParam{DoubleParam: v}
		case int:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: int64(v)}
		case int64:
			p.ParameterChoice = &inferencepb.InferParameter_Int64Param{Int64Param: v}
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, predict.Errorf(codes.Internal, "model option %q cannot be written as JSON: %v", k, err)
			}
			p.ParameterChoice = &inferencepb.InferParameter_StringParam{StringParam: string(b)}
		}
		out[k] = p
	}
	return out, nil
}
