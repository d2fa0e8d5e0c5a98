package bench

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	xs := make([]time.Duration, 100)
	for i := range xs {
		xs[len(xs)-1-i] = time.Duration(i+1) * time.Millisecond // reversed on purpose
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 95: 95 * time.Millisecond, 100: 100 * time.Millisecond, 1: time.Millisecond} {
		if got := percentile(xs, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 95) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestParallelRunsEveryIndexOnce(t *testing.T) {
	var seen [1000]atomic.Int32
	if err := parallel(context.Background(), len(seen), 7, func(i int) error { seen[i].Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("index %d ran %d times", i, seen[i].Load())
		}
	}
}

func TestSVGHasEveryChartSeriesAndNote(t *testing.T) {
	var b strings.Builder
	charts := []Chart{{Title: "latency <p95>", XLabel: "orders", YLabel: "s",
		Series: []Series{{Name: "p50", Points: []Point{{100, 0.5}, {500, 0.9}}}, {Name: "p95", Points: []Point{{100, 1}, {500, 2.5}}}},
		HLines: []HLine{{Y: 2, Label: "target"}}}}
	if err := WriteSVG(&b, charts, []string{"sweep: not measured yet"}); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	for _, want := range []string{"<svg", "latency &lt;p95&gt;", ">p50<", ">p95<", ">target<", "sweep: not measured yet", "</svg>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<polyline"); n != 2 {
		t.Errorf("%d lines drawn, want 2", n)
	}
}

func TestAMissedTargetIsReportedAsMissed(t *testing.T) {
	rep := Report{Rows: []Row{
		{Benchmark: "first-RTO", Status: "measured", Figures: []Figure{
			target("claim → CRM 2xx p95", 2.3, "s", "≤ 2 s", false), target("keys", 1, "", "1.00", true), plain("p50", 1, "s")}},
		{Benchmark: "sweep", Status: "not measured yet: needs the sweep"},
	}}
	misses := Misses(rep)
	if len(misses) != 1 || !strings.Contains(misses[0], "2.3 s (target ≤ 2 s)") {
		t.Errorf("misses %q", misses)
	}
	md := Markdown(rep)
	for _, want := range []string{"| **NO** |", "| yes |", "not measured yet: needs the sweep"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

func TestParseSizes(t *testing.T) {
	if got, err := ParseSizes("1000, 5000"); err != nil || len(got) != 2 || got[0] != 1000 || got[1] != 5000 {
		t.Errorf("ParseSizes = %v, %v", got, err)
	}
	if got, err := ParseSizes(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"x", "10", "1000,"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
