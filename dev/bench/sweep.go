package bench

import (
	"context"
	"fmt"
	"sort"
	"time"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/tracking"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/delhiveryb2b"
	"orderflow/tracking/couriers/shiprocket"
	"orderflow/workflows"
)

// Targets of the sweep-cost row (docs/benchmarks.md).
const (
	sweepTargetEventsPer1000 = 150
	sweepTargetMongoPer1000  = 30
	sweepCourierLatency      = 50 * time.Millisecond
)

// sweepWorkflowTypes are the workflows a sweep runs (RTOCancel children are the RTO row's cost).
var sweepWorkflowTypes = []string{"TrackingSweep", "TrackerSweep", "TrackerPartition"}

// sweepRun is one measured sweep of a fleet.
type sweepRun struct {
	Fleet          fleet
	Stats          workflows.SweepStats
	Trackers       map[string]workflows.SweepStats
	Events         int64
	Runs           int
	Mongo          int64
	MongoByCommand string
	Wall           time.Duration
}

// runSweepCost sweeps fleets of growing size spread over the four trackers,
// 5 % of the orders changing status, against couriers answering in 50 ms with
// no rate limit, and counts what one sweep costs.
func runSweepCost(ctx context.Context, e *Env, o Options) (Row, error) {
	sizes := []int{1000, 10000, 50000}
	if o.Short {
		sizes = []int{1000, 2500}
	}
	if len(o.SweepSizes) > 0 {
		sizes = o.SweepSizes
	}
	var runs []sweepRun
	for _, n := range sizes {
		o.Logf("  sweep of %d orders", n)
		r, err := measureSweep(ctx, e, n)
		if err != nil {
			return Row{}, fmt.Errorf("%d orders: %w", n, err)
		}
		o.Logf("  %d orders: %.2f s, %d history events in %d runs, %d Mongo round trips (%s), calls %+v",
			n, r.Wall.Seconds(), r.Events, r.Runs, r.Mongo, r.MongoByCommand, r.Stats.Calls)
		runs = append(runs, r)
	}
	return sweepCostRow(runs), nil
}

// unlimited is a courier config with no effective rate limit.
func unlimited(c *config.Courier) {
	c.RequestsPerWindow, c.Window, c.SafetyMargin = 1_000_000, time.Second, 1
}

func measureSweep(ctx context.Context, e *Env, n int) (sweepRun, error) {
	o := sbcouriers.DefaultOptions()
	o.DelhiveryLimit, o.B2BLimit, o.ShiprocketLimit, o.Latency = 1<<30, 1<<30, 1<<30, sweepCourierLatency
	s, err := newSweepStack(ctx, e, "sweep", o, func(c *config.Config) {
		unlimited(&c.Couriers.Delhivery)
		unlimited(&c.Couriers.DelhiveryB2B)
		unlimited(&c.Couriers.Shiprocket)
	}, 0)
	if err != nil {
		return sweepRun{}, err
	}
	defer s.Close()
	r := sweepRun{}
	if r.Fleet, err = seedFleet(ctx, s, n, fleetMix, changes); err != nil {
		return r, err
	}
	s.ResetCounters()
	id, in, stats, wall, err := s.sweepOnce(ctx, e.Temporal)
	if err != nil {
		return r, err
	}
	r.Stats, r.Wall, r.Mongo = stats, wall, s.Counters.MongoCommands.Load()
	r.MongoByCommand = s.Counters.MongoBreakdown()
	if r.Trackers, err = trackerStats(ctx, e.Temporal, id, in); err != nil {
		return r, err
	}
	if err := r.check(); err != nil {
		return r, err
	}
	cost, err := historyCost(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue)
	if err != nil {
		return r, err
	}
	for _, t := range sweepWorkflowTypes {
		r.Events += cost.EventsByType[t]
		r.Runs += cost.ByType[t]
	}
	return r, nil
}

// check fails the run when the sweep did not poll every order once or missed a change.
func (r sweepRun) check() error {
	for name, want := range r.Fleet.Polled {
		if got := r.Trackers[name]; got.Polled != want || got.FailedBatches != 0 {
			return fmt.Errorf("tracker %s polled %d orders (want %d), %d batches failed", name, got.Polled, want, got.FailedBatches)
		}
	}
	if r.Stats.Changed != r.Fleet.Changed {
		return fmt.Errorf("the sweep changed %d orders, %d changed at the courier", r.Stats.Changed, r.Fleet.Changed)
	}
	return nil
}

// maxPerCall is each courier API's most AWBs per call (its poller's MaxPerCall).
var maxPerCall = map[string]int{tracking.APIDelhivery: delhivery.MaxWaybills,
	tracking.APIDelhiveryB2B: delhiveryb2b.MaxLRs, tracking.APIShiprocket: shiprocket.MaxAWBs}

// minCalls is the fewest calls that can poll a tracker's orders: ceil(orders ÷ the API's maximum per call).
func minCalls(tracker string, orders int) int {
	tr, _ := tracking.TrackerByName(tracker)
	per := max(maxPerCall[tr.API], 1) // a courier missing here counts as one AWB a call
	return (orders + per - 1) / per
}

// callRatios is each tracker's calls ÷ its minimum, and the worst of them.
func (r sweepRun) callRatios() (map[string]float64, float64) {
	out := map[string]float64{}
	worst := 0.0
	for name, st := range r.Trackers {
		ratio := float64(st.Calls.Total()) / float64(max(minCalls(name, st.Polled), 1))
		out[name] = ratio
		worst = max(worst, ratio)
	}
	return out, worst
}

func sweepCostRow(runs []sweepRun) Row {
	var figs []Figure
	evS, mgS := Series{Name: "history events per 1,000 orders"}, Series{Name: "Mongo round trips per 1,000 orders"}
	wallS := Series{Name: "sweep wall time (s)"}
	for _, r := range runs {
		n := r.Fleet.Orders
		_, worst := r.callRatios()
		ev, mg := per1000(r.Events, n), per1000(r.Mongo, n)
		label := fmt.Sprintf("%s orders: ", thousands(n))
		figs = append(figs,
			target(label+"courier calls ÷ minimum, worst tracker", round(worst, 3), "", "1.00", worst <= 1.0),
			target(label+"history events of the sweep workflows per 1,000 orders", ev, "events", "≤ 150", ev <= sweepTargetEventsPer1000),
			target(label+"Mongo round trips per 1,000 orders (worker)", mg, "round trips", "≤ 30", mg <= sweepTargetMongoPer1000),
			plain(label+"sweep workflow runs", float64(r.Runs), "runs"),
			plain(label+"sweep wall time (50 ms couriers, no limit)", round(r.Wall.Seconds(), 2), "s"),
		)
		evS.Points = append(evS.Points, Point{float64(n), ev})
		mgS.Points = append(mgS.Points, Point{float64(n), mg})
		wallS.Points = append(wallS.Points, Point{float64(n), r.Wall.Seconds()})
	}
	first, last := runs[0], runs[len(runs)-1]
	if len(runs) > 1 {
		growth := (last.Wall.Seconds() / first.Wall.Seconds()) / (float64(last.Fleet.Orders) / float64(first.Fleet.Orders))
		figs = append(figs, plain(fmt.Sprintf("wall time growth %s → %s orders ÷ order growth (1 = linear)",
			thousands(first.Fleet.Orders), thousands(last.Fleet.Orders)), round(growth, 2), "ratio"))
	}
	ratios, _ := last.callRatios()
	names := make([]string, 0, len(ratios))
	for name := range ratios {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		st := last.Trackers[name]
		figs = append(figs, plain(fmt.Sprintf("%s orders, tracker %s: calls / minimum", thousands(last.Fleet.Orders), name),
			float64(st.Calls.Total()), fmt.Sprintf("/ %d (%d orders polled)", minCalls(name, st.Polled), st.Polled)))
	}
	return Row{Figures: figs, Charts: []Chart{
		{Title: "Sweep: cost per 1,000 orders vs active orders (flat = linear)", XLabel: "active orders", YLabel: "per 1,000 orders",
			Series: []Series{evS, mgS}, HLines: []HLine{{Y: sweepTargetEventsPer1000, Label: "events ≤ 150"}, {Y: sweepTargetMongoPer1000, Label: "Mongo ≤ 30"}}},
		{Title: "Sweep: wall time vs active orders (50 ms couriers, no rate limit)", XLabel: "active orders", YLabel: "seconds",
			Series: []Series{wallS}},
	}}
}

// thousands writes n with thousands separators (50000 → 50,000).
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
