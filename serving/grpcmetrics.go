package serving

import (
	"google.golang.org/grpc"
)

// prefilledMethods are the methods whose gRPC server series
// (grpc_server_started_total, grpc_server_handled_total for every code,
// the handling-time histogram) exist from the start, at zero: the
// prediction calls of the native protocol and of the Open Inference
// Protocol, which error-rate alerts and dashboards divide by. Every other
// method (admin, health, reflection, Rekcurd's 25 typed predicts, OIP
// metadata) gets its series on its first call. Pre-creating them all, as
// go-grpc-middleware's InitializeMetrics does, made 986 handled_total
// series on a fresh server, almost all of which stay zero forever.
var prefilledMethods = map[string]bool{
	"/swapwire.v1.PredictionService/Predict":           true,
	"/swapwire.v1.PredictionService/PredictStream":     true,
	"/inference.GRPCInferenceService/ModelInfer":       true,
	"/inference.GRPCInferenceService/ModelStreamInfer": true,
}

// prefilled is the part of a grpc.Server's services that
// InitializeMetrics should pre-create series for.
type prefilled struct{ srv *grpc.Server }

func (p prefilled) GetServiceInfo() map[string]grpc.ServiceInfo {
	out := map[string]grpc.ServiceInfo{}
	for name, info := range p.srv.GetServiceInfo() {
		var methods []grpc.MethodInfo
		for _, m := range info.Methods {
			if prefilledMethods["/"+name+"/"+m.Name] {
				methods = append(methods, m)
			}
		}
		if len(methods) > 0 {
			out[name] = grpc.ServiceInfo{Methods: methods, Metadata: info.Metadata}
		}
	}
	return out
}
