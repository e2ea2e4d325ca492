// Package servingtest starts Swapwire servers for tests: on a real TCP
// listener on 127.0.0.1, with clients connected and everything stopped by
// t.Cleanup.
package servingtest

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/swapwire/swapwire/modelstore"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	"github.com/swapwire/swapwire/serving"
)

// Server is a running test server and clients connected to it.
type Server struct {
	*serving.Server
	Addr    string // host:port of the gRPC listener
	Conn    *grpc.ClientConn
	Predict swapwirev1.PredictionServiceClient
	Models  swapwirev1.ModelServiceClient
	Health  healthpb.HealthClient
}

// Start starts a server for store on 127.0.0.1 and connects to it. It
// fails the test if the server cannot start. Cleanup shuts it down.
func Start(t testing.TB, factory serving.Factory, store modelstore.Store, opts ...serving.ServerOption) *Server {
	t.Helper()
	srv, err := serving.New(factory, store, opts...)
	if err != nil {
		t.Fatalf("serving.New: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Close()
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; err != serving.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return &Server{
		Server:  srv,
		Addr:    lis.Addr().String(),
		Conn:    conn,
		Predict: swapwirev1.NewPredictionServiceClient(conn),
		Models:  swapwirev1.NewModelServiceClient(conn),
		Health:  healthpb.NewHealthClient(conn),
	}
}

// StartReady is Start followed by waiting (up to a minute) until the
// default model serves.
func StartReady(t testing.TB, factory serving.Factory, store modelstore.Store, opts ...serving.ServerOption) *Server {
	t.Helper()
	s := Start(t, factory, store, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("server not ready: %v", err)
	}
	return s
}
