package serving

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/swapwire/swapwire/modelstore"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	"github.com/swapwire/swapwire/serving/sidecar"
)

// int32s is Triton's raw layout of INT32 elements: 4 bytes each, little-endian.
func int32s(xs ...int32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// TestPythonTwoInputs serves Triton's "simple" model (INPUT0 and INPUT1,
// 16 INT32 each, batched) from a real Python worker and drives it through
// the Open Inference Protocol as Triton's simple client does: the two named
// inputs reach the Python model as tensors, the raw outputs decode to the
// sum and the difference, a [3, 16] batch gives three answers of shape
// [3, 16] from one predict_batch call, and ModelMetadata names the inputs
// the worker declares.
func TestPythonTwoInputs(t *testing.T) {
	needPython(t, false)
	st := newLocal(t, t.TempDir())
	version := t.TempDir()
	if err := os.WriteFile(filepath.Join(version, "README"), []byte("Triton's simple model needs no weights\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := modelstore.PublishDir(waitCtx(t), st, "simple", 1, version); err != nil {
		t.Fatal(err)
	}
	model, err := filepath.Abs("testdata/pysimple.py")
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Factory(sidecar.Factory(sidecar.Config{Command: []string{python, model}, Workers: 1, Model: "simple"})), st)
	ts.waitServing(t, "simple", 1)
	c := inferencepb.NewGRPCInferenceServiceClient(ts.conn)

	mm, err := c.ModelMetadata(waitCtx(t), &inferencepb.ModelMetadataRequest{Name: "simple"})
	if err != nil {
		t.Fatal(err)
	}
	if in, out := mm.GetInputs(), mm.GetOutputs(); len(in) != 2 ||
		in[0].GetName() != "INPUT0" || in[0].GetDatatype() != "INT32" || !slices.Equal(in[0].GetShape(), []int64{-1, 16}) ||
		in[1].GetName() != "INPUT1" || in[1].GetDatatype() != "INT32" || !slices.Equal(in[1].GetShape(), []int64{-1, 16}) ||
		len(out) != 2 || out[0].GetName() != "label" || out[0].GetDatatype() != "INT32" ||
		out[1].GetName() != "scores" || out[1].GetDatatype() != "FP32" || !slices.Equal(out[1].GetShape(), []int64{-1, 16}) {
		t.Fatalf("ModelMetadata = %v", mm)
	}

	// One item, [1, 16] each, raw, as Triton's simple client sends it:
	// INPUT0 = 0..15, INPUT1 = all ones.
	var in0, in1 []int32
	for i := range 16 {
		in0 = append(in0, int32(i))
		in1 = append(in1, 1)
	}
	resp, err := c.ModelInfer(waitCtx(t), &inferencepb.ModelInferRequest{
		ModelName: "simple",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: "INT32", Shape: []int64{1, 16}},
			{Name: "INPUT1", Datatype: "INT32", Shape: []int64{1, 16}},
		},
		RawInputContents: [][]byte{int32s(in0...), int32s(in1...)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetOutputs()) != 2 || len(resp.GetRawOutputContents()) != 2 {
		t.Fatalf("outputs %v, %d raw", resp.GetOutputs(), len(resp.GetRawOutputContents()))
	}
	sum, diff := resp.GetRawOutputContents()[0], resp.GetRawOutputContents()[1]
	if o := resp.GetOutputs()[0]; o.GetName() != "label" || o.GetDatatype() != "INT32" || !slices.Equal(o.GetShape(), []int64{1, 16}) || len(sum) != 64 {
		t.Fatalf("label %v, %d raw bytes", o, len(sum))
	}
	if o := resp.GetOutputs()[1]; o.GetName() != "scores" || o.GetDatatype() != "FP32" || !slices.Equal(o.GetShape(), []int64{1, 16}) || len(diff) != 64 {
		t.Fatalf("scores %v, %d raw bytes", o, len(diff))
	}
	for i := range 16 {
		if got := int32(binary.LittleEndian.Uint32(sum[4*i:])); got != int32(i+1) {
			t.Errorf("OUTPUT0[%d] = %d, want %d", i, got, i+1)
		}
		if got := math.Float32frombits(binary.LittleEndian.Uint32(diff[4*i:])); got != float32(i-1) {
			t.Errorf("OUTPUT1[%d] = %v, want %d", i, got, i-1)
		}
	}
	// The model saw the tensors by name, in the signature's order.
	if got := resp.GetParameters()["names"].GetStringParam(); got != "INPUT0,INPUT1" {
		t.Errorf("the model saw inputs %q, want INPUT0,INPUT1", got)
	}

	// A [3, 16] batch: row r of INPUT0 is 100r+i, of INPUT1 is r-i.
	var b0, b1 []int32
	for r := range 3 {
		for i := range 16 {
			b0 = append(b0, int32(100*r+i))
			b1 = append(b1, int32(r-i))
		}
	}
	resp, err = c.ModelInfer(waitCtx(t), &inferencepb.ModelInferRequest{
		ModelName: "simple",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: "INT32", Shape: []int64{3, 16}},
			{Name: "INPUT1", Datatype: "INT32", Shape: []int64{3, 16}},
		},
		RawInputContents: [][]byte{int32s(b0...), int32s(b1...)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o := resp.GetOutputs(); len(o) != 2 || !slices.Equal(o[0].GetShape(), []int64{3, 16}) || !slices.Equal(o[1].GetShape(), []int64{3, 16}) {
		t.Fatalf("batch outputs %v", o)
	}
	sum, diff = resp.GetRawOutputContents()[0], resp.GetRawOutputContents()[1]
	if len(sum) != 3*64 || len(diff) != 3*64 {
		t.Fatalf("batch raw outputs %d and %d bytes, want %d", len(sum), len(diff), 3*64)
	}
	for r := range 3 {
		for i := range 16 {
			k := 16*r + i
			if got, want := int32(binary.LittleEndian.Uint32(sum[4*k:])), b0[k]+b1[k]; got != want {
				t.Errorf("batch item %d: OUTPUT0[%d] = %d, want %d", r, i, got, want)
			}
			if got, want := math.Float32frombits(binary.LittleEndian.Uint32(diff[4*k:])), float32(b0[k]-b1[k]); got != want {
				t.Errorf("batch item %d: OUTPUT1[%d] = %v, want %v", r, i, got, want)
			}
		}
	}
	// The three items reached the worker's predict_batch in one call (the
	// option's numbers come back as doubles).
	if got := resp.GetParameters()["batch_size"].GetDoubleParam(); got != 3 {
		t.Errorf("predict_batch saw a batch of %v (parameters %v), want 3", got, resp.GetParameters())
	}

	// A missing input is refused with the names the Python model declares.
	_, err = c.ModelInfer(waitCtx(t), &inferencepb.ModelInferRequest{
		ModelName:        "simple",
		Inputs:           []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "INT32", Shape: []int64{1, 16}}},
		RawInputContents: [][]byte{int32s(in0...)},
	})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "INPUT0, INPUT1") {
		t.Errorf("one input of two: %v", err)
	}
}
