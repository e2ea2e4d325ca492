package serving_test

// These tests drive the Open Inference Protocol front-end the way Triton's
// clients (tritonclient.grpc, its C++ and Go examples) do: with stubs of
// Triton's grpc_service.proto (proto/inference has its package and field
// numbers), inputs in raw_input_contents, outputs read from
// raw_output_contents (see withContents), a batch as the first dimension,
// and the model's metadata read before inferring.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/swapwire/swapwire/modelstore"
	"github.com/swapwire/swapwire/predict"
	inferencepb "github.com/swapwire/swapwire/proto/inference"
	"github.com/swapwire/swapwire/serving"
	"github.com/swapwire/swapwire/serving/servingtest"
)

// startDigitsExample builds examples/digits, runs it on 127.0.0.1 with a
// fresh store (it seeds version 1) and returns a connection and its admin
// token.
func startDigitsExample(t *testing.T) (*grpc.ClientConn, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "digits")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/digits").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/digits: %v\n%s", err, out)
	}
	token := "digits-test-token-0123456789abcdef"
	cmd := exec.Command(bin, "--store", filepath.Join(dir, "store"), "--listen", "127.0.0.1:0", "--allow-plaintext-tokens")
	cmd.Env = append(os.Environ(), "SWAPWIRE_ADMIN_TOKEN="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addrs := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving addr=(127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrs <- m[1]:
				default:
				}
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(60 * time.Second):
		t.Fatal("examples/digits did not report its address")
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Wait until the model answers ModelReady, as a Triton client would.
	c := inferencepb.NewGRPCInferenceServiceClient(conn)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := c.ModelReady(ctxT(t), &inferencepb.ModelReadyRequest{Name: "digits"}, grpc.WaitForReady(true))
		if err == nil && r.GetReady() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("digits never became ready: %v %v", r, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a remote process's state, as clients do
	}
	return conn, token
}

type digitSample struct {
	Label int64   `json:"label"`
	Ints  []int64 `json:"ints"`
}

func digitSamples(t *testing.T) []digitSample {
	t.Helper()
	b, err := os.ReadFile("../examples/digits/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s []digitSample
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// fp32Images writes images as one FP32 tensor's raw contents, row-major.
func fp32Images(samples []digitSample) []byte {
	var b []byte
	for _, s := range samples {
		for _, px := range s.Ints {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(px)))
		}
	}
	return b
}

func TestTritonClientDigits(t *testing.T) {
	conn, token := startDigitsExample(t)
	c := inferencepb.NewGRPCInferenceServiceClient(conn)
	samples := digitSamples(t)
	if len(samples) < 3 {
		t.Fatalf("%d samples", len(samples))
	}

	// ModelMetadata names the real input and outputs, with the batch
	// dimension as -1.
	mm, err := c.ModelMetadata(ctxT(t), &inferencepb.ModelMetadataRequest{Name: "digits"})
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := &inferencepb.ModelMetadataResponse{
		Name: "digits", Versions: []string{"1"}, Platform: "swapwire",
		Inputs: []*inferencepb.ModelMetadataResponse_TensorMetadata{{Name: "pixels", Datatype: "FP32", Shape: []int64{-1, 64}}},
		Outputs: []*inferencepb.ModelMetadataResponse_TensorMetadata{
			{Name: "label", Datatype: "INT64", Shape: []int64{-1}},
			{Name: "scores", Datatype: "FP64", Shape: []int64{-1, 10}},
		},
	}
	if !proto.Equal(mm, wantMeta) {
		t.Fatalf("ModelMetadata = %v\nwant %v", mm, wantMeta)
	}
	cfg, err := c.ModelConfig(ctxT(t), &inferencepb.ModelConfigRequest{Name: "digits"})
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := &inferencepb.ModelConfig{
		Name: "digits", Platform: "swapwire", Backend: "swapwire", MaxBatchSize: 64,
		Input: []*inferencepb.ModelInput{{Name: "pixels", DataType: inferencepb.DataType_TYPE_FP32, Dims: []int64{64}}},
		Output: []*inferencepb.ModelOutput{
			{Name: "label", DataType: inferencepb.DataType_TYPE_INT64, Dims: []int64{}},
			{Name: "scores", DataType: inferencepb.DataType_TYPE_FP64, Dims: []int64{10}},
		},
	}
	if !proto.Equal(cfg.GetConfig(), wantCfg) {
		t.Fatalf("ModelConfig = %v\nwant %v", cfg.GetConfig(), wantCfg)
	}

	// A [3, 64] batch: three answers, label [3] and scores [3, 10].
	infer := func(images []digitSample) []*inferencepb.ModelInferResponse_InferOutputTensor {
		t.Helper()
		req := &inferencepb.ModelInferRequest{
			ModelName: "digits", Id: "batch",
			Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{int64(len(images)), 64}}},
			Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{
				{Name: "label"}, {Name: "scores"},
			},
			RawInputContents: [][]byte{fp32Images(images)},
		}
		resp, err := c.ModelInfer(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetModelVersion() != "1" || resp.GetId() != "batch" {
			t.Errorf("answered version %q id %q", resp.GetModelVersion(), resp.GetId())
		}
		return withContents(t, resp)
	}
	outs := infer(samples[:3])
	if len(outs) != 2 || outs[0].GetName() != "label" || outs[0].GetDatatype() != "INT64" || !reflect.DeepEqual(outs[0].GetShape(), []int64{3}) ||
		outs[1].GetName() != "scores" || outs[1].GetDatatype() != "FP64" || !reflect.DeepEqual(outs[1].GetShape(), []int64{3, 10}) {
		t.Fatalf("outputs %v", outs)
	}
	labels, scores := outs[0].GetContents().GetInt64Contents(), outs[1].GetContents().GetFp64Contents()
	if labels[0] != samples[0].Label {
		t.Errorf("image 0: label %d, want %d", labels[0], samples[0].Label)
	}
	for i := range 3 {
		// Each answer of the batch is the answer to that image alone,
		// sent as [1, 64] (version 1 is a weak model: the batch must
		// match it, not the true digit).
		one := infer(samples[i : i+1])
		if !reflect.DeepEqual(one[0].GetShape(), []int64{1}) || !reflect.DeepEqual(one[1].GetShape(), []int64{1, 10}) {
			t.Errorf("batch of one: shapes %v %v, want [1] [1 10]", one[0].GetShape(), one[1].GetShape())
		}
		if l := one[0].GetContents().GetInt64Contents(); len(l) != 1 || l[0] != labels[i] ||
			!reflect.DeepEqual(one[1].GetContents().GetFp64Contents(), scores[10*i:10*i+10]) {
			t.Errorf("image %d: alone %v %v, in the batch %d %v", i, l, one[1].GetContents().GetFp64Contents(), labels[i], scores[10*i:10*i+10])
		}
		row := scores[10*i : 10*i+10]
		best, sum := 0, 0.0
		for k, p := range row {
			sum += p
			if p > row[best] {
				best = k
			}
		}
		if int64(best) != labels[i] || math.Abs(sum-1) > 1e-9 {
			t.Errorf("image %d: scores %v (argmax %d, sum %v), label %d", i, row, best, sum, labels[i])
		}
	}
	// The statistics count each image of a batch: 3 + 3 alone.
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "authorization", "Bearer "+token)
	st, err := c.ModelStatistics(ctx, &inferencepb.ModelStatisticsRequest{Name: "digits"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.GetModelStats()) != 1 {
		t.Fatalf("statistics %v", st)
	}
	ms := st.GetModelStats()[0]
	if ms.GetName() != "digits" || ms.GetVersion() != "1" || ms.GetInferenceCount() != 6 ||
		ms.GetInferenceStats().GetSuccess().GetCount() != 6 || ms.GetInferenceStats().GetFail().GetCount() != 0 ||
		ms.GetExecutionCount() != 6 || ms.GetLastInference() == 0 ||
		ms.GetInferenceStats().GetSuccess().GetNs() == 0 {
		t.Errorf("statistics %v", ms)
	}

	// Wrong shapes and the classification extension are refused.
	bad := &inferencepb.ModelInferRequest{ModelName: "digits", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		{Name: "pixels", Datatype: "FP32", Shape: []int64{1, 63}},
	}, RawInputContents: [][]byte{make([]byte, 4*63)}}
	if _, err := c.ModelInfer(ctxT(t), bad); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "has shape [1 63]; the model takes [N 64]") {
		t.Errorf("[1, 63]: %v", err)
	}
	cls := &inferencepb.ModelInferRequest{
		ModelName:        "digits",
		Inputs:           []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{1, 64}}},
		RawInputContents: [][]byte{fp32Images(samples[:1])},
		Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "scores", Parameters: map[string]*inferencepb.InferParameter{
			"classification": {ParameterChoice: &inferencepb.InferParameter_Int64Param{Int64Param: 3}},
		}}},
	}
	if _, err := c.ModelInfer(ctxT(t), cls); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "class_count") {
		t.Errorf("class_count: %v, want InvalidArgument", err)
	}
}

// simpleModel is Triton's "simple" example model in Go: INPUT0 and INPUT1,
// 16 INT32 each, batched; it answers their sum as the label and their
// difference as the scores.
type simpleModel struct{}

func (simpleModel) Load(context.Context, string) error { return nil }

func (simpleModel) Predict(_ context.Context, in predict.Value, _ predict.Option) (predict.Result, error) {
	a, okA := in.Tensor("INPUT0")
	b, okB := in.Tensor("INPUT1")
	if in.Kind() != predict.KindTensors || !okA || !okB || a.Value.Len() != 16 || b.Value.Len() != 16 {
		return predict.Result{}, predict.InvalidArgument("want INPUT0 and INPUT1 of 16 ints, got %s", in.Kind())
	}
	sum := make([]int64, 16)
	diff := make([]float64, 16)
	for i := range sum {
		sum[i] = a.Value.Ints()[i] + b.Value.Ints()[i]
		diff[i] = float64(a.Value.Ints()[i] - b.Value.Ints()[i])
	}
	return predict.Result{Label: predict.Ints(sum...), Scores: diff}, nil
}

func (simpleModel) Signature() predict.Signature {
	return predict.Signature{
		Inputs: []predict.TensorSpec{
			{Name: "INPUT0", Datatype: "INT32", Shape: []int64{16}},
			{Name: "INPUT1", Datatype: "INT32", Shape: []int64{16}},
		},
		Outputs: []predict.TensorSpec{
			{Name: "label", Datatype: "INT32", Shape: []int64{16}},
			{Name: "scores", Datatype: "FP32", Shape: []int64{16}},
		},
		MaxBatchSize: 8,
	}
}

func TestTritonClientTwoInputs(t *testing.T) {
	s := servingtest.StartReady(t, func() predict.Predictor { return simpleModel{} }, modelstore.NewStatic("simple", t.TempDir()))
	c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
	var in0, in1 []byte
	for i := range 16 {
		in0 = binary.LittleEndian.AppendUint32(in0, uint32(int32(i)))
		in1 = binary.LittleEndian.AppendUint32(in1, uint32(int32(1)))
	}
	// Triton's simple client sends INPUT0 and INPUT1 as [1, 16] INT32, raw.
	resp, err := c.ModelInfer(ctxT(t), &inferencepb.ModelInferRequest{
		ModelName: "simple",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: "INT32", Shape: []int64{1, 16}},
			{Name: "INPUT1", Datatype: "INT32", Shape: []int64{1, 16}},
		},
		RawInputContents: [][]byte{in0, in1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetOutputs()) != 2 {
		t.Fatalf("outputs %v", resp.GetOutputs())
	}
	// INT32 raw: 4 bytes each, as declared.
	sum, diff := resp.GetRawOutputContents()[0], resp.GetRawOutputContents()[1]
	if o := resp.GetOutputs()[0]; o.GetDatatype() != "INT32" || !reflect.DeepEqual(o.GetShape(), []int64{1, 16}) || len(sum) != 64 {
		t.Fatalf("label %v, %d raw bytes", o, len(sum))
	}
	if o := resp.GetOutputs()[1]; o.GetDatatype() != "FP32" || !reflect.DeepEqual(o.GetShape(), []int64{1, 16}) || len(diff) != 64 {
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
	// A missing input is refused with the names the model takes.
	_, err = c.ModelInfer(ctxT(t), &inferencepb.ModelInferRequest{
		ModelName:        "simple",
		Inputs:           []*inferencepb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "INT32", Shape: []int64{1, 16}}},
		RawInputContents: [][]byte{in0},
	})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "INPUT0, INPUT1") {
		t.Errorf("one input of two: %v", err)
	}
}

// batchSimple is simpleModel with PredictBatch, counting its calls.
type batchSimple struct {
	simpleModel
	calls *atomic.Int64
	sizes chan int
}

func (b batchSimple) PredictBatch(ctx context.Context, reqs []predict.Request) ([]predict.Result, error) {
	b.calls.Add(1)
	select {
	case b.sizes <- len(reqs):
	default:
	}
	out := make([]predict.Result, len(reqs))
	for i, r := range reqs {
		res, err := b.Predict(ctx, r.Input, r.Option)
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// TestTritonBatchReachesPredictBatch sends a [3, 16] batch to a
// BatchPredictor: with batching off it gets the three items in one
// PredictBatch call; with batching on they go through the batcher, which
// calls PredictBatch too. Either way the answers come back in order.
func TestTritonBatchReachesPredictBatch(t *testing.T) {
	for _, batching := range []bool{false, true} {
		var calls atomic.Int64
		sizes := make(chan int, 16)
		var opts []serving.ServerOption
		if batching {
			opts = append(opts, serving.WithBatching(serving.BatchConfig{MaxBatchSize: 8, MaxDelay: 50 * time.Millisecond, Slots: 1}))
		}
		s := servingtest.StartReady(t, func() predict.Predictor { return batchSimple{calls: &calls, sizes: sizes} },
			modelstore.NewStatic("simple", t.TempDir()), opts...)
		c := inferencepb.NewGRPCInferenceServiceClient(s.Conn)
		var in0, in1 []byte
		for row := range 3 {
			for i := range 16 {
				in0 = binary.LittleEndian.AppendUint32(in0, uint32(int32(100*row+i)))
				in1 = binary.LittleEndian.AppendUint32(in1, uint32(int32(row)))
			}
		}
		resp, err := c.ModelInfer(ctxT(t), &inferencepb.ModelInferRequest{
			ModelName: "simple",
			Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
				{Name: "INPUT0", Datatype: "INT32", Shape: []int64{3, 16}},
				{Name: "INPUT1", Datatype: "INT32", Shape: []int64{3, 16}},
			},
			RawInputContents: [][]byte{in0, in1},
		})
		if err != nil {
			t.Fatal(err)
		}
		if o := resp.GetOutputs()[0]; !reflect.DeepEqual(o.GetShape(), []int64{3, 16}) {
			t.Fatalf("batching %v: label shape %v", batching, o.GetShape())
		}
		sum := resp.GetRawOutputContents()[0]
		for row := range 3 {
			for i := range 16 {
				if got := int32(binary.LittleEndian.Uint32(sum[4*(16*row+i):])); got != int32(101*row+i) {
					t.Fatalf("batching %v: row %d element %d = %d, want %d", batching, row, i, got, 101*row+i)
				}
			}
		}
		if n := calls.Load(); n < 1 || (!batching && n != 1) {
			t.Errorf("batching %v: %d PredictBatch calls", batching, n)
		}
		if !batching {
			if got := <-sizes; got != 3 {
				t.Errorf("PredictBatch got %d items, want 3", got)
			}
		}
	}
}
