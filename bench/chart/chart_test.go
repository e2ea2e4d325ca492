package chart

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestWriteIsWellFormedSVG(t *testing.T) {
	var b strings.Builder
	err := Write(&b,
		Panel{Title: "a <b> & c", XLabel: "req/s", YLabel: "ms", LogY: true, Series: []Series{
			{Name: "bare", Points: []Point{{X: 1000, Y: 0.2, Label: "c=1"}, {X: 20000, Y: 3}}},
			{Name: "swapwire", Dashed: true, Points: []Point{{X: 900, Y: 0.25}, {X: 18000, Y: 3.5}}},
		}},
		Panel{Title: "empty"},
	)
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	d := xml.NewDecoder(strings.NewReader(out))
	circles := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v\n%s", err, out)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "circle" {
			circles++
		}
	}
	if circles != 4 {
		t.Errorf("%d points drawn, want 4", circles)
	}
	for _, want := range []string{"a &lt;b&gt; &amp; c", "swapwire", "stroke-dasharray", "c=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{0.7, 1}, {1, 1}, {1.3, 2}, {2.2, 2.5}, {3, 5}, {7, 10}, {12000, 20000}} {
		if got := niceCeil(c.in); got != c.want {
			t.Errorf("niceCeil(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
