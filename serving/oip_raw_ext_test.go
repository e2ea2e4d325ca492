package serving_test

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// withContents returns resp's outputs with their raw_output_contents read
// back into typed contents, the way Triton's clients read a response: from
// raw_output_contents[i] for output i, little-endian, BYTES elements
// prefixed by their 4-byte length. It fails the test when an output also
// carries typed contents (Triton's protocol forbids both) or when the raw
// entries do not match the outputs.
func withContents(t *testing.T, resp *inferencepb.ModelInferResponse) []*inferencepb.ModelInferResponse_InferOutputTensor {
	t.Helper()
	if len(resp.GetRawOutputContents()) != len(resp.GetOutputs()) {
		t.Fatalf("%d raw_output_contents for %d outputs", len(resp.GetRawOutputContents()), len(resp.GetOutputs()))
	}
	var out []*inferencepb.ModelInferResponse_InferOutputTensor
	for i, o := range resp.GetOutputs() {
		if o.GetContents() != nil {
			t.Errorf("output %q has typed contents as well as raw ones", o.GetName())
		}
		raw := resp.GetRawOutputContents()[i]
		c := &inferencepb.InferTensorContents{}
		switch o.GetDatatype() {
		case "INT64":
			for ; len(raw) >= 8; raw = raw[8:] {
				c.Int64Contents = append(c.Int64Contents, int64(binary.LittleEndian.Uint64(raw)))
			}
		case "FP64":
			for ; len(raw) >= 8; raw = raw[8:] {
				c.Fp64Contents = append(c.Fp64Contents, math.Float64frombits(binary.LittleEndian.Uint64(raw)))
			}
		case "FP32":
			for ; len(raw) >= 4; raw = raw[4:] {
				c.Fp32Contents = append(c.Fp32Contents, math.Float32frombits(binary.LittleEndian.Uint32(raw)))
			}
		case "BYTES":
			for len(raw) >= 4 {
				n := binary.LittleEndian.Uint32(raw)
				if uint64(n) > uint64(len(raw)-4) {
					t.Fatalf("output %q: BYTES element of %d bytes in %d", o.GetName(), n, len(raw)-4)
				}
				c.BytesContents = append(c.BytesContents, raw[4:4+n])
				raw = raw[4+n:]
			}
		default:
			t.Fatalf("output %q has datatype %q", o.GetName(), o.GetDatatype())
		}
		if len(raw) != 0 {
			t.Fatalf("output %q: %d bytes left over in its raw contents", o.GetName(), len(raw))
		}
		typed := proto.Clone(o).(*inferencepb.ModelInferResponse_InferOutputTensor)
		typed.Contents = c
		out = append(out, typed)
	}
	return out
}
