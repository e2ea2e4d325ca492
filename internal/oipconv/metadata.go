package oipconv

import (
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// Platform is the platform and backend name Swapwire reports.
const Platform = "swapwire"

// TensorMetadata describes the model's inputs and outputs for
// ModelMetadata. With a signature (hasSig), its inputs and outputs as
// declared; a batching model's shapes get a leading -1, as Triton reports
// them. Without one, the honest fallback: one input named "input" and a
// "label" output with an empty datatype and shape [-1] (the model takes and
// answers any kind; the datatype follows the value), and "scores" as FP64
// [-1].
func TensorMetadata(sig predict.Signature, hasSig bool) (inputs, outputs []*inferencepb.ModelMetadataResponse_TensorMetadata) {
	if !hasSig {
		return []*inferencepb.ModelMetadataResponse_TensorMetadata{{Name: "input", Datatype: "", Shape: []int64{-1}}},
			[]*inferencepb.ModelMetadataResponse_TensorMetadata{
				{Name: OutputLabel, Datatype: "", Shape: []int64{-1}},
				{Name: OutputScores, Datatype: TypeFP64, Shape: []int64{-1}},
			}
	}
	conv := func(specs []predict.TensorSpec) []*inferencepb.ModelMetadataResponse_TensorMetadata {
		out := make([]*inferencepb.ModelMetadataResponse_TensorMetadata, 0, len(specs))
		for _, s := range specs {
			shape := append([]int64(nil), s.Shape...)
			if sig.MaxBatchSize > 0 {
				shape = append([]int64{-1}, shape...)
			}
			out = append(out, &inferencepb.ModelMetadataResponse_TensorMetadata{Name: s.Name, Datatype: s.Datatype, Shape: shape})
		}
		return out
	}
	return conv(sig.Inputs), conv(sig.Outputs)
}

// configTypes maps datatype names to the model configuration's DataType.
var configTypes = map[string]inferencepb.DataType{
	TypeBool: inferencepb.DataType_TYPE_BOOL, TypeUint8: inferencepb.DataType_TYPE_UINT8,
	TypeUint16: inferencepb.DataType_TYPE_UINT16, TypeUint32: inferencepb.DataType_TYPE_UINT32,
	TypeUint64: inferencepb.DataType_TYPE_UINT64, TypeInt8: inferencepb.DataType_TYPE_INT8,
	TypeInt16: inferencepb.DataType_TYPE_INT16, TypeInt32: inferencepb.DataType_TYPE_INT32,
	TypeInt64: inferencepb.DataType_TYPE_INT64, TypeFP16: inferencepb.DataType_TYPE_FP16,
	TypeFP32: inferencepb.DataType_TYPE_FP32, TypeFP64: inferencepb.DataType_TYPE_FP64,
	TypeBytes: inferencepb.DataType_TYPE_STRING, TypeBF16: inferencepb.DataType_TYPE_BF16,
}

// ModelConfig returns Triton's model configuration for a model: its name,
// platform and backend "swapwire", and, from a signature, max_batch_size
// and the inputs and outputs with their dims (without the batch
// dimension). Without a signature the inputs and outputs are left empty:
// the model declared none, and max_batch_size is 0.
func ModelConfig(name string, sig predict.Signature, hasSig bool) *inferencepb.ModelConfig {
	c := &inferencepb.ModelConfig{Name: name, Platform: Platform, Backend: Platform}
	if !hasSig {
		return c
	}
	c.MaxBatchSize = int32(sig.MaxBatchSize)
	for _, s := range sig.Inputs {
		c.Input = append(c.Input, &inferencepb.ModelInput{Name: s.Name, DataType: configTypes[s.Datatype], Dims: s.Shape})
	}
	for _, s := range sig.Outputs {
		c.Output = append(c.Output, &inferencepb.ModelOutput{Name: s.Name, DataType: configTypes[s.Datatype], Dims: s.Shape})
	}
	return c
}
