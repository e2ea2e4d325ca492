// Package chart writes simple line charts as SVG, with no dependency: the
// latency-versus-throughput figure of docs/benchmarks.md.
package chart

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Point is one measurement.
type Point struct {
	X, Y  float64
	Label string // drawn next to the point, such as "c=16"; may be empty
}

// Series is one line of points, drawn in order.
type Series struct {
	Name   string
	Points []Point
	Dashed bool
	Color  string // an SVG color; empty picks one from the palette by position
}

// Panel is one chart: axes, a title and some series.
type Panel struct {
	Title  string
	XLabel string
	YLabel string
	LogY   bool // a logarithmic y axis (base 10)
	Series []Series
}

// Geometry of one panel, in SVG user units.
const (
	width   = 760
	height  = 340
	padL    = 70
	padR    = 190 // room for the legend
	padT    = 36
	padB    = 48
	plotW   = width - padL - padR
	plotH   = height - padT - padB
	gapBelo = 16
)

// Palette is the default series colors, in order.
var Palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// Write renders the panels one below the other as one SVG document.
func Write(w io.Writer, panels ...Panel) error {
	var b strings.Builder
	total := len(panels)*(height+gapBelo) + gapBelo
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, total, width, total)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, total)
	for i, p := range panels {
		fmt.Fprintf(&b, `<g transform="translate(0,%d)">`+"\n", gapBelo+i*(height+gapBelo))
		p.render(&b)
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (p Panel) render(b *strings.Builder) {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if p.LogY && pt.Y <= 0 {
				continue
			}
			xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, pt.Y), math.Max(ymax, pt.Y)
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax, ymin, ymax = 0, 1, 1, 10
	}
	xmin = 0
	xmax = niceCeil(xmax * 1.05)
	var yticks []float64
	if p.LogY {
		lo, hi := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
		if hi <= lo {
			hi = lo + 1
		}
		ymin, ymax = math.Pow(10, lo), math.Pow(10, hi)
		for e := lo; e <= hi; e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); v <= ymax*1.0001 {
					yticks = append(yticks, v)
				}
			}
		}
	} else {
		ymin = 0
		ymax = niceCeil(ymax * 1.05)
		yticks = linTicks(ymax)
	}
	sx := func(x float64) float64 { return padL + (x-xmin)/(xmax-xmin)*plotW }
	sy := func(y float64) float64 {
		if p.LogY {
			return padT + plotH - (math.Log10(y)-math.Log10(ymin))/(math.Log10(ymax)-math.Log10(ymin))*plotH
		}
		return padT + plotH - (y-ymin)/(ymax-ymin)*plotH
	}

	fmt.Fprintf(b, `<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", padL, esc(p.Title))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>`+"\n", padL, padT, plotW, plotH)
	for _, t := range linTicks(xmax) {
		x := sx(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`, x, padT, x, padT+plotH)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, padT+plotH+16, fmtNum(t))
	}
	for _, t := range yticks {
		y := sy(t)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y+4, fmtNum(t))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", padL+plotW/2, padT+plotH+36, esc(p.XLabel))
	fmt.Fprintf(b, `<text transform="translate(16,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, esc(p.YLabel))

	for i, s := range p.Series {
		color := s.Color
		if color == "" {
			color = Palette[i%len(Palette)]
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6,4"`
		}
		var pts []string
		for _, pt := range s.Points {
			if p.LogY && pt.Y <= 0 {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(pt.X), sy(pt.Y)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), color, dash)
		}
		for _, pt := range s.Points {
			if p.LogY && pt.Y <= 0 {
				continue
			}
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s req/s, %s</title></circle>`,
				sx(pt.X), sy(pt.Y), color, esc(s.Name), fmtNum(pt.X), fmtNum(pt.Y))
			if pt.Label != "" {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s">%s</text>`, sx(pt.X)+5, sy(pt.Y)-5, color, esc(pt.Label))
			}
			b.WriteString("\n")
		}
		ly := padT + 10 + i*18
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`, padL+plotW+12, ly, padL+plotW+36, ly, color, dash)
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", padL+plotW+42, ly+4, esc(s.Name))
	}
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

// linTicks returns about five round ticks from 0 to max.
func linTicks(maxV float64) []float64 {
	step := niceCeil(maxV / 5)
	var t []float64
	for v := 0.0; v <= maxV*1.0001; v += step {
		t = append(t, v)
	}
	return t
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	case math.Abs(v) >= 1000 && math.Mod(v, 1000) == 0:
		return fmt.Sprintf("%.0fk", v/1000)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	default:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
}

func esc(s string) string { return html.EscapeString(s) }
