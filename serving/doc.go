// Package serving turns a [predict.Predictor] into a production gRPC service
// that hot-swaps model versions without dropping a request.
//
// A [Server] takes its models from a [modelstore.Store]. For every model it
// loads the version the store's policy asks for (the latest by default) into
// a fresh Predictor, warms it, flips an atomic pointer so new requests reach
// it, lets requests in flight on the old version finish, and then closes the
// old one. A version that fails to load leaves the old one serving.
//
// The shortest program is [Run], which does what a main function needs
// (listeners, signals, graceful shutdown, logs):
//
//	store, err := modelstore.NewLocal("models")
//	if err != nil { ... }
//	err = serving.Run(ctx, "127.0.0.1:50051", func() predict.Predictor { return &myModel{} }, store)
//
// For more control, [New] returns a Server with [Server.Serve],
// [Server.Shutdown] and [Server.Close], shaped like http.Server, or
// [Register] mounts the services on a grpc.Server of your own.
//
// # Layout
//
// This package is the facade over Swapwire's internal packages:
//
//	package                      what lives there                                   may import
//	predict                      Predictor, optional interfaces, values, errors      stdlib, grpc codes
//	modelstore                   Store, the local store, policy                      predict
//	internal/engine              models, versions, swap and drain, batching,        predict, modelstore, internal/batch
//	                             health state, metrics, admin operations
//	internal/protocol/native     swapwire.v1 PredictionService and ModelService     engine, its proto, internal/*conv
//	internal/protocol/rekcurd    Rekcurd worker, dashboard and health               engine, its proto, internal/*conv
//	internal/protocol/oip        Open Inference Protocol v2                          engine, its proto, internal/*conv
//	serving                      New, Serve, Shutdown, Register, Run, options,      engine, the protocols
//	                             the admin gate
//	serving/sidecar              a Predictor backed by worker processes             predict, the worker proto
//
// The engine knows no protocol, a protocol knows no other protocol, and the
// admin gate is declared once: every method has a [Role] (see [MethodRole]),
// checked by one unary and one stream interceptor that [Register] puts in
// front of every method above [RolePublic], on this package's grpc.Server
// and on yours alike. [WithProtocols] picks the protocols to mount (all
// three by default: [Native], [Rekcurd], [OIP]); grpc.health.v1 and server
// reflection are always on.
//
// The package never prints and registers nothing globally: logs go to the
// *slog.Logger given with [WithLogger] (under Run, slog.Default() unless
// given) and metrics to the prometheus.Registerer given with
// [WithRegisterer].
package serving
