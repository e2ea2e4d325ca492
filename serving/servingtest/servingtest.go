// Package servingtest starts Swapwire servers for tests: on a real TCP
// listener on 127.0.0.1, with clients connected and everything stopped by
// t.Cleanup.
package servingtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	Addr    string           // host:port of the gRPC listener
	Conn    *grpc.ClientConn // sends no credentials
	Predict swapwirev1.PredictionServiceClient
	Health  healthpb.HealthClient
	// Token is the bearer token of the identity "servingtest", which holds
	// RoleAdmin on the server.
	Token string
	// AdminConn sends Token with every call.
	AdminConn *grpc.ClientConn
	// Models is a ModelService client on AdminConn.
	Models swapwirev1.ModelServiceClient
}

// Start starts a server for store on 127.0.0.1 and connects to it. The
// server knows one identity, "servingtest" with RoleAdmin, whose random
// token AdminConn sends; tokens are allowed over the plaintext test
// connection. opts come after these and may add identities. It fails the
// test if the server cannot start. Cleanup shuts it down.
func Start(t testing.TB, factory serving.Factory, store modelstore.Store, opts ...serving.ServerOption) *Server {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	opts = append([]serving.ServerOption{
		serving.WithIdentities(serving.Identity{Name: "servingtest", Role: serving.RoleAdmin, Token: token}),
		serving.WithPlaintextTokens(true),
	}, opts...)
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
	adminConn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(Bearer(token)))
	if err != nil {
		conn.Close()
		srv.Close()
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() {
		conn.Close()
		adminConn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; err != serving.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return &Server{
		Server:    srv,
		Addr:      lis.Addr().String(),
		Conn:      conn,
		Predict:   swapwirev1.NewPredictionServiceClient(conn),
		Health:    healthpb.NewHealthClient(conn),
		Token:     token,
		AdminConn: adminConn,
		Models:    swapwirev1.NewModelServiceClient(adminConn),
	}
}

// Bearer is a per-call credential that sends "authorization: Bearer
// <token>", over any connection (tests use plaintext ones).
type Bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Bearer) RequireTransportSecurity() bool { return false }

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
