package serving_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	"github.com/swapwire/swapwire/serving"
)

// A library user who passes a registry adds the Go runtime and process
// collectors to it, as swapwire serve does: the server registers only its
// own metrics, and nothing globally.
func ExampleWithRegisterer() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	echo := func() predict.Predictor {
		return predict.PredictorFunc(func(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
			return predict.Result{Label: in}, nil
		})
	}
	srv, err := serving.New(echo, modelstore.NewStatic("echo", "testdata"), serving.WithRegisterer(reg))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "swapwire_build_info", "grpc_server_handled_total"} {
		fmt.Println(name, have[name])
	}
	// Output:
	// go_goroutines true
	// process_resident_memory_bytes true
	// swapwire_build_info true
	// grpc_server_handled_total true
}
