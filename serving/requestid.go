package serving

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// RequestIDKey is the metadata key of a request id: a client may send one
// (up to 128 printable ASCII characters), which the server then uses in
// its log lines about the request; the server returns the id in a trailer
// of that key. See docs/operations.md for when the trailer is sent.
const RequestIDKey = "x-request-id"

// maxRequestIDLen caps a client's request id; a longer or unprintable one
// is ignored.
const maxRequestIDLen = 128

// incomingRequestID returns the client's request id, or "" when it sent
// none or an invalid one. It allocates nothing when there is none.
func incomingRequestID(ctx context.Context) string {
	vs := metadata.ValueFromIncomingContext(ctx, RequestIDKey)
	if len(vs) == 0 {
		return ""
	}
	id := vs[0]
	if id == "" || len(id) > maxRequestIDLen {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return ""
		}
	}
	return id
}

// requestIDStream returns the request id in a trailer when the stream has
// one from the start (the client's, or the trace id when tracing; the
// unary calls do the same in unaryPrologue). Otherwise a call gets an id
// only when a log line about it is written (see requestID), so that an
// untraced call without an id costs nothing.
func (s *Server) requestIDStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if id := s.callRequestID(ss.Context()); id != "" {
		ss.SetTrailer(metadata.Pairs(RequestIDKey, id))
	}
	return handler(srv, ss)
}

// callRequestID is the id a call has from its start: the client's, or the
// trace id when the server traces; else "".
func (s *Server) callRequestID(ctx context.Context) string {
	if id := incomingRequestID(ctx); id != "" {
		return id
	}
	if s.tracer != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			return sc.TraceID().String()
		}
	}
	return ""
}

// requestID returns the id of the call of ctx for a log line about it. A
// call without one from its start (see callRequestID) gets a new random id,
// or the trace id of a span the caller's own gRPC server made, which is
// returned in a trailer too.
func (s *Server) requestID(ctx context.Context) string {
	if id := s.callRequestID(ctx); id != "" {
		return id
	}
	var id string
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		id = sc.TraceID().String()
	} else {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	grpc.SetTrailer(ctx, metadata.Pairs(RequestIDKey, id))
	return id
}
