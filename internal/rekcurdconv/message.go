package rekcurdconv

import (
	"math"

	"github.com/swapwire/swapwire/predict"
	rekcurdpb "github.com/swapwire/swapwire/proto/rekcurd"
)

// FromStringInput returns the value and option of a StringInput.
func FromStringInput(m *rekcurdpb.StringInput) (predict.Value, predict.Option, error) {
	opt, err := ParseOption(m.GetOption().GetVal())
	if err != nil {
		return predict.Value{}, nil, err
	}
	return predict.Text(m.GetInput()), opt, nil
}

// FromArrIntInput returns the value (ints, widened to int64) and option of
// an ArrIntInput.
func FromArrIntInput(m *rekcurdpb.ArrIntInput) (predict.Value, predict.Option, error) {
	opt, err := ParseOption(m.GetOption().GetVal())
	if err != nil {
		return predict.Value{}, nil, err
	}
	return predict.Ints(Int64s(m.GetInput())...), opt, nil
}

// FromArrFloatInput returns the value (floats, widened to float64) and
// option of an ArrFloatInput.
func FromArrFloatInput(m *rekcurdpb.ArrFloatInput) (predict.Value, predict.Option, error) {
	opt, err := ParseOption(m.GetOption().GetVal())
	if err != nil {
		return predict.Value{}, nil, err
	}
	return predict.Floats(Float64s(m.GetInput())...), opt, nil
}

// FromArrStringInput returns the value and option of an ArrStringInput.
func FromArrStringInput(m *rekcurdpb.ArrStringInput) (predict.Value, predict.Option, error) {
	opt, err := ParseOption(m.GetOption().GetVal())
	if err != nil {
		return predict.Value{}, nil, err
	}
	return predict.Strings(m.GetInput()...), opt, nil
}

// JoinBytesInput returns the value and option of a client-streamed bytes
// input: the chunks' bytes concatenated in order. The option is taken from
// the chunks that carry a non-empty one (the Rekcurd client sends it on
// every chunk); chunks that disagree fail with InvalidArgument. No chunks
// at all fail with InvalidArgument too. The caller bounds the total size
// while receiving.
func JoinBytesInput(chunks []*rekcurdpb.BytesInput) (predict.Value, predict.Option, error) {
	if len(chunks) == 0 {
		return predict.Value{}, nil, predict.InvalidArgument("bytes input stream ended before its first message")
	}
	var (
		size int
		text string
	)
	for i, c := range chunks {
		size += len(c.GetInput())
		v := c.GetOption().GetVal()
		switch {
		case v == "":
		case text == "":
			text = v
		case v != text:
			return predict.Value{}, nil, predict.InvalidArgument("bytes input message %d has an option different from an earlier message", i)
		}
	}
	data := make([]byte, 0, size)
	for _, c := range chunks {
		data = append(data, c.GetInput()...)
	}
	opt, err := ParseOption(text)
	if err != nil {
		return predict.Value{}, nil, err
	}
	return predict.Bytes(data), opt, nil
}

// Score returns the single score of a String or Bytes output: 0 without
// scores, else the largest score (a classifier's confidence in its label),
// NaN only when every score is NaN, narrowed as [Float32] does.
func Score(scores []float64) (float32, error) {
	if len(scores) == 0 {
		return 0, nil
	}
	best := scores[0]
	for _, s := range scores[1:] {
		if s > best || math.IsNaN(best) {
			best = s
		}
	}
	f, err := Float32(best)
	if err != nil {
		return 0, predict.InvalidArgument("model score %g does not fit in float32", best)
	}
	return f, nil
}

// Scores narrows the scores of an array output to float32 (see [Float32s]).
func Scores(scores []float64) ([]float32, error) {
	out, err := Float32s(scores)
	if err != nil {
		return nil, predict.InvalidArgument("model scores: %v", err)
	}
	return out, nil
}

func option(opt predict.Option) (*rekcurdpb.Option, error) {
	text, err := FormatOption(opt)
	if err != nil {
		return nil, err
	}
	return &rekcurdpb.Option{Val: text}, nil
}

// output converts a result's label, scores and option with the given
// converters and builds a reply from them.
func output[L, S, M any](r predict.Result, method string,
	label func(predict.Value, string) (L, error), score func([]float64) (S, error),
	build func(L, S, *rekcurdpb.Option) M) (m M, err error) {
	l, err := label(r.Label, method)
	if err != nil {
		return m, err
	}
	sc, err := score(r.Scores)
	if err != nil {
		return m, err
	}
	opt, err := option(r.Option)
	if err != nil {
		return m, err
	}
	return build(l, sc, opt), nil
}

// ToStringOutput builds the reply of a method whose output form is String
// from a model's result; method names it in error messages.
func ToStringOutput(r predict.Result, method string) (*rekcurdpb.StringOutput, error) {
	return output(r, method, StringLabel, Score, func(l string, s float32, o *rekcurdpb.Option) *rekcurdpb.StringOutput {
		return &rekcurdpb.StringOutput{Output: l, Score: s, Option: o}
	})
}

// ToBytesOutput builds the reply of a method whose output form is Bytes. It
// is one message; the server sends it as the only message of its stream,
// as Rekcurd's own server does.
func ToBytesOutput(r predict.Result, method string) (*rekcurdpb.BytesOutput, error) {
	return output(r, method, BytesLabel, Score, func(l []byte, s float32, o *rekcurdpb.Option) *rekcurdpb.BytesOutput {
		return &rekcurdpb.BytesOutput{Output: l, Score: s, Option: o}
	})
}

// ToArrIntOutput builds the reply of a method whose output form is ArrInt.
func ToArrIntOutput(r predict.Result, method string) (*rekcurdpb.ArrIntOutput, error) {
	return output(r, method, ArrIntLabel, Scores, func(l []int32, s []float32, o *rekcurdpb.Option) *rekcurdpb.ArrIntOutput {
		return &rekcurdpb.ArrIntOutput{Output: l, Score: s, Option: o}
	})
}

// ToArrFloatOutput builds the reply of a method whose output form is
// ArrFloat.
func ToArrFloatOutput(r predict.Result, method string) (*rekcurdpb.ArrFloatOutput, error) {
	return output(r, method, ArrFloatLabel, Scores, func(l []float32, s []float32, o *rekcurdpb.Option) *rekcurdpb.ArrFloatOutput {
		return &rekcurdpb.ArrFloatOutput{Output: l, Score: s, Option: o}
	})
}

// ToArrStringOutput builds the reply of a method whose output form is
// ArrString.
func ToArrStringOutput(r predict.Result, method string) (*rekcurdpb.ArrStringOutput, error) {
	return output(r, method, ArrStringLabel, Scores, func(l []string, s []float32, o *rekcurdpb.Option) *rekcurdpb.ArrStringOutput {
		return &rekcurdpb.ArrStringOutput{Output: l, Score: s, Option: o}
	})
}
