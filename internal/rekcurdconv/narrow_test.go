package rekcurdconv

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/swapwire/swapwire/predict"
)

func TestInt32s(t *testing.T) {
	got, err := Int32s([]int64{0, -1, math.MaxInt32, math.MinInt32})
	if err != nil || !reflect.DeepEqual(got, []int32{0, -1, math.MaxInt32, math.MinInt32}) {
		t.Fatalf("Int32s = %v, %v", got, err)
	}
	for _, tt := range []struct {
		in  []int64
		msg string
	}{
		{[]int64{1, math.MaxInt32 + 1}, "element 1 (2147483648)"},
		{[]int64{math.MinInt32 - 1}, "element 0 (-2147483649)"},
		{[]int64{math.MaxInt64}, "element 0 (9223372036854775807)"},
	} {
		got, err := Int32s(tt.in)
		if err == nil || predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Int32s(%v) = %v, %v; want InvalidArgument with %q", tt.in, got, err, tt.msg)
		}
	}
	if got, err := Int32s(nil); err != nil || len(got) != 0 {
		t.Errorf("Int32s(nil) = %v, %v", got, err)
	}
}

func TestFloat32(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want float32
	}{
		{0, 0},
		{1.5, 1.5},
		{0.1, 0.1},
		{math.MaxFloat32, math.MaxFloat32},
		{-math.MaxFloat32, -math.MaxFloat32},
		{1e-50, 0},
		{math.Inf(1), float32(math.Inf(1))},
		{math.Inf(-1), float32(math.Inf(-1))},
	} {
		got, err := Float32(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Float32(%g) = %g, %v; want %g", tt.in, got, err, tt.want)
		}
	}
	if got, err := Float32(math.NaN()); err != nil || !math.IsNaN(float64(got)) {
		t.Errorf("Float32(NaN) = %g, %v; want NaN", got, err)
	}
	for _, x := range []float64{1e39, -1e39, math.MaxFloat64, math.Nextafter(math.MaxFloat32, math.Inf(1))} {
		if got, err := Float32(x); err == nil || predict.CodeOf(err) != codes.InvalidArgument {
			t.Errorf("Float32(%g) = %g, %v; want InvalidArgument", x, got, err)
		}
	}
}

func TestFloat32s(t *testing.T) {
	got, err := Float32s([]float64{1, -2.5, 3e38})
	if err != nil || !reflect.DeepEqual(got, []float32{1, -2.5, 3e38}) {
		t.Fatalf("Float32s = %v, %v", got, err)
	}
	got, err = Float32s([]float64{1, 2, -4e38})
	if err == nil || predict.CodeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "element 2 (-4e+38)") {
		t.Fatalf("Float32s overflow = %v, %v", got, err)
	}
}

func TestWiden(t *testing.T) {
	if got := Int64s([]int32{math.MinInt32, 7}); !reflect.DeepEqual(got, []int64{math.MinInt32, 7}) {
		t.Errorf("Int64s = %v", got)
	}
	if got := Float64s([]float32{0.1, -3}); !reflect.DeepEqual(got, []float64{float64(float32(0.1)), -3}) {
		t.Errorf("Float64s = %v", got)
	}
}
