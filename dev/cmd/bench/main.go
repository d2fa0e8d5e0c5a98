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

	"orderflow/dev/bench"
)

func main() {
	short := flag.Bool("short", false, "a shorter run: smaller bursts, fleets and loads, fewer baseline starts")
	out := flag.String("out", "results/bench", "folder for report.json, report.md and figures.svg (git-ignored)")
	concurrency := flag.Int("concurrency", 8, "clients sending reports and workflow starts at once")
	only := flag.String("only", "", "measure only the rows whose name contains one of these comma-separated strings (and the baseline)")
	sweepSizes := flag.String("sweep-sizes", "", "comma-separated fleet sizes of the sweep-cost row (default 1000,10000,50000; -short 1000,2500)")
	cpuProfile := flag.String("cpuprofile", "", "folder for a Go CPU profile of this process per measured row (<row>.pb.gz) and each process's CPU seconds over it (<row>-cpu.txt)")
	flag.Parse()
	sizes, err := bench.ParseSizes(*sweepSizes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -sweep-sizes:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	rep, err := bench.Run(ctx, bench.Options{Short: *short, Concurrency: *concurrency, Only: *only, SweepSizes: sizes, CPUProfileDir: *cpuProfile, Logf: logf})
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
