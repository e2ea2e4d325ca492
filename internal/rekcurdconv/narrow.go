package rekcurdconv

import (
	"math"

	"github.com/swapwire/swapwire/predict"
)

// Int32s narrows v to int32. An element outside the int32 range fails with
// InvalidArgument naming its index and value; nothing wraps around.
func Int32s(v []int64) ([]int32, error) {
	out := make([]int32, len(v))
	for i, x := range v {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, predict.InvalidArgument("element %d (%d) does not fit in int32", i, x)
		}
		out[i] = int32(x)
	}
	return out, nil
}

// Float32 narrows x to float32, rounding to the nearest float32. A finite x
// whose magnitude exceeds math.MaxFloat32 fails with InvalidArgument rather
// than becoming an infinity. NaN and the infinities are representable in
// float32 and pass through unchanged; values too small for float32 round
// towards zero as IEEE 754 prescribes.
func Float32(x float64) (float32, error) {
	if !math.IsInf(x, 0) && math.Abs(x) > math.MaxFloat32 {
		return 0, predict.InvalidArgument("%g does not fit in float32", x)
	}
	return float32(x), nil
}

// Float32s narrows v to float32 element by element as [Float32] does; the
// error names the index of the first element that does not fit.
func Float32s(v []float64) ([]float32, error) {
	out := make([]float32, len(v))
	for i, x := range v {
		f, err := Float32(x)
		if err != nil {
			return nil, predict.InvalidArgument("element %d (%g) does not fit in float32", i, x)
		}
		out[i] = f
	}
	return out, nil
}

// Int64s widens v to int64; it never fails.
func Int64s(v []int32) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// Float64s widens v to float64 exactly; it never fails.
func Float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
