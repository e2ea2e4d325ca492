package serving

import (
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// depthCodec is grpc-go's protobuf codec, except that a request which fails
// to decode only because it nests deeper than protobuf's recursion limit
// (an option of thousands of levels) ends as INVALID_ARGUMENT instead of
// INTERNAL: it is the caller's error.
//
// grpc-go reports every decoding failure as INTERNAL and writes that status
// itself inside RecvMsg, before a handler or interceptor can change it. So
// on that one failure the codec leaves the message empty, answers success,
// and remembers the message; the handler wrappers of the gate
// (decodeErrors, decodeErrorStream) ask tooDeep right after decoding and
// return INVALID_ARGUMENT. Every other message takes the plain codec's path,
// plus one atomic load.
type depthCodec struct {
	encoding.CodecV2
	deep    sync.Map // message (a pointer) -> struct{}
	pending atomic.Int64
}

func newDepthCodec() *depthCodec {
	return &depthCodec{CodecV2: encoding.GetCodecV2("proto")}
}

func (c *depthCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil || !strings.Contains(err.Error(), "exceeded maximum recursion depth") {
		return err
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	proto.Reset(m)
	c.deep.Store(v, struct{}{})
	c.pending.Add(1)
	return nil
}

// tooDeep reports (once) whether v was left empty because it nested too
// deep, as an INVALID_ARGUMENT error.
func (c *depthCodec) tooDeep(v any) error {
	if c == nil || c.pending.Load() == 0 {
		return nil
	}
	if _, ok := c.deep.LoadAndDelete(v); !ok {
		return nil
	}
	c.pending.Add(-1)
	return errTooDeep
}

var errTooDeep = status.Error(codes.InvalidArgument, "the request nests too deep (an option of thousands of levels?)")
