package sidecar

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/swapwire/swapwire/internal/valueconv"
	"github.com/swapwire/swapwire/predict"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

// frameHeader is the length prefix of a frame: 4 bytes, big-endian.
const frameHeader = 4

// largeFrame is the size from which a write is bounded by the call's
// context: a smaller one fits in the socket buffer and never blocks.
const largeFrame = 64 << 10

// errFrameTooLarge is the cause of a frame over the size limit.
var errFrameTooLarge = errors.New("frame larger than the message size limit")

// readFrame reads one frame from r into buf (grown as needed) and returns
// its payload. A length over limit fails with errFrameTooLarge before
// anything of the payload is read.
func readFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(h[:])
	if uint64(n) > uint64(limit) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errFrameTooLarge, n, limit)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// appendFrame appends m as a frame to buf.
func appendFrame(buf []byte, m proto.Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, m)
	if err != nil {
		return nil, err
	}
	n := len(buf) - start - frameHeader
	if uint64(n) > 1<<32-1 {
		return nil, errFrameTooLarge
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(n))
	return buf, nil
}

// decodeReply parses one Reply frame payload.
func decodeReply(b []byte) (*workerv1.Reply, error) {
	r := &workerv1.Reply{}
	if err := proto.Unmarshal(b, r); err != nil {
		return nil, err
	}
	return r, nil
}

// frameConn is one connection to a worker speaking the framed worker
// protocol. It carries one call at a time: the owner of the connection
// (a pool slot, or an attached connection taken from its idle list) calls
// call, and, when call returns an *outstandingError, must not call again
// before awaitLate reported the late reply.
type frameConn struct {
	c       net.Conn
	limit   int
	wbuf    []byte
	nextID  uint64
	replies chan frameReply // the reader's replies; at most one is pending
	done    chan struct{}   // closed when the reader stops
	err     error           // why the reader stopped; set before done is closed
	closed  chan struct{}
	once    sync.Once
}

type frameReply struct {
	r   *workerv1.Reply
	err error // a reply that did not parse
}

// newFrameConn wraps c and starts its reader. limit caps a frame in either
// direction.
func newFrameConn(c net.Conn, limit int) *frameConn {
	f := &frameConn{
		c:       c,
		limit:   limit,
		replies: make(chan frameReply, 1),
		done:    make(chan struct{}),
		closed:  make(chan struct{}),
	}
	go f.read()
	return f
}

// dialFrame connects to a worker at network, addr.
func dialFrame(ctx context.Context, network, addr string, limit int) (*frameConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return newFrameConn(c, limit), nil
}

func (f *frameConn) read() {
	br := bufio.NewReaderSize(f.c, 32<<10)
	var buf []byte
	for {
		b, err := readFrame(br, buf, f.limit)
		if err != nil {
			f.err = err
			close(f.done)
			return
		}
		buf = b
		r, err := decodeReply(b)
		select {
		case f.replies <- frameReply{r, err}:
		case <-f.closed:
			f.err = net.ErrClosed
			close(f.done)
			return
		}
	}
}

// broken reports whether the connection can no longer carry calls.
func (f *frameConn) broken() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// close closes the connection; the reader stops.
func (f *frameConn) close() {
	f.once.Do(func() {
		close(f.closed)
		_ = f.c.Close()
	})
}

// outstandingError is returned by call when ctx ended before the reply
// came: the worker may still be running the call.
type outstandingError struct{ err error }

func (e *outstandingError) Error() string { return e.err.Error() }
func (e *outstandingError) Unwrap() error { return e.err }

// lostError is returned by call when the connection broke: the worker
// exited, closed it, or sent something that is not a frame.
type lostError struct{ err error }

func (e *lostError) Error() string { return "connection to the worker lost: " + e.err.Error() }
func (e *lostError) Unwrap() error { return e.err }

// call sends c and waits for its reply. A reply carrying an error returns
// it as a *predict.Error with the worker's code. When ctx ends first, call
// returns an *outstandingError (whose code is ctx's); when the connection
// breaks, a *lostError.
func (f *frameConn) call(ctx context.Context, c *workerv1.Call) (*workerv1.Reply, error) {
	if err := ctx.Err(); err != nil { // nothing sent: the connection stays free
		return nil, predict.Errorf(predict.CodeOf(err), "sidecar: %w", err)
	}
	f.nextID++
	c.Id = f.nextID
	b, err := appendFrame(f.wbuf[:0], c)
	if err != nil {
		return nil, predict.Errorf(codes.Internal, "sidecar: encoding a call: %w", err)
	}
	if len(b)-frameHeader > f.limit {
		return nil, predict.Errorf(codes.ResourceExhausted,
			"sidecar: the request is %d bytes, over the worker message limit of %d", len(b)-frameHeader, f.limit)
	}
	if cap(b) <= 1<<20 {
		f.wbuf = b
	}
	if len(b) >= largeFrame {
		stop := context.AfterFunc(ctx, func() { _ = f.c.SetWriteDeadline(time.Unix(1, 0)) })
		_, err = f.c.Write(b)
		if !stop() {
			f.close() // a write cut short leaves half a frame behind
		}
	} else {
		_, err = f.c.Write(b)
	}
	if err != nil {
		f.close()
		return nil, &lostError{err}
	}
	select {
	case fr := <-f.replies:
		return f.reply(c.Id, fr)
	case <-f.done:
		return nil, &lostError{f.err}
	case <-ctx.Done():
		return nil, &outstandingError{predict.Errorf(predict.CodeOf(ctx.Err()), "sidecar: %w", ctx.Err())}
	}
}

func (f *frameConn) reply(id uint64, fr frameReply) (*workerv1.Reply, error) {
	if fr.err != nil {
		f.close()
		return nil, &lostError{fmt.Errorf("a reply that does not parse: %w", fr.err)}
	}
	if got := fr.r.GetId(); got != id && got != 0 {
		f.close()
		return nil, &lostError{fmt.Errorf("a reply to call %d, want %d", got, id)}
	}
	if e := fr.r.GetError(); e != nil {
		return nil, valueconv.ErrorFromProto(e)
	}
	return fr.r, nil
}

// awaitLate waits for the reply to a call that returned an
// *outstandingError, until stop fires. It reports whether the reply came,
// which frees the connection for the next call.
func (f *frameConn) awaitLate(stop <-chan time.Time, cancel <-chan struct{}) bool {
	select {
	case fr := <-f.replies:
		if fr.err != nil {
			f.close()
			return false
		}
		return true
	case <-f.done:
		return false
	case <-stop:
		return false
	case <-cancel:
		return false
	}
}

// The typed calls.

func callInfo(ctx context.Context, f *frameConn) (*workerv1.InfoResponse, error) {
	r, err := f.call(ctx, &workerv1.Call{Kind: &workerv1.Call_Info{Info: &workerv1.InfoRequest{}}})
	if err != nil {
		return nil, err
	}
	if r.GetInfo() == nil {
		return nil, errWrongKind(r)
	}
	return r.GetInfo(), nil
}

func callLoad(ctx context.Context, f *frameConn, dir, version string) error {
	r, err := f.call(ctx, &workerv1.Call{Kind: &workerv1.Call_Load{Load: &workerv1.LoadRequest{Dir: dir, Version: version}}})
	if err == nil && r.GetLoad() == nil {
		err = errWrongKind(r)
	}
	return err
}

func callUnload(ctx context.Context, f *frameConn, version string) error {
	r, err := f.call(ctx, &workerv1.Call{Kind: &workerv1.Call_Unload{Unload: &workerv1.UnloadRequest{Version: version}}})
	if err == nil && r.GetUnload() == nil {
		err = errWrongKind(r)
	}
	return err
}

func callPredict(ctx context.Context, f *frameConn, req *workerv1.PredictRequest) (_ *workerv1.PredictResponse, err error) {
	if span := startWorkerSpan(ctx, SpanWorkerPredict, 1); span != nil {
		req.Traceparent = traceparent(span)
		defer func() { endWorkerSpan(span, err) }()
	}
	r, err := f.call(ctx, &workerv1.Call{Kind: &workerv1.Call_Predict{Predict: req}})
	if err != nil {
		return nil, err
	}
	if r.GetPredict() == nil {
		return nil, errWrongKind(r)
	}
	return r.GetPredict(), nil
}

func callPredictBatch(ctx context.Context, f *frameConn, req *workerv1.PredictBatchRequest) (_ *workerv1.PredictBatchResponse, err error) {
	if span := startWorkerSpan(ctx, SpanWorkerPredictBatch, len(req.GetItems())); span != nil {
		req.Traceparent = traceparent(span)
		defer func() { endWorkerSpan(span, err) }()
	}
	r, err := f.call(ctx, &workerv1.Call{Kind: &workerv1.Call_PredictBatch{PredictBatch: req}})
	if err != nil {
		return nil, err
	}
	if r.GetPredictBatch() == nil {
		return nil, errWrongKind(r)
	}
	return r.GetPredictBatch(), nil
}

func errWrongKind(r *workerv1.Reply) error {
	return predict.Errorf(codes.Internal, "sidecar: the worker answered with a reply of the wrong kind (%T)", r.GetKind())
}
