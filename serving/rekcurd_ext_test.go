package serving_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// textOf is the text a shaper answers for an input: the text itself, the
// bytes as text, or the elements joined by commas.
func textOf(in predict.Value) string {
	switch in.Kind() {
	case predict.KindBytes:
		return string(in.Bytes())
	}
	return in.String()
}

// shaper answers a label of the kind its option "out" asks for (text,
// bytes, ints, floats or strings), made from the input: the input itself
// when it already has that kind, else its text, or its length for numbers.
// Option "big" makes an ints label that no int32 holds, "huge" a floats
// label that no float32 holds. Scores are
// [0.25, 0.75]; the option comes back under "seen" with "model" set to tag.
func shaper(tag string) serving.Factory {
	return func() predict.Predictor {
		return predict.PredictorFunc(func(_ context.Context, in predict.Value, opt predict.Option) (predict.Result, error) {
			var label predict.Value
			switch opt["out"] {
			case "text":
				label = predict.Text(textOf(in))
			case "bytes":
				if in.Kind() == predict.KindBytes {
					label = in
				} else {
					label = predict.Bytes([]byte(textOf(in)))
				}
			case "ints":
				if in.Kind() == predict.KindInts {
					label = in
				} else {
					label = predict.Ints(int64(in.Len()))
				}
			case "floats":
				if in.Kind() == predict.KindFloats {
					label = in
				} else {
					label = predict.Floats(float64(in.Len()))
				}
			case "strings":
				if in.Kind() == predict.KindStrings {
					label = in
				} else {
					label = predict.Strings(textOf(in))
				}
			case "big":
				label = predict.Ints(1, math.MaxInt32+1)
			case "huge":
				label = predict.Floats(1e300)
			default:
				label = in
			}
			return predict.Result{Label: label, Scores: []float64{0.25, 0.75}, Option: predict.Option{"seen": map[string]any(opt), "model": tag}}, nil
		})
	}
}

// commitVersion publishes a version of model holding one file.
func commitVersion(t *testing.T, st modelstore.Store, model, file, content string) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Abort()
	if err := os.WriteFile(filepath.Join(tx.Dir(), file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := tx.Commit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startShapers serves models "a" (the default) and "b" from a local store.
func startShapers(t *testing.T, opts ...serving.ServerOption) (*servingtest.Server, *modelstore.Local) {
	t.Helper()
	st, err := modelstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	commitVersion(t, st, "a", "model.bin", "a1")
	commitVersion(t, st, "b", "model.bin", "b1")
	opts = append([]serving.ServerOption{serving.WithModelFactory("b", shaper("b"))}, opts...)
	s := servingtest.StartReady(t, shaper("a"), st, opts...)
	if err := s.WaitServing(ctxT(t), "b", 1); err != nil {
		t.Fatal(err)
	}
	return s, st
}

const rekcurdService = "/rekcurd.RekcurdWorker/"

// rekcurdCall invokes Predict_<in>_<out> with the input message (or the
// bytes chunks) and returns the output messages, joined for bytes outputs.
func rekcurdCall(ctx context.Context, conn *grpc.ClientConn, inForm, outForm string, in proto.Message, chunks []*rekcurdpb.BytesInput, out proto.Message) (msgs int, err error) {
	method := rekcurdService + "Predict_" + inForm + "_" + outForm
	if inForm != "Bytes" && outForm != "Bytes" {
		return 1, conn.Invoke(ctx, method, in, out)
	}
	desc := &grpc.StreamDesc{ClientStreams: inForm == "Bytes", ServerStreams: outForm == "Bytes"}
	stream, err := conn.NewStream(ctx, desc, method)
	if err != nil {
		return 0, err
	}
	if inForm == "Bytes" {
		for _, c := range chunks {
			if err := stream.SendMsg(c); err != nil {
				return 0, err
			}
		}
	} else if err := stream.SendMsg(in); err != nil {
		return 0, err
	}
	if err := stream.CloseSend(); err != nil {
		return 0, err
	}
	if outForm != "Bytes" {
		return 1, stream.RecvMsg(out)
	}
	joined := out.(*rekcurdpb.BytesOutput)
	for {
		var msg rekcurdpb.BytesOutput
		err := stream.RecvMsg(&msg)
		if errors.Is(err, io.EOF) {
			return msgs, nil
		}
		if err != nil {
			return msgs, err
		}
		msgs++
		joined.Output = append(joined.Output, msg.Output...)
		joined.Score, joined.Option = msg.Score, msg.Option
	}
}

func rekcurdOpt(out string) *rekcurdpb.Option {
	return &rekcurdpb.Option{Val: fmt.Sprintf(`{"out": %q}`, out)}
}

func TestRekcurdEveryMethod(t *testing.T) {
	s, _ := startShapers(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/32) // 2.5 MiB
	type input struct {
		msg    func(out string) proto.Message
		chunks func(out string) []*rekcurdpb.BytesInput
		text   string // textOf the input
		len    int
		ints   []int32
		floats []float32
		strs   []string
		bytes  []byte
	}
	inputs := map[string]input{
		"String": {msg: func(o string) proto.Message { return &rekcurdpb.StringInput{Input: "héllo", Option: rekcurdOpt(o)} }, text: "héllo", len: 6},
		"Bytes": {chunks: func(o string) []*rekcurdpb.BytesInput {
			// The Rekcurd client sends the option on every chunk.
			var cs []*rekcurdpb.BytesInput
			for rest := big; len(rest) > 0; {
				n := min(len(rest), 1<<20)
				cs = append(cs, &rekcurdpb.BytesInput{Input: rest[:n], Option: rekcurdOpt(o)})
				rest = rest[n:]
			}
			return cs
		}, text: string(big), len: len(big), bytes: big},
		"ArrInt": {msg: func(o string) proto.Message {
			return &rekcurdpb.ArrIntInput{Input: []int32{1, -2, math.MaxInt32}, Option: rekcurdOpt(o)}
		}, text: "1,-2,2147483647", len: 3, ints: []int32{1, -2, math.MaxInt32}},
		"ArrFloat": {msg: func(o string) proto.Message {
			return &rekcurdpb.ArrFloatInput{Input: []float32{0.5, -1.25}, Option: rekcurdOpt(o)}
		}, text: "0.5,-1.25", len: 2, floats: []float32{0.5, -1.25}},
		"ArrString": {msg: func(o string) proto.Message {
			return &rekcurdpb.ArrStringInput{Input: []string{"a", "b"}, Option: rekcurdOpt(o)}
		}, text: "a,b", len: 2, strs: []string{"a", "b"}},
	}
	outKind := map[string]string{"String": "text", "Bytes": "bytes", "ArrInt": "ints", "ArrFloat": "floats", "ArrString": "strings"}
	forms := []string{"String", "Bytes", "ArrInt", "ArrFloat", "ArrString"}
	calls := 0
	for _, inForm := range forms {
		for _, outForm := range forms {
			t.Run(inForm+"_"+outForm, func(t *testing.T) {
				in := inputs[inForm]
				kind := outKind[outForm]
				var msg proto.Message
				var chunks []*rekcurdpb.BytesInput
				if in.chunks != nil {
					chunks = in.chunks(kind)
				} else {
					msg = in.msg(kind)
				}
				var out proto.Message
				switch outForm {
				case "String":
					out = &rekcurdpb.StringOutput{}
				case "Bytes":
					out = &rekcurdpb.BytesOutput{}
				case "ArrInt":
					out = &rekcurdpb.ArrIntOutput{}
				case "ArrFloat":
					out = &rekcurdpb.ArrFloatOutput{}
				case "ArrString":
					out = &rekcurdpb.ArrStringOutput{}
				}
				n, err := rekcurdCall(ctxT(t), s.Conn, inForm, outForm, msg, chunks, out)
				if err != nil {
					t.Fatal(err)
				}
				calls++
				var opt string
				switch o := out.(type) {
				case *rekcurdpb.StringOutput:
					if o.Output != in.text || o.Score != 0.75 {
						t.Errorf("output %.40q score %v, want %.40q 0.75", o.Output, o.Score, in.text)
					}
					opt = o.GetOption().GetVal()
				case *rekcurdpb.BytesOutput:
					want := in.bytes
					if want == nil {
						want = []byte(in.text)
					}
					if !bytes.Equal(o.Output, want) || o.Score != 0.75 {
						t.Errorf("output %d bytes %.40q score %v, want %d bytes", len(o.Output), o.Output, o.Score, len(want))
					}
					if wantMsgs := max(1, (len(want)+(1<<20)-1)>>20); n != wantMsgs {
						t.Errorf("bytes output came in %d messages, want %d (1 MiB chunks)", n, wantMsgs)
					}
					opt = o.GetOption().GetVal()
				case *rekcurdpb.ArrIntOutput:
					want := in.ints
					if want == nil {
						want = []int32{int32(in.len)}
					}
					if !reflect.DeepEqual(o.Output, want) || !reflect.DeepEqual(o.Score, []float32{0.25, 0.75}) {
						t.Errorf("output %v score %v, want %v", o.Output, o.Score, want)
					}
					opt = o.GetOption().GetVal()
				case *rekcurdpb.ArrFloatOutput:
					want := in.floats
					if want == nil {
						want = []float32{float32(in.len)}
					}
					if !reflect.DeepEqual(o.Output, want) || !reflect.DeepEqual(o.Score, []float32{0.25, 0.75}) {
						t.Errorf("output %v score %v, want %v", o.Output, o.Score, want)
					}
					opt = o.GetOption().GetVal()
				case *rekcurdpb.ArrStringOutput:
					want := in.strs
					if want == nil {
						want = []string{in.text}
					}
					if !reflect.DeepEqual(o.Output, want) || !reflect.DeepEqual(o.Score, []float32{0.25, 0.75}) {
						t.Errorf("output %.60q score %v, want %.60q", o.Output, o.Score, want)
					}
					opt = o.GetOption().GetVal()
				}
				if want := fmt.Sprintf(`{"model":"a","seen":{"out":%q}}`, kind); opt != want {
					t.Errorf("option %s, want %s", opt, want)
				}
			})
		}
	}
	if calls != 25 {
		t.Fatalf("%d methods answered, want 25", calls)
	}
}

func TestRekcurdErrors(t *testing.T) {
	s, _ := startShapers(t, serving.WithMaxMessageSize(4<<20))
	c := rekcurdpb.NewRekcurdWorkerClient(s.Conn)
	ctx := ctxT(t)

	// An ints label beyond int32 cannot travel as ArrInt.
	_, err := c.Predict_String_ArrInt(ctx, &rekcurdpb.StringInput{Input: "x", Option: rekcurdOpt("big")})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "element 1 (2147483648) does not fit in int32") {
		t.Errorf("int32 overflow: %v", err)
	}
	// A floats label beyond float32 cannot travel as ArrFloat.
	_, err = c.Predict_String_ArrFloat(ctx, &rekcurdpb.StringInput{Input: "x", Option: rekcurdOpt("huge")})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "element 0 (1e+300) does not fit in float32") {
		t.Errorf("float32 overflow: %v", err)
	}
	// Bad option JSON.
	for _, bad := range []string{`{"out": `, `[1]`, `{"id": 9007199254740993}`} {
		_, err = c.Predict_String_String(ctx, &rekcurdpb.StringInput{Input: "x", Option: &rekcurdpb.Option{Val: bad}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "option") {
			t.Errorf("option %q: %v, want InvalidArgument about the option", bad, err)
		}
	}
	// Label kind mismatch names both kinds and the method.
	_, err = c.Predict_String_ArrInt(ctx, &rekcurdpb.StringInput{Input: "x", Option: rekcurdOpt("floats")})
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "model returned floats label, method Predict_String_ArrInt wants ArrInt" {
		t.Errorf("mismatch: %v", err)
	}
	_, err = c.Predict_ArrFloat_String(ctx, &rekcurdpb.ArrFloatInput{Input: []float32{1}, Option: rekcurdOpt("ints")})
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != "model returned ints label, method Predict_ArrFloat_String wants String" {
		t.Errorf("mismatch: %v", err)
	}
	// Bytes outputs report a mismatch as a status too, not as a message.
	bs, err := c.Predict_ArrInt_Bytes(ctx, &rekcurdpb.ArrIntInput{Input: []int32{1}, Option: rekcurdOpt("ints")})
	if err == nil {
		_, err = bs.Recv()
	}
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "model returned ints label, method Predict_ArrInt_Bytes wants Bytes") {
		t.Errorf("bytes mismatch: %v", err)
	}
	// Bytes input over the server's maximum message size in total.
	up, err := c.Predict_Bytes_String(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := 0; i < 5; i++ {
		if err := up.Send(&rekcurdpb.BytesInput{Input: chunk}); err != nil {
			break // the server may already have refused
		}
	}
	if _, err := up.CloseAndRecv(); status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "over the limit of 4194304 bytes") {
		t.Errorf("oversized bytes input: %v", err)
	}
	// No chunks at all.
	up, err = c.Predict_Bytes_String(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty bytes stream: %v", err)
	}
	// Chunks whose options disagree.
	up, err = c.Predict_Bytes_String(ctx)
	if err != nil {
		t.Fatal(err)
	}
	up.Send(&rekcurdpb.BytesInput{Input: []byte("a"), Option: rekcurdOpt("text")})
	up.Send(&rekcurdpb.BytesInput{Input: []byte("b"), Option: rekcurdOpt("bytes")})
	if _, err := up.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("disagreeing options: %v", err)
	}
}

func TestRekcurdApplicationNameChoosesModel(t *testing.T) {
	s, _ := startShapers(t)
	c := rekcurdpb.NewRekcurdWorkerClient(s.Conn)
	for _, tt := range []struct{ header, want string }{
		{"", "a"},     // no header: the default model
		{"b", "b"},    // a model served here
		{"nope", "a"}, // not served here: the default model
		{"a", "a"},    // the default named explicitly
	} {
		ctx := ctxT(t)
		if tt.header != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-rekcurd-application-name", tt.header)
		}
		out, err := c.Predict_String_String(ctx, &rekcurdpb.StringInput{Input: "q", Option: rekcurdOpt("text")})
		if err != nil {
			t.Fatalf("header %q: %v", tt.header, err)
		}
		if want := fmt.Sprintf(`{"model":%q,"seen":{"out":"text"}}`, tt.want); out.GetOption().GetVal() != want || out.GetOutput() != "q" {
			t.Errorf("header %q: answered %v, want model %s", tt.header, out, tt.want)
		}
	}
}

func TestRekcurdHealth(t *testing.T) {
	s, _ := startShapers(t)
	h := rekcurdpb.NewHealthClient(s.Conn)
	for _, svc := range []string{"", "a", "b"} {
		resp, err := h.Check(ctxT(t), &rekcurdpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != rekcurdpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", svc, resp, err)
		}
	}
	if _, err := h.Check(ctxT(t), &rekcurdpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("Check(nope) = %v, want NotFound", err)
	}
}
