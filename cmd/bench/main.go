// Command bench is `make bench`: it measures orderflow on this machine and
// prints the README's table, writing the same figures as JSON, Markdown and
// an SVG plot under -out. Development only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"orderflow/bench"
)

func main() {
	short := flag.Bool("short", false, "a run under five minutes (smaller bursts, fewer baseline starts)")
	out := flag.String("out", "results/bench", "folder for report.json, report.md and figures.svg (git-ignored)")
	concurrency := flag.Int("concurrency", 8, "clients sending reports and workflow starts at once")
	only := flag.String("only", "", "measure only the rows whose name contains this text")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	rep, err := bench.Run(ctx, bench.Options{Short: *short, Concurrency: *concurrency, Logf: logf, Only: *only})
	if err != nil {
		logf("failed: %v", err)
		os.Exit(1)
	}
	fmt.Println(bench.Markdown(rep))
	dir := filepath.Join(*out, rep.StartedAt.Format("20060102-150405"))
	for _, d := range []string{dir, filepath.Join(*out, "latest")} {
		if err := bench.WriteResults(d, rep); err != nil {
			logf("writing results: %v", err)
			os.Exit(1)
		}
	}
	logf("results in %s (and %s)", dir, filepath.Join(*out, "latest"))
	if misses := bench.Misses(rep); len(misses) > 0 {
		for _, m := range misses {
			logf("target missed: %s", m)
		}
		os.Exit(3)
	}
}
