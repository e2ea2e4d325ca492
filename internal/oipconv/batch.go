package oipconv

import (
	"fmt"
	"slices"
	"strings"

	"github.com/swapwire/swapwire/predict"
)

// ModelInputs turns a decoded request into the values a model receives,
// following its signature (hasSig false: none was declared):
//
//   - Inputs are matched to the signature's by name, and each input's shape
//     must fit its declared one (a -1 dimension takes any size). Without a
//     signature any names are taken.
//   - One input gives its value; several give a [predict.KindTensors] value
//     (the signature's order, else the request's) with each tensor's shape.
//   - With a signature whose MaxBatchSize is positive, every input's first
//     dimension is the batch: all must agree on N (1 <= N <= MaxBatchSize),
//     and the request becomes N values, item i holding row i of every input
//     (a BYTES row of one element is text). batch is then N; otherwise 0 and
//     there is one value.
func ModelInputs(r Request, sig predict.Signature, hasSig bool) (values []predict.Value, batch int, err error) {
	ins := r.Inputs
	if hasSig && len(sig.Inputs) > 0 {
		if ins, err = matchSignature(ins, sig.Inputs); err != nil {
			return nil, 0, err
		}
	}
	if !hasSig || sig.MaxBatchSize <= 0 {
		if hasSig {
			for i, in := range ins {
				if i < len(sig.Inputs) {
					if err := checkShape(in.Name, in.Shape, in.Shape, sig.Inputs[i].Shape, false); err != nil {
						return nil, 0, err
					}
				}
			}
		}
		return []predict.Value{joinInputs(ins, func(in Input) ([]int64, predict.Value) { return in.Shape, in.Value })}, 0, nil
	}
	n := int64(-1)
	for _, in := range ins {
		if len(in.Shape) == 0 {
			return nil, 0, predict.InvalidArgument("input %q has shape [], but the model takes a batch: want [N, ...]", in.Name)
		}
		if n >= 0 && in.Shape[0] != n {
			return nil, 0, predict.InvalidArgument("inputs disagree on the batch size: %q has %d, another %d", in.Name, in.Shape[0], n)
		}
		n = in.Shape[0]
	}
	if n < 1 || n > int64(sig.MaxBatchSize) {
		return nil, 0, predict.InvalidArgument("batch size %d: this model takes 1 to %d", n, sig.MaxBatchSize)
	}
	rows := make([][]predict.Value, len(ins))
	for i, in := range ins {
		if i < len(sig.Inputs) {
			if err := checkShape(in.Name, in.Shape[1:], in.Shape, sig.Inputs[i].Shape, true); err != nil {
				return nil, 0, err
			}
		}
		if rows[i], err = splitRows(in, int(n)); err != nil {
			return nil, 0, err
		}
	}
	values = make([]predict.Value, n)
	for item := range values {
		k := 0
		values[item] = joinInputs(ins, func(in Input) ([]int64, predict.Value) {
			v := rows[k][item]
			k++
			return in.Shape[1:], v
		})
	}
	return values, int(n), nil
}

// joinInputs returns the value of one input, or the named tensors of
// several, taking each input's shape and value from part.
func joinInputs(ins []Input, part func(Input) ([]int64, predict.Value)) predict.Value {
	if len(ins) == 1 {
		_, v := part(ins[0])
		return v
	}
	ts := make([]predict.Tensor, len(ins))
	for i, in := range ins {
		shape, v := part(in)
		ts[i] = predict.Tensor{Name: in.Name, Shape: shape, Value: v}
	}
	return predict.Tensors(ts...)
}

// matchSignature orders the request's inputs as the signature declares them.
func matchSignature(ins []Input, specs []predict.TensorSpec) ([]Input, error) {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	if len(ins) != len(specs) {
		return nil, predict.InvalidArgument("request has %d inputs; the model takes %d: %s", len(ins), len(specs), strings.Join(names, ", "))
	}
	out := make([]Input, len(specs))
	for _, in := range ins {
		i := slices.Index(names, in.Name)
		if i < 0 {
			return nil, predict.InvalidArgument("unknown input %q; the model takes %s", in.Name, strings.Join(names, ", "))
		}
		out[i] = in
	}
	return out, nil
}

// checkShape checks a shape (got: without the batch dimension; full: as
// sent) against a declared one; a nil declared shape takes any.
func checkShape(name string, got, full, want []int64, batched bool) error {
	if want == nil {
		return nil
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == got[i]
	}
	if !ok {
		takes := fmt.Sprint(want)
		if batched {
			takes = strings.Replace(fmt.Sprint(append([]int64{0}, want...)), "0", "N", 1)
		}
		return predict.InvalidArgument("input %q has shape %v; the model takes %s (-1 is any size)", name, full, takes)
	}
	return nil
}

// splitRows splits an input's flat elements into n equal rows.
func splitRows(in Input, n int) ([]predict.Value, error) {
	v := in.Value
	total := v.Len()
	switch v.Kind() {
	case predict.KindText:
		total = 1
	case predict.KindBytes:
		if n != 1 {
			return nil, predict.InvalidArgument("input %q: content_type %q takes one element, not a batch of %d", in.Name, ContentTypeBytes, n)
		}
		return []predict.Value{v}, nil
	}
	if total%n != 0 {
		return nil, predict.InvalidArgument("input %q: %d elements do not split into %d rows", in.Name, total, n)
	}
	per := total / n
	rows := make([]predict.Value, n)
	for i := range rows {
		lo, hi := i*per, (i+1)*per
		switch v.Kind() {
		case predict.KindText:
			rows[i] = v
		case predict.KindInts:
			rows[i] = predict.Ints(v.Ints()[lo:hi:hi]...)
		case predict.KindFloats:
			rows[i] = predict.Floats(v.Floats()[lo:hi:hi]...)
		case predict.KindStrings:
			if per == 1 {
				rows[i] = predict.Text(v.Strings()[lo])
			} else {
				rows[i] = predict.Strings(v.Strings()[lo:hi:hi]...)
			}
		}
	}
	return rows, nil
}
