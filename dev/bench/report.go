package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Markdown renders the report as the README's table: one line per figure,
// machine-independent counts first within each row.
func Markdown(rep Report) string {
	var b strings.Builder
	m := rep.Machine
	mode := "full"
	if rep.Short {
		mode = "-short"
	}
	fmt.Fprintf(&b, "Measured %s (%s run, %.0f s) on %d × %s, %d MB RAM, %s, %s; store: %s. Load average %.2f at start, %.2f at end.\n\n",
		rep.StartedAt.Format("2006-01-02 15:04 MST"), mode, rep.WallSeconds, m.CPUs, m.CPUModel, m.MemoryMB, m.OS, m.GoVersion, rep.Store, m.Load1, rep.Load1AtEnd)
	b.WriteString("| benchmark | figure | value | target | met |\n|---|---|---|---|---|\n")
	for _, r := range rep.Rows {
		if len(r.Figures) == 0 {
			fmt.Fprintf(&b, "| %s | — | %s | | |\n", r.Benchmark, r.Status)
			continue
		}
		for i, f := range r.Figures {
			name := ""
			if i == 0 {
				name = r.Benchmark
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, f.Name, value(f), f.Target, verdict(f))
		}
	}
	return b.String()
}

func value(f Figure) string {
	if f.Note != "" {
		return f.Note
	}
	v := fmt.Sprintf("%g", f.Value)
	if f.Unit != "" {
		v += " " + f.Unit
	}
	return v
}

func verdict(f Figure) string {
	switch {
	case f.Met == nil:
		return ""
	case *f.Met:
		return "yes"
	}
	return "**NO**"
}

// Misses lists the figures that missed their targets.
func Misses(rep Report) []string {
	var out []string
	for _, r := range rep.Rows {
		for _, f := range r.Figures {
			if f.Met != nil && !*f.Met {
				out = append(out, fmt.Sprintf("%s: %s = %s (target %s)", r.Benchmark, f.Name, value(f), f.Target))
			}
		}
	}
	return out
}

// WriteResults writes report.json, report.md and figures.svg into dir.
func WriteResults(dir string, rep Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(Markdown(rep)), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "figures.svg"))
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFigures(f, rep)
}

func writeFigures(w io.Writer, rep Report) error {
	var charts []Chart
	var notes []string
	for _, r := range rep.Rows {
		charts = append(charts, r.Charts...)
		if len(r.Figures) == 0 {
			notes = append(notes, r.Benchmark+": "+r.Status)
		}
	}
	m := rep.Machine
	notes = append(notes, fmt.Sprintf("%s, %d × %s, load %.2f→%.2f (shared machine)", rep.StartedAt.Format("2006-01-02 15:04 MST"), m.CPUs, m.CPUModel, m.Load1, rep.Load1AtEnd))
	return WriteSVG(w, charts, notes)
}
