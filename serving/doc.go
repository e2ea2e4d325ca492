// Package serving turns a [predict.Predictor] into a production gRPC service
// that hot-swaps model versions without dropping a request.
//
// A [Server] takes its models from a [modelstore.Store]. For every model it
// loads the version the store's policy asks for (the latest by default) into
// a fresh Predictor, warms it, flips an atomic pointer so new requests reach
// it, lets requests in flight on the old version finish, and then closes the
// old one. A version that fails to load leaves the old one serving.
//
// The server speaks swapwire.v1 (PredictionService and the admin
// ModelService), grpc.health.v1 and server reflection on one port. Use
// [Server.Serve] to run it, or [Register] to mount the services on a
// grpc.Server of your own.
//
//	srv, err := serving.New(func() predict.Predictor { return &myModel{} },
//		modelstore.NewStatic("mymodel", "./model"))
//	if err != nil { ... }
//	lis, _ := net.Listen("tcp", "127.0.0.1:50051")
//	go srv.Serve(lis)
//	defer srv.Shutdown(ctx)
//
// The package never prints and registers nothing globally: logs go to the
// *slog.Logger given with [WithLogger] and metrics to the
// prometheus.Registerer given with [WithRegisterer].
package serving
