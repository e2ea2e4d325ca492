package predict

// TensorSpec describes one named input or output of a model, in the terms of
// the Open Inference Protocol (KServe v2, Triton).
type TensorSpec struct {
	Name string
	// Datatype names the element type as the Open Inference Protocol does:
	// BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16,
	// FP32, FP64 or BYTES.
	Datatype string
	// Shape is the tensor's shape without the batch dimension; -1 marks a
	// dimension of any size.
	Shape []int64
}

// Signature declares what a model takes and returns.
type Signature struct {
	// Inputs lists the model's inputs in order. With more than one, the
	// model receives them as a [KindTensors] value.
	Inputs []TensorSpec
	// Outputs describes the result: an output named "label" is the Result's
	// label and one named "scores" its scores.
	Outputs []TensorSpec
	// MaxBatchSize, when positive, says every input has a leading batch
	// dimension that Shape leaves out: a request of shape [N, ...] is N
	// predictions (N at most MaxBatchSize), and its outputs get the same
	// leading dimension. 0 means no batch dimension.
	MaxBatchSize int
}

// Signer is implemented by a Predictor that declares its inputs and
// outputs. Protocols that publish a model's metadata (the Open Inference
// Protocol's ModelMetadata and ModelConfig) report it, and use
// MaxBatchSize to split a batched request; without it they describe the
// model generically.
type Signer interface {
	Signature() Signature
}
