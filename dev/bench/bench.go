// Package bench is `make bench`: orderflow measured on one machine against
// the real Temporal dev server (in memory), FerretDB on a private PostgreSQL
// and loopback sandboxes. Counts that do not depend on the machine (Temporal
// history events and actions, Mongo round trips, HTTP calls, per 1,000
// orders) come first; times are given as ratios to a baseline measured in the
// same run wherever one exists.
//
// Each row of the README's table is a Benchmark. Rows whose feature is not on
// this branch yet are listed with the issue they need, never with made-up
// numbers: a later issue adds its row by giving it a Run function.
package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"orderflow/dev/bench/rig"
)

// Options choose how much to measure.
type Options struct {
	// Short measures smaller bursts, fleets and loads (a shorter run).
	Short bool
	// Concurrency is how many clients send reports (and workflow starts) at once.
	Concurrency int
	// Only, when set, measures just the rows whose name contains one of its
	// comma-separated parts (and the baseline).
	Only string
	// SweepSizes, when set, replaces the sweep-cost row's fleet sizes.
	SweepSizes []int
	// CPUProfileDir, when set, receives per measured row a Go CPU profile of
	// the bench process (<row>.pb.gz) and each process's CPU seconds over the
	// row (<row>-cpu.txt, also in the report).
	CPUProfileDir string
	Logf          func(format string, args ...any)
}

// ParseSizes reads "1000,5000" ("" gives nil: the row's defaults).
func ParseSizes(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var sizes []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 20 {
			return nil, fmt.Errorf("%q is not a fleet size of at least 20 orders", part)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// Benchmark is one row of the table.
type Benchmark struct {
	Name string
	// Needs names the feature that must land before the row can be measured
	// (when Run is nil).
	Needs string
	Run   func(ctx context.Context, e *Env, o Options) (Row, error)
	// Simulated rows need no environment (their Env is nil): a run that
	// measures only them starts no dev server, store or baseline.
	Simulated bool
}

// Figure is one measured number and, when it has one, its target.
type Figure struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"`
	// Met is nil when the figure has no target.
	Met *bool `json:"met,omitempty"`
	// Note replaces the value when there is none (e.g. "not measured: …").
	Note string `json:"note,omitempty"`
}

// Row is a benchmark's outcome.
type Row struct {
	Benchmark string   `json:"benchmark"`
	Status    string   `json:"status"` // "measured" or "not measured yet: needs <feature>"
	Figures   []Figure `json:"figures,omitempty"`
	Charts    []Chart  `json:"charts,omitempty"`
	Seconds   float64  `json:"seconds,omitempty"`
	// CPU is each process's CPU time over the row, with -cpuprofile.
	CPU []ProcessCPU `json:"cpu,omitempty"`
}

// Report is a whole run.
type Report struct {
	StartedAt   time.Time   `json:"started_at"`
	Short       bool        `json:"short"`
	Machine     rig.Machine `json:"machine"`
	Load1AtEnd  float64     `json:"load1_at_end"`
	Store       string      `json:"store"`
	Rows        []Row       `json:"rows"`
	WallSeconds float64     `json:"wall_seconds"`
}

// Benchmarks lists every row of the README's table, in order.
func Benchmarks() []Benchmark {
	return []Benchmark{
		{Name: "baseline: bare dev-server workflow starts", Run: runBaseline},
		{Name: "first-RTO to CRM: orders turning RTO → claim → CRM 2xx", Run: runFirstRTO},
		{Name: "sweep cost at 1,000 / 10,000 / 50,000 active orders, 5 % changing status", Run: runSweepCost},
		{Name: "rate limit: 30,000 Delhivery B2C orders against a 403-enforcing sandbox", Run: runRateLimit},
		{Name: "push ingress for 60 s: accepted events/s and p99 vs the baseline", Run: runPushIngress},
		{Name: "revenue recovery: 10,000 invoices waiting on timers", Run: runRecoveryTimers},
		{Name: detectRowName, Run: runDetection},
		{Name: drainRowName, Run: runDrain},
		{Name: simulationRowName, Run: runSimulation, Simulated: true},
	}
}

// Run starts the environment and measures every row.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	started := time.Now()
	rep := Report{StartedAt: started.UTC(), Short: o.Short, Machine: rig.DescribeMachine()}
	needEnv := o.needsEnv()
	var env *Env
	if needEnv {
		var err error
		if env, err = StartEnv(ctx, o.Logf); err != nil {
			return rep, err
		}
		defer env.Close()
		rep.Store = env.StoreKind
	} else {
		rep.Store = "none (simulated rows only)"
	}
	for _, b := range Benchmarks() {
		if b.Run == nil {
			rep.Rows = append(rep.Rows, Row{Benchmark: b.Name, Status: "not measured yet: needs " + b.Needs})
			continue
		}
		if !o.selects(b.Name) || (!b.Simulated && !needEnv) {
			rep.Rows = append(rep.Rows, Row{Benchmark: b.Name, Status: "not measured in this run (-only)"})
			continue
		}
		o.Logf("▶ %s", b.Name)
		row, err := runRow(ctx, b, env, o)
		if err != nil {
			return rep, fmt.Errorf("%s: %w", b.Name, err)
		}
		rep.Rows = append(rep.Rows, row)
	}
	rep.Load1AtEnd = rig.Load1()
	rep.WallSeconds = time.Since(started).Seconds()
	return rep, nil
}

// runRow measures one row, profiled when o.CPUProfileDir is set.
func runRow(ctx context.Context, b Benchmark, env *Env, o Options) (Row, error) {
	var prof *rowProfile
	if o.CPUProfileDir != "" {
		var err error
		if prof, err = startRowProfile(o.CPUProfileDir, b.Name, env.postgresPID()); err != nil {
			return Row{}, fmt.Errorf("cpu profile: %w", err)
		}
	}
	t0 := time.Now()
	row, err := b.Run(ctx, env, o)
	if prof != nil {
		cpu, perr := prof.stop()
		if err == nil && perr != nil {
			err = fmt.Errorf("cpu profile: %w", perr)
		}
		row.CPU = cpu
		for _, c := range cpu {
			o.Logf("  CPU %.1f s: %s", c.Seconds, c.Process)
		}
	}
	if err != nil {
		return Row{}, err
	}
	row.Benchmark, row.Status, row.Seconds = b.Name, "measured", time.Since(t0).Seconds()
	return row, nil
}

// needsEnv reports whether a selected row other than the baseline needs the
// environment (the baseline alone is not worth starting it for).
func (o Options) needsEnv() bool {
	for _, b := range Benchmarks() {
		if b.Run != nil && !b.Simulated && !strings.HasPrefix(b.Name, "baseline") && o.selects(b.Name) {
			return true
		}
	}
	return false
}

// selects reports whether the row named name is measured in this run.
func (o Options) selects(name string) bool {
	if o.Only == "" || strings.HasPrefix(name, "baseline") {
		return true
	}
	for _, part := range strings.Split(o.Only, ",") {
		if part != "" && strings.Contains(name, part) {
			return true
		}
	}
	return false
}

// target builds a figure with a target, judged by met.
func target(name string, value float64, unit, tgt string, met bool) Figure {
	return Figure{Name: name, Value: value, Unit: unit, Target: tgt, Met: &met}
}

// plain builds a figure without a target.
func plain(name string, value float64, unit string) Figure {
	return Figure{Name: name, Value: value, Unit: unit}
}
