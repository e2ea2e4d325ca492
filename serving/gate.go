package serving

import (
	"context"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/internal/engine"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
)

// Role is what a caller may do. Every method of every service a Server
// mounts has one, declared once in methodRoles.
type Role int

// The roles, from least to most.
const (
	// RolePublic methods need no identity: predictions, health, metadata.
	RolePublic Role = iota
	// RoleRead methods read the admin state: list models, evaluations.
	RoleRead
	// RoleDeploy methods change what serves: upload, switch, label, split,
	// rollback.
	RoleDeploy
	// RoleAdmin methods destroy: delete a version. A method missing from
	// the table is treated as RoleAdmin, so a new method is never open by
	// omission.
	RoleAdmin
)

var roleNames = [...]string{"public", "read", "deploy", "admin"}

func (r Role) String() string {
	if r >= 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "admin"
}

// methodRoles declares the role of every method of every service the
// server mounts, by full method name. TestEveryMethodHasARole fails when a
// registered method is missing.
var methodRoles = map[string]Role{
	// swapwire.v1
	swapwirev1.PredictionService_Predict_FullMethodName:       RolePublic,
	swapwirev1.PredictionService_PredictStream_FullMethodName: RolePublic,
	swapwirev1.PredictionService_ServiceInfo_FullMethodName:   RolePublic,
	swapwirev1.ModelService_ListModels_FullMethodName:         RoleRead,
	swapwirev1.ModelService_EvaluateModel_FullMethodName:      RoleRead,
	swapwirev1.ModelService_UploadModel_FullMethodName:        RoleDeploy,
	swapwirev1.ModelService_SwitchModel_FullMethodName:        RoleDeploy,
	swapwirev1.ModelService_SetLabel_FullMethodName:           RoleDeploy,
	swapwirev1.ModelService_SplitTraffic_FullMethodName:       RoleDeploy,
	swapwirev1.ModelService_Rollback_FullMethodName:           RoleDeploy,
	swapwirev1.ModelService_DeleteVersion_FullMethodName:      RoleAdmin,

	// Rekcurd: the worker's 25 predictions are public (see init), the
	// dashboard's writes are not.
	rekcurdpb.RekcurdDashboard_ServiceInfo_FullMethodName:          RolePublic,
	rekcurdpb.RekcurdDashboard_UploadModel_FullMethodName:          RoleDeploy,
	rekcurdpb.RekcurdDashboard_SwitchModel_FullMethodName:          RoleDeploy,
	rekcurdpb.RekcurdDashboard_UploadEvaluationData_FullMethodName: RoleDeploy,
	rekcurdpb.RekcurdDashboard_EvaluateModel_FullMethodName:        RoleRead,
	rekcurdpb.RekcurdDashboard_EvaluationResult_FullMethodName:     RoleRead,
	rekcurdpb.Health_Check_FullMethodName:                          RolePublic,

	// Open Inference Protocol
	inferencepb.GRPCInferenceService_ServerLive_FullMethodName:            RolePublic,
	inferencepb.GRPCInferenceService_ServerReady_FullMethodName:           RolePublic,
	inferencepb.GRPCInferenceService_ModelReady_FullMethodName:            RolePublic,
	inferencepb.GRPCInferenceService_ServerMetadata_FullMethodName:        RolePublic,
	inferencepb.GRPCInferenceService_ModelMetadata_FullMethodName:         RolePublic,
	inferencepb.GRPCInferenceService_ModelInfer_FullMethodName:            RolePublic,
	inferencepb.GRPCInferenceService_ModelStreamInfer_FullMethodName:      RolePublic,
	inferencepb.GRPCInferenceService_ModelConfig_FullMethodName:           RolePublic,
	inferencepb.GRPCInferenceService_ModelStatistics_FullMethodName:       RoleRead,
	inferencepb.GRPCInferenceService_RepositoryIndex_FullMethodName:       RolePublic,
	inferencepb.GRPCInferenceService_RepositoryModelLoad_FullMethodName:   RoleDeploy,
	inferencepb.GRPCInferenceService_RepositoryModelUnload_FullMethodName: RoleDeploy,

	// grpc.health.v1 and reflection
	healthpb.Health_Check_FullMethodName:                             RolePublic,
	healthpb.Health_Watch_FullMethodName:                             RolePublic,
	healthpb.Health_List_FullMethodName:                              RolePublic,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      RolePublic,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": RolePublic,
}

func init() {
	for _, m := range rekcurdpb.RekcurdWorker_ServiceDesc.Methods {
		methodRoles["/"+rekcurdpb.RekcurdWorker_ServiceDesc.ServiceName+"/"+m.MethodName] = RolePublic
	}
	for _, m := range rekcurdpb.RekcurdWorker_ServiceDesc.Streams {
		methodRoles["/"+rekcurdpb.RekcurdWorker_ServiceDesc.ServiceName+"/"+m.StreamName] = RolePublic
	}
}

// MethodRole returns the role a method needs, by full method name such as
// "/swapwire.v1.ModelService/DeleteVersion". Unknown methods need RoleAdmin.
func MethodRole(fullMethod string) Role {
	if r, ok := methodRoles[fullMethod]; ok {
		return r
	}
	return RoleAdmin
}

// authorize is the one admin check: it lets a call to a method that needs
// more than RolePublic through only for an authenticated identity whose
// role is at least the method's, and returns the context that names the
// caller for the engine's log. Addresses never decide, except under
// WithDevLoopbackAdmin.
func (s *Server) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	need := MethodRole(fullMethod)
	if need == RolePublic {
		return ctx, nil
	}
	who, err := s.identify(ctx)
	if err == nil && who.Role < need {
		err = status.Errorf(codes.PermissionDenied, "identity %s has role %s; %s needs %s", who.Name, who.Role, fullMethod, need)
	}
	if err != nil {
		s.cfg.logger.Warn("admin call refused", "method", fullMethod, "role", need.String(), "identity", who.Name, "peer", peerAddr(ctx), "error", status.Convert(err).Message(), "request_id", s.requestID(ctx))
		return ctx, err
	}
	return engine.WithActor(ctx, who.Name+"("+who.Role.String()+")@"+peerAddr(ctx)), nil
}

// identify decides who the caller is: a bearer token (refused over a
// plaintext connection unless WithPlaintextTokens), else a verified client
// certificate that matches an identity, else, under WithDevLoopbackAdmin
// only, a loopback peer.
func (s *Server) identify(ctx context.Context) (Identity, error) {
	p, _ := peer.FromContext(ctx)
	var tlsInfo *credentials.TLSInfo
	if p != nil {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			tlsInfo = &ti
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if auth := md.Get("authorization"); len(auth) > 0 {
		if tlsInfo == nil && !s.cfg.plaintextTokens {
			return Identity{}, status.Error(codes.Unauthenticated, "bearer tokens are refused over a plaintext connection: serve TLS, or for development allow them (--allow-plaintext-tokens, serving.WithPlaintextTokens)")
		}
		for _, h := range auth {
			if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
				if id, ok := matchToken(s.cfg.identities, tok); ok {
					return id, nil
				}
			}
		}
		return Identity{}, status.Error(codes.Unauthenticated, "admin call with an unknown bearer token")
	}
	if tlsInfo != nil && len(tlsInfo.State.VerifiedChains) > 0 && len(tlsInfo.State.VerifiedChains[0]) > 0 {
		leaf := tlsInfo.State.VerifiedChains[0][0]
		if id, ok := matchCert(s.cfg.identities, leaf); ok {
			return id, nil
		}
		if !s.cfg.devLoopback || p == nil || !isLoopback(p.Addr) {
			return Identity{}, status.Errorf(codes.PermissionDenied, "client certificate %q matches no admin identity (by subject or SAN)", leaf.Subject.String())
		}
	}
	if s.cfg.devLoopback && p != nil && isLoopback(p.Addr) {
		return Identity{Name: "dev-loopback", Role: RoleAdmin}, nil
	}
	if len(s.cfg.identities) == 0 {
		return Identity{}, status.Error(codes.PermissionDenied, errNoIdentity.Error())
	}
	return Identity{}, status.Error(codes.Unauthenticated, "admin call needs a bearer token or an allowed client certificate")
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return "unknown"
}

func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	// bufconn and other in-process transports.
	return a != nil && (a.Network() == "bufconn" || a.String() == "bufconn")
}

// gateUnary is the gate's unary interceptor.
func (s *Server) gateUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// gateStream is the gate's stream interceptor.
func (s *Server) gateStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &actorStream{ServerStream: ss, ctx: ctx})
}

type actorStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (a *actorStream) Context() context.Context { return a.ctx }

// gatedRegistrar registers services with the gate in front of every method
// that needs more than RolePublic, so the gate holds on the caller's own
// grpc.Server (see Register) as on the Server's.
type gatedRegistrar struct {
	r grpc.ServiceRegistrar
	s *Server
}

func (g gatedRegistrar) RegisterService(desc *grpc.ServiceDesc, impl any) {
	d := *desc
	d.Methods = append([]grpc.MethodDesc(nil), desc.Methods...)
	d.Streams = append([]grpc.StreamDesc(nil), desc.Streams...)
	for i := range d.Methods {
		full := "/" + d.ServiceName + "/" + d.Methods[i].MethodName
		d.Methods[i].Handler = g.decodeErrors(d.Methods[i].Handler)
		if MethodRole(full) == RolePublic {
			continue
		}
		h := d.Methods[i].Handler
		d.Methods[i].Handler = func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			gate := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				if ic == nil {
					return g.s.gateUnary(ctx, req, info, handler)
				}
				return ic(ctx, req, info, func(ctx context.Context, req any) (any, error) {
					return g.s.gateUnary(ctx, req, info, handler)
				})
			}
			return h(srv, ctx, dec, gate)
		}
	}
	for i := range d.Streams {
		full := "/" + d.ServiceName + "/" + d.Streams[i].StreamName
		sh := d.Streams[i].Handler
		d.Streams[i].Handler = func(srv any, ss grpc.ServerStream) error {
			return sh(srv, decodeErrorStream{ss, g.s.codec})
		}
		if MethodRole(full) == RolePublic {
			continue
		}
		h := d.Streams[i].Handler
		info := &grpc.StreamServerInfo{FullMethod: full, IsClientStream: d.Streams[i].ClientStreams, IsServerStream: d.Streams[i].ServerStreams}
		d.Streams[i].Handler = func(srv any, ss grpc.ServerStream) error {
			return g.s.gateStream(srv, ss, info, h)
		}
	}
	g.r.RegisterService(&d, impl)
}

// decodeErrors wraps a unary handler so that a request the codec left
// empty because it nested too deep fails as INVALID_ARGUMENT (see
// depthCodec).
func (g gatedRegistrar) decodeErrors(h grpc.MethodHandler) grpc.MethodHandler {
	codec := g.s.codec
	return func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		return h(srv, ctx, func(m any) error {
			if err := dec(m); err != nil {
				return err
			}
			return codec.tooDeep(m)
		}, ic)
	}
}

type decodeErrorStream struct {
	grpc.ServerStream
	codec *depthCodec
}

func (s decodeErrorStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.codec.tooDeep(m)
}
