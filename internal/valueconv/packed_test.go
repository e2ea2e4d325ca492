package valueconv

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/swapwire/swapwire/predict"
	swapwirev1 "github.com/swapwire/swapwire/proto/swapwire/v1"
	workerv1 "github.com/swapwire/swapwire/proto/swapwire/worker/v1"
)

func intsItem(v ...int64) *workerv1.PredictRequest {
	return &workerv1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: v}}}}
}

func floatsItem(v ...float64) *workerv1.PredictRequest {
	return &workerv1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: v}}}}
}

func TestPackInputs(t *testing.T) {
	got := PackInputs([]*workerv1.PredictRequest{intsItem(1, 2), intsItem(3, 4), intsItem(5, 6)})
	want := &workerv1.PackedInputs{Count: 3, Values: &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{1, 2, 3, 4, 5, 6}}}}}
	if !proto.Equal(got, want) {
		t.Errorf("ints: %v, want %v", got, want)
	}
	got = PackInputs([]*workerv1.PredictRequest{floatsItem(0.5), floatsItem(-1)})
	want = &workerv1.PackedInputs{Count: 2, Values: &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: []float64{0.5, -1}}}}}
	if !proto.Equal(got, want) {
		t.Errorf("floats: %v, want %v", got, want)
	}

	withOption := intsItem(3, 4)
	withOption.Option = &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewNumberValue(1)}}
	text := &workerv1.PredictRequest{Input: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "a"}}}
	tensors := &workerv1.PredictRequest{Inputs: []*workerv1.Tensor{{Name: "x", Value: intsItem(1).GetInput()}}}
	for name, items := range map[string][]*workerv1.PredictRequest{
		"no items":        nil,
		"two lengths":     {intsItem(1, 2), intsItem(3)},
		"two kinds":       {intsItem(1), floatsItem(1)},
		"floats then int": {floatsItem(1), intsItem(1)},
		"an option":       {intsItem(1, 2), withOption},
		"text":            {text, text},
		"named inputs":    {tensors},
	} {
		if got := PackInputs(items); got != nil {
			t.Errorf("%s: packed %v, want nil", name, got)
		}
	}
}

func TestResultsFromPacked(t *testing.T) {
	p := &workerv1.PackedResults{
		Labels:     &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{7, 3}}}},
		Scores:     []float64{0.1, 0.9, 0.8, 0.2},
		ScoreWidth: 2,
	}
	got, err := ResultsFromPacked(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []predict.Result{
		{Label: predict.Ints(7), Scores: []float64{0.1, 0.9}},
		{Label: predict.Ints(3), Scores: []float64{0.8, 0.2}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// One item's slices cannot grow into the next item's.
	if cap(got[0].Scores) != 2 || cap(got[0].Label.Ints()) != 1 {
		t.Errorf("caps %d and %d; want 2 and 1", cap(got[0].Scores), cap(got[0].Label.Ints()))
	}

	strs, err := ResultsFromPacked(&workerv1.PackedResults{Labels: &swapwirev1.Value{Kind: &swapwirev1.Value_Strings{Strings: &swapwirev1.StringArray{Values: []string{"cat", "dog"}}}}}, 2)
	if err != nil || !reflect.DeepEqual(strs, []predict.Result{{Label: predict.Text("cat")}, {Label: predict.Text("dog")}}) {
		t.Errorf("string labels: %+v, %v", strs, err)
	}
	floats, err := ResultsFromPacked(&workerv1.PackedResults{Labels: &swapwirev1.Value{Kind: &swapwirev1.Value_Floats{Floats: &swapwirev1.DoubleArray{Values: []float64{2.5}}}}, Scores: []float64{1}, ScoreWidth: 1}, 1)
	if err != nil || !reflect.DeepEqual(floats, []predict.Result{{Label: predict.Floats(2.5), Scores: []float64{1}}}) {
		t.Errorf("float labels: %+v, %v", floats, err)
	}

	ints := func(v ...int64) *swapwirev1.Value {
		return &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: v}}}
	}
	for name, tc := range map[string]struct {
		p *workerv1.PackedResults
		n int
	}{
		"nil":                    {nil, 1},
		"no labels":              {&workerv1.PackedResults{}, 1},
		"text labels":            {&workerv1.PackedResults{Labels: &swapwirev1.Value{Kind: &swapwirev1.Value_Text{Text: "a"}}}, 1},
		"too few labels":         {&workerv1.PackedResults{Labels: ints(1)}, 2},
		"too many labels":        {&workerv1.PackedResults{Labels: ints(1, 2, 3)}, 2},
		"scores without a width": {&workerv1.PackedResults{Labels: ints(1), Scores: []float64{1}}, 1},
		"a negative width":       {&workerv1.PackedResults{Labels: ints(1), ScoreWidth: -1}, 1},
		"scores short":           {&workerv1.PackedResults{Labels: ints(1, 2), Scores: []float64{1, 2, 3}, ScoreWidth: 2}, 2},
		"scores long":            {&workerv1.PackedResults{Labels: ints(1), Scores: []float64{1, 2, 3, 4}, ScoreWidth: 2}, 1},
	} {
		if got, err := ResultsFromPacked(tc.p, tc.n); err == nil {
			t.Errorf("%s: %+v, want an error", name, got)
		}
	}
}

// FuzzResultsFromPacked checks that any packed answer a worker may send
// either fails or gives exactly n results, each with score_width scores
// taken in order.
func FuzzResultsFromPacked(f *testing.F) {
	seed, _ := proto.Marshal(&workerv1.PackedResults{
		Labels:     &swapwirev1.Value{Kind: &swapwirev1.Value_Ints{Ints: &swapwirev1.Int64Array{Values: []int64{7, 3}}}},
		Scores:     []float64{0.1, 0.9, 0.8, 0.2},
		ScoreWidth: 2,
	})
	f.Add(seed, 2)
	f.Add(seed, 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		var p workerv1.PackedResults
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		got, err := ResultsFromPacked(&p, n)
		if err != nil {
			return
		}
		if len(got) != n {
			t.Fatalf("%d results for %d items", len(got), n)
		}
		w := int(p.GetScoreWidth())
		for i, r := range got {
			if r.Label.Kind() == predict.KindNone {
				t.Fatalf("item %d has no label", i)
			}
			if len(r.Scores) != w && !(w == 0 && r.Scores == nil) {
				t.Fatalf("item %d: %d scores, width %d", i, len(r.Scores), w)
			}
			for j, s := range r.Scores {
				if want := p.GetScores()[i*w+j]; s != want && s == s {
					t.Fatalf("item %d score %d = %v, want %v", i, j, s, want)
				}
			}
		}
	})
}
