package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// A small hand-written SVG line-chart writer: the figures need lines, axes,
// a legend and a target line, not a plotting library.

// Point is one (x, y) pair.
type Point struct{ X, Y float64 }

// Series is one named line.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// HLine is a horizontal reference line, such as a target.
type HLine struct {
	Y     float64 `json:"y"`
	Label string  `json:"label"`
}

// Chart is one line chart.
type Chart struct {
	Title  string   `json:"title"`
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
	HLines []HLine  `json:"hlines,omitempty"`
	// YMax fixes the top of the y axis (0: from the data).
	YMax float64 `json:"y_max,omitempty"`
}

const (
	chartW, chartH         = 760, 300
	padL, padR, padT, padB = 70, 20, 40, 50
	legendRowH             = 16
	textStyle              = `font-family="sans-serif" font-size="12"`
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}

// WriteSVG draws the charts one under another, with notes (such as rows not
// measured yet) at the bottom.
func WriteSVG(w io.Writer, charts []Chart, notes []string) error {
	total := len(charts)*(chartH+legendRowH*3) + 30 + legendRowH*len(notes)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", chartW, total, chartW, total)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	y := 0
	for _, c := range charts {
		drawChart(&b, c, y)
		y += chartH + legendRowH*3
	}
	for i, n := range notes {
		fmt.Fprintf(&b, `<text x="10" y="%d" %s fill="#555">%s</text>`+"\n", y+20+i*legendRowH, textStyle, html.EscapeString(n))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func drawChart(b *strings.Builder, c Chart, top int) {
	minX, maxX, maxY := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			minX, maxX, maxY = math.Min(minX, p.X), math.Max(maxX, p.X), math.Max(maxY, p.Y)
		}
	}
	for _, h := range c.HLines {
		maxY = math.Max(maxY, h.Y)
	}
	if math.IsInf(minX, 1) {
		return
	}
	if minX == maxX {
		minX, maxX = minX-1, maxX+1
	}
	if minX > 0 && minX < (maxX-minX) {
		minX = 0 // start at zero unless the data sits far from it
	}
	maxY = niceCeil(maxY * 1.05)
	if c.YMax > 0 {
		maxY = c.YMax
	}
	x0, x1 := float64(padL), float64(chartW-padR)
	y0, y1 := float64(top+chartH-padB), float64(top+padT)
	px := func(x float64) float64 { return x0 + (x-minX)/(maxX-minX)*(x1-x0) }
	py := func(y float64) float64 { return y0 - y/maxY*(y0-y1) }

	fmt.Fprintf(b, `<text x="%d" y="%d" %s font-weight="bold">%s</text>`+"\n", padL, top+20, textStyle, html.EscapeString(c.Title))
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x1, y0)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x0, y0, x0, y1)
	for i := 0; i <= 4; i++ {
		xv, yv := minX+(maxX-minX)*float64(i)/4, maxY*float64(i)/4
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" %s text-anchor="middle">%s</text>`+"\n", px(xv), y0+16, textStyle, tick(xv))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" %s text-anchor="end">%s</text>`+"\n", x0-6, py(yv)+4, textStyle, tick(yv))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x0, py(yv), x1, py(yv))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" %s text-anchor="middle">%s</text>`+"\n", (x0+x1)/2, y0+34, textStyle, html.EscapeString(c.XLabel))
	fmt.Fprintf(b, `<text x="14" y="%.1f" %s text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>`+"\n", (y0+y1)/2, textStyle, (y0+y1)/2, html.EscapeString(c.YLabel))
	for _, h := range c.HLines {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="6 4"/>`+"\n", x0, py(h.Y), x1, py(h.Y))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" %s text-anchor="end" fill="#555">%s</text>`+"\n", x1, py(h.Y)-4, textStyle, html.EscapeString(h.Label))
	}
	for i, s := range c.Series {
		color := palette[i%len(palette)]
		pts := make([]string, len(s.Points))
		for j, p := range s.Points {
			pts[j] = fmt.Sprintf("%.1f,%.1f", px(p.X), py(p.Y))
			if len(s.Points) <= 20 {
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p.X), py(p.Y), color)
			}
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		ly := top + chartH - padB + 44 + i*legendRowH
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/>`+"\n", padL, ly-4, color)
		fmt.Fprintf(b, `<text x="%d" y="%d" %s>%s</text>`+"\n", padL+18, ly, textStyle, html.EscapeString(s.Name))
	}
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
