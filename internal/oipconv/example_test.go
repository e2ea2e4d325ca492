package oipconv_test

import (
	"encoding/binary"
	"fmt"

	"github.com/swapwire/swapwire/internal/oipconv"
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

func ExampleDecodeInputs() {
	// Two strings in raw form: each element is a 4-byte little-endian
	// length followed by its bytes.
	var raw []byte
	for _, s := range []string{"hello", "world"} {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(len(s)))
		raw = append(raw, s...)
	}
	req := &inferencepb.ModelInferRequest{
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "text", Datatype: "BYTES", Shape: []int64{2}},
		},
		RawInputContents: [][]byte{raw},
	}
	in, err := oipconv.DecodeInputs(req)
	fmt.Println(in.Name, in.Value.Kind(), in.Value.Strings(), err)

	resp, err := oipconv.EncodeOutputs(predict.Result{Label: predict.Ints(3, 1), Scores: []float64{0.9}}, req)
	for _, o := range resp.GetOutputs() {
		fmt.Println(o.GetName(), o.GetDatatype(), o.GetShape())
	}
	// Output:
	// text strings [hello world] <nil>
	// label INT64 [2]
	// scores FP64 [1]
}
