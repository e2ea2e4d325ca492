package serving

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
)

func echoFactory() predict.Predictor {
	return predict.PredictorFunc(func(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
		return predict.Result{Label: in}, nil
	})
}

// methodsOf lists the full names of every method registered on srv, with
// whether each is a stream.
func methodsOf(srv *grpc.Server) map[string]bool {
	out := map[string]bool{}
	for svc, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			out["/"+svc+"/"+m.Name] = m.IsClientStream || m.IsServerStream
		}
	}
	return out
}

// TestEveryMethodHasARole lists every method of every service the server
// registers and fails if one has no declared role: a new RPC must be put in
// methodRoles (and so through the gate, or knowingly left public).
func TestEveryMethodHasARole(t *testing.T) {
	srv, err := New(echoFactory, modelstore.NewStatic("m", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	methods := methodsOf(srv.grpc)
	admin := 0
	for full := range methods {
		r, ok := methodRoles[full]
		if !ok {
			t.Errorf("%s has no role in methodRoles", full)
			continue
		}
		if r != RolePublic {
			admin++
		}
	}
	// The admin-capable methods of today: 8 of swapwire.v1.ModelService, 5
	// of the Rekcurd dashboard, 2 of the OIP repository extension, and OIP's
	// ModelStatistics (read).
	if admin != 16 {
		t.Errorf("%d methods need a role above public, want 16", admin)
	}
	for _, svc := range []string{"swapwire.v1.ModelService", "rekcurd.RekcurdWorker", "inference.GRPCInferenceService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if _, ok := srv.grpc.GetServiceInfo()[svc]; !ok {
			t.Errorf("service %s is not registered", svc)
		}
	}
	if got := MethodRole("/swapwire.v1.ModelService/SomethingNew"); got != RoleAdmin {
		t.Errorf("an undeclared method needs %v, want admin", got)
	}
	if len(methods) < 50 {
		t.Errorf("only %d methods registered: %v", len(methods), methods)
	}
}

// callEvery calls every method of methods on conn with an empty message and
// returns the status code of each.
func callEvery(t *testing.T, conn *grpc.ClientConn, methods map[string]bool, md ...string) map[string]codes.Code {
	t.Helper()
	out := map[string]codes.Code{}
	for full, isStream := range methods {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		var err error
		if isStream {
			var cs grpc.ClientStream
			cs, err = conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, full)
			if err == nil {
				cs.CloseSend()
				err = cs.RecvMsg(&emptypb.Empty{})
			}
		} else {
			err = conn.Invoke(ctx, full, &emptypb.Empty{}, &emptypb.Empty{})
		}
		cancel()
		out[full] = status.Code(err)
	}
	return out
}

// TestGateGuardsEveryAdminMethod calls every registered method without a
// token on a server that requires one: every method above public is
// refused, on the Server's own grpc.Server and on a caller's one that
// mounts the services with Register; no public method is.
func TestGateGuardsEveryAdminMethod(t *testing.T) {
	srv, err := New(echoFactory, modelstore.NewStatic("m", t.TempDir()), WithAdminToken("s3cret"), WithPlaintextTokens(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	own := startGRPC(t, srv.grpc)
	mine := grpc.NewServer()
	Register(mine, srv)
	theirs := startGRPC(t, mine)
	if err := srv.WaitServing(waitCtx(t), "m", 0); err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]*grpc.ClientConn{"own server": own, "caller's server": theirs} {
		var methods map[string]bool
		if name == "own server" {
			methods = methodsOf(srv.grpc)
		} else {
			methods = methodsOf(mine)
		}
		for full, code := range callEvery(t, conn, methods) {
			if MethodRole(full) == RolePublic {
				if code == codes.Unauthenticated || code == codes.PermissionDenied {
					t.Errorf("%s: public method %s answered %v", name, full, code)
				}
			} else if code != codes.Unauthenticated {
				t.Errorf("%s: admin method %s without a token answered %v, want Unauthenticated", name, full, code)
			}
		}
	}
	// With the token, the gate lets a read through.
	ctx := withToken(waitCtx(t), "s3cret")
	if err := own.Invoke(ctx, "/swapwire.v1.ModelService/ListModels", &emptypb.Empty{}, &emptypb.Empty{}); err != nil {
		t.Errorf("ListModels with the token: %v", err)
	}
}

const waitTimeout = 20 * time.Second

func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// TestWithProtocolsMountsOnlyThoseAsked checks that a server limited to
// the native protocol registers neither Rekcurd nor OIP.
func TestWithProtocolsMountsOnlyThoseAsked(t *testing.T) {
	srv, err := New(echoFactory, modelstore.NewStatic("m", t.TempDir()), WithProtocols(Native))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var names []string
	for svc := range srv.grpc.GetServiceInfo() {
		names = append(names, svc)
		if strings.HasPrefix(svc, "rekcurd.") || strings.HasPrefix(svc, "inference.") {
			t.Errorf("service %s is registered, but only the native protocol was asked for", svc)
		}
	}
	if _, ok := srv.grpc.GetServiceInfo()["swapwire.v1.PredictionService"]; !ok {
		t.Errorf("no swapwire.v1.PredictionService among %v", names)
	}
}

func startGRPC(t *testing.T, gs *grpc.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { gs.Serve(lis); close(done) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		<-done
	})
	return conn
}
