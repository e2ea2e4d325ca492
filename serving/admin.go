package serving

import (
	"context"
	"crypto/subtle"
	"net"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// adminAllowed decides whether a caller may use the admin API: with a token
// configured, it must present "authorization: Bearer <token>"; with none, a
// verified TLS client certificate or a loopback peer is required.
func (s *Server) adminAllowed(ctx context.Context) error {
	if tok := s.cfg.adminToken; tok != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		for _, h := range md.Get("authorization") {
			got, ok := strings.CutPrefix(h, "Bearer ")
			if ok && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
				return nil
			}
		}
		return status.Error(codes.Unauthenticated, "admin call needs a valid bearer token")
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.PermissionDenied, "admin call from an unknown peer")
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
		return nil
	}
	if isLoopback(p.Addr) {
		return nil
	}
	return status.Error(codes.PermissionDenied, "admin calls are accepted from loopback only unless an admin token or client certificates are configured")
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
