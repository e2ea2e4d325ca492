package rekcurd

import (
	"context"
	"errors"
	"io"
	"path"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/swapwire/swapwire/internal/engine"
	"github.com/swapwire/swapwire/internal/rekcurdconv"
	"github.com/swapwire/swapwire/predict"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
)

// rekcurdChunk is the size of the messages a bytes output is streamed in.
const rekcurdChunk = 1 << 20

// rekcurdWorker serves rekcurd.RekcurdWorker. Each of the 25 methods is one
// line: a generic helper for its shape (unary, bytes in, bytes out, bytes
// both ways) with the input decoder and output encoder of its forms.
type rekcurdWorker struct {
	rekcurdpb.UnimplementedRekcurdWorkerServer
	e   *engine.Engine
	cfg Config
}

// rekcurdModel returns the model a Rekcurd call is for: the one named by
// the x-rekcurd-application-name header when it is served here, else ""
// (the default model).
func rekcurdModel(ctx context.Context, e *engine.Engine) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, name := range md.Get(rekcurdconv.HeaderApplicationName) {
		if name != "" && e.HasModel(name) {
			return name
		}
	}
	return ""
}

// rekcurdMethod returns the bare method name of the call, such as
// "Predict_String_ArrInt", for error messages.
func rekcurdMethod(ctx context.Context) string {
	if m, ok := grpc.Method(ctx); ok {
		return path.Base(m)
	}
	return "Predict"
}

// predict runs one Rekcurd prediction through the model manager.
func (w *rekcurdWorker) predict(ctx context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
	a, err := w.e.Predict(ctx, engine.Request{Model: rekcurdModel(ctx, w.e), Input: in, Option: opt})
	return a.Result, err
}

// rekcurdUnary serves a method whose input and output are single messages.
func rekcurdUnary[In, Out any](ctx context.Context, w *rekcurdWorker, in In, dec func(In) (predict.Value, predict.Option, error), enc func(predict.Result, string) (Out, error)) (Out, error) {
	var zero Out
	v, opt, err := dec(in)
	if err != nil {
		return zero, predict.Status(err)
	}
	res, err := w.predict(ctx, v, opt)
	if err != nil {
		return zero, predict.Status(err)
	}
	out, err := enc(res, rekcurdMethod(ctx))
	if err != nil {
		return zero, predict.Status(err)
	}
	return out, nil
}

// recvBytes receives a client-streamed bytes input until the client closes
// its side, bounding the total at the server's maximum message size.
func (w *rekcurdWorker) recvBytes(recv func() (*rekcurdpb.BytesInput, error)) (predict.Value, predict.Option, error) {
	limit := w.cfg.MaxMessageSize
	var (
		chunks []*rekcurdpb.BytesInput
		size   int
	)
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return predict.Value{}, nil, err
		}
		size += len(msg.GetInput())
		if size > limit {
			return predict.Value{}, nil, predict.Errorf(codes.ResourceExhausted, "bytes input is over the limit of %d bytes", limit)
		}
		chunks = append(chunks, msg)
	}
	return rekcurdconv.JoinBytesInput(chunks)
}

// rekcurdFromBytes serves a method whose input is a client-streamed bytes
// input and whose output is one message.
func rekcurdFromBytes[Out any](w *rekcurdWorker, stream grpc.ClientStreamingServer[rekcurdpb.BytesInput, Out], enc func(predict.Result, string) (*Out, error)) error {
	ctx := stream.Context()
	v, opt, err := w.recvBytes(stream.Recv)
	if err != nil {
		return predict.Status(err)
	}
	res, err := w.predict(ctx, v, opt)
	if err != nil {
		return predict.Status(err)
	}
	out, err := enc(res, rekcurdMethod(ctx))
	if err != nil {
		return predict.Status(err)
	}
	return stream.SendAndClose(out)
}

// sendBytes streams a bytes output in chunks of rekcurdChunk bytes; every
// chunk carries the score and the option, so a client that reads only the
// first message still has them. An empty output is one empty message.
func sendBytes(ctx context.Context, res predict.Result, send func(*rekcurdpb.BytesOutput) error) error {
	out, err := rekcurdconv.ToBytesOutput(res, rekcurdMethod(ctx))
	if err != nil {
		return predict.Status(err)
	}
	data := out.GetOutput()
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), rekcurdChunk)
		msg := &rekcurdpb.BytesOutput{Output: data[:n], Score: out.GetScore(), Option: out.GetOption()}
		if err := send(msg); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// rekcurdToBytes serves a method whose input is one message and whose
// output is a streamed bytes output.
func rekcurdToBytes[In any](w *rekcurdWorker, in In, stream grpc.ServerStreamingServer[rekcurdpb.BytesOutput], dec func(In) (predict.Value, predict.Option, error)) error {
	ctx := stream.Context()
	v, opt, err := dec(in)
	if err != nil {
		return predict.Status(err)
	}
	res, err := w.predict(ctx, v, opt)
	if err != nil {
		return predict.Status(err)
	}
	return sendBytes(ctx, res, stream.Send)
}

// rekcurdBytesBytes serves Predict_Bytes_Bytes: the client streams its
// input and closes its side, then the server streams the output.
func rekcurdBytesBytes(w *rekcurdWorker, stream grpc.BidiStreamingServer[rekcurdpb.BytesInput, rekcurdpb.BytesOutput]) error {
	ctx := stream.Context()
	v, opt, err := w.recvBytes(stream.Recv)
	if err != nil {
		return predict.Status(err)
	}
	res, err := w.predict(ctx, v, opt)
	if err != nil {
		return predict.Status(err)
	}
	return sendBytes(ctx, res, stream.Send)
}

func (w *rekcurdWorker) Predict_String_String(ctx context.Context, in *rekcurdpb.StringInput) (*rekcurdpb.StringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromStringInput, rekcurdconv.ToStringOutput)
}

func (w *rekcurdWorker) Predict_String_Bytes(in *rekcurdpb.StringInput, stream grpc.ServerStreamingServer[rekcurdpb.BytesOutput]) error {
	return rekcurdToBytes(w, in, stream, rekcurdconv.FromStringInput)
}

func (w *rekcurdWorker) Predict_String_ArrInt(ctx context.Context, in *rekcurdpb.StringInput) (*rekcurdpb.ArrIntOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromStringInput, rekcurdconv.ToArrIntOutput)
}

func (w *rekcurdWorker) Predict_String_ArrFloat(ctx context.Context, in *rekcurdpb.StringInput) (*rekcurdpb.ArrFloatOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromStringInput, rekcurdconv.ToArrFloatOutput)
}

func (w *rekcurdWorker) Predict_String_ArrString(ctx context.Context, in *rekcurdpb.StringInput) (*rekcurdpb.ArrStringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromStringInput, rekcurdconv.ToArrStringOutput)
}

func (w *rekcurdWorker) Predict_Bytes_String(stream grpc.ClientStreamingServer[rekcurdpb.BytesInput, rekcurdpb.StringOutput]) error {
	return rekcurdFromBytes(w, stream, rekcurdconv.ToStringOutput)
}

func (w *rekcurdWorker) Predict_Bytes_Bytes(stream grpc.BidiStreamingServer[rekcurdpb.BytesInput, rekcurdpb.BytesOutput]) error {
	return rekcurdBytesBytes(w, stream)
}

func (w *rekcurdWorker) Predict_Bytes_ArrInt(stream grpc.ClientStreamingServer[rekcurdpb.BytesInput, rekcurdpb.ArrIntOutput]) error {
	return rekcurdFromBytes(w, stream, rekcurdconv.ToArrIntOutput)
}

func (w *rekcurdWorker) Predict_Bytes_ArrFloat(stream grpc.ClientStreamingServer[rekcurdpb.BytesInput, rekcurdpb.ArrFloatOutput]) error {
	return rekcurdFromBytes(w, stream, rekcurdconv.ToArrFloatOutput)
}

func (w *rekcurdWorker) Predict_Bytes_ArrString(stream grpc.ClientStreamingServer[rekcurdpb.BytesInput, rekcurdpb.ArrStringOutput]) error {
	return rekcurdFromBytes(w, stream, rekcurdconv.ToArrStringOutput)
}

func (w *rekcurdWorker) Predict_ArrInt_String(ctx context.Context, in *rekcurdpb.ArrIntInput) (*rekcurdpb.StringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrIntInput, rekcurdconv.ToStringOutput)
}

func (w *rekcurdWorker) Predict_ArrInt_Bytes(in *rekcurdpb.ArrIntInput, stream grpc.ServerStreamingServer[rekcurdpb.BytesOutput]) error {
	return rekcurdToBytes(w, in, stream, rekcurdconv.FromArrIntInput)
}

func (w *rekcurdWorker) Predict_ArrInt_ArrInt(ctx context.Context, in *rekcurdpb.ArrIntInput) (*rekcurdpb.ArrIntOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrIntInput, rekcurdconv.ToArrIntOutput)
}

func (w *rekcurdWorker) Predict_ArrInt_ArrFloat(ctx context.Context, in *rekcurdpb.ArrIntInput) (*rekcurdpb.ArrFloatOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrIntInput, rekcurdconv.ToArrFloatOutput)
}

func (w *rekcurdWorker) Predict_ArrInt_ArrString(ctx context.Context, in *rekcurdpb.ArrIntInput) (*rekcurdpb.ArrStringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrIntInput, rekcurdconv.ToArrStringOutput)
}

func (w *rekcurdWorker) Predict_ArrFloat_String(ctx context.Context, in *rekcurdpb.ArrFloatInput) (*rekcurdpb.StringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrFloatInput, rekcurdconv.ToStringOutput)
}

func (w *rekcurdWorker) Predict_ArrFloat_Bytes(in *rekcurdpb.ArrFloatInput, stream grpc.ServerStreamingServer[rekcurdpb.BytesOutput]) error {
	return rekcurdToBytes(w, in, stream, rekcurdconv.FromArrFloatInput)
}

func (w *rekcurdWorker) Predict_ArrFloat_ArrInt(ctx context.Context, in *rekcurdpb.ArrFloatInput) (*rekcurdpb.ArrIntOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrFloatInput, rekcurdconv.ToArrIntOutput)
}

func (w *rekcurdWorker) Predict_ArrFloat_ArrFloat(ctx context.Context, in *rekcurdpb.ArrFloatInput) (*rekcurdpb.ArrFloatOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrFloatInput, rekcurdconv.ToArrFloatOutput)
}

func (w *rekcurdWorker) Predict_ArrFloat_ArrString(ctx context.Context, in *rekcurdpb.ArrFloatInput) (*rekcurdpb.ArrStringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrFloatInput, rekcurdconv.ToArrStringOutput)
}

func (w *rekcurdWorker) Predict_ArrString_String(ctx context.Context, in *rekcurdpb.ArrStringInput) (*rekcurdpb.StringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrStringInput, rekcurdconv.ToStringOutput)
}

func (w *rekcurdWorker) Predict_ArrString_Bytes(in *rekcurdpb.ArrStringInput, stream grpc.ServerStreamingServer[rekcurdpb.BytesOutput]) error {
	return rekcurdToBytes(w, in, stream, rekcurdconv.FromArrStringInput)
}

func (w *rekcurdWorker) Predict_ArrString_ArrInt(ctx context.Context, in *rekcurdpb.ArrStringInput) (*rekcurdpb.ArrIntOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrStringInput, rekcurdconv.ToArrIntOutput)
}

func (w *rekcurdWorker) Predict_ArrString_ArrFloat(ctx context.Context, in *rekcurdpb.ArrStringInput) (*rekcurdpb.ArrFloatOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrStringInput, rekcurdconv.ToArrFloatOutput)
}

func (w *rekcurdWorker) Predict_ArrString_ArrString(ctx context.Context, in *rekcurdpb.ArrStringInput) (*rekcurdpb.ArrStringOutput, error) {
	return rekcurdUnary(ctx, w, in, rekcurdconv.FromArrStringInput, rekcurdconv.ToArrStringOutput)
}
