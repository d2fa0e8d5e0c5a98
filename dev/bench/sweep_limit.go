package bench

import (
	"context"
	"fmt"
	"time"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/tracking"
)

// Target of the rate-limit row: share of the courier's limit a sweep uses.
const rateTargetShare = 0.90

// rateScenario is the rate-limit row's scaled-down courier limit. The real
// Delhivery B2C limit is 750 calls per 5 minutes; 30,000 orders are 600
// calls, which fit in one real window, so no pacing could ever trip it. The
// bench shrinks the window (and the limit with it) so the sweep spans several
// windows and the limit binds, and sets the same numbers in the sandbox and
// in couriers.delhivery.
type rateScenario struct {
	Orders int
	Limit  int
	Window time.Duration
}

func (r rateScenario) String() string {
	return fmt.Sprintf("%s orders, limit %d per %v", thousands(r.Orders), r.Limit, r.Window)
}

// rateLimitRun is what one rate-limited sweep did.
type rateLimitRun struct {
	Scenario  rateScenario
	Processes int // worker binaries sharing the courier queue; 0: one worker in the bench's process
	Margin    float64
	Calls     int
	Rejected  int
	MinCalls  int
	Share     float64 // calls per second between first and last call ÷ limit per second
	PeakShare float64 // most calls in any sliding window ÷ limit
	Wall      time.Duration
	Windows   []Point // calls per window-long slice of the run, for the plot
	Polls     ActivityTimes
}

func (r rateLimitRun) workers() string {
	if r.Processes == 0 {
		return "one worker"
	}
	return fmt.Sprintf("%d worker processes", r.Processes)
}

// rateLimitProcesses is the scaled-out run: worker binaries sharing the
// courier's task queue, whose rate the server enforces across them.
const rateLimitProcesses = 2

// runRateLimit sweeps Delhivery B2C orders against a sandbox enforcing a
// sliding-window limit with 403s, with couriers.delhivery set to the same
// limit, and measures the share of the limit used and the 403s received:
// once with one worker, once with the same fleet swept by two worker
// processes that share the courier's task queue.
func runRateLimit(ctx context.Context, e *Env, o Options) (Row, error) {
	sc := rateScenario{Orders: 30000, Limit: 150, Window: 30 * time.Second}
	if o.Short {
		sc = rateScenario{Orders: 15000, Limit: 150, Window: 30 * time.Second}
	}
	o.Logf("  %s", sc)
	var runs []rateLimitRun
	for _, processes := range []int{0, rateLimitProcesses} {
		r, err := measureRateLimit(ctx, e, sc, processes)
		if err != nil {
			return Row{}, err
		}
		o.Logf("  %s: %d calls (minimum %d), %d refused, share %.3f, peak window %.3f, %.1f s; %d polls waited %v in the courier queue and ran %v on average",
			r.workers(), r.Calls, r.MinCalls, r.Rejected, r.Share, r.PeakShare, r.Wall.Seconds(), r.Polls.Count, r.Polls.MeanWait(), r.Polls.MeanRun())
		runs = append(runs, r)
	}
	return rateLimitRow(runs[0], runs[1]), nil
}

func measureRateLimit(ctx context.Context, e *Env, sc rateScenario, processes int) (rateLimitRun, error) {
	o := sbcouriers.DefaultOptions()
	o.DelhiveryLimit, o.Window, o.Latency, o.RecordCalls = sc.Limit, sc.Window, sweepCourierLatency, true
	s, err := newSweepStack(ctx, e, "ratelimit", o, func(c *config.Config) {
		d := &c.Couriers.Delhivery
		d.RequestsPerWindow, d.Window = sc.Limit, sc.Window
		d.LimitBackoff = sc.Window / 5                                          // the real 1 min after a 403, scaled like the window
		c.Couriers.DelhiveryB2B.BaseURL, c.Couriers.Shiprocket.BaseURL = "", "" // Delhivery B2C only
	}, processes)
	if err != nil {
		return rateLimitRun{}, err
	}
	defer s.Close()
	r := rateLimitRun{Scenario: sc, Processes: processes, Margin: s.Cfg.Couriers.Delhivery.SafetyMargin}
	f, err := seedFleet(ctx, s, sc.Orders, allB2C, noChanges)
	if err != nil {
		return r, err
	}
	_, _, stats, wall, err := s.sweepOnce(ctx, e.Temporal)
	if err != nil {
		return r, err
	}
	if stats.Polled != f.Orders || stats.FailedBatches != 0 || stats.Changed != f.Changed {
		return r, fmt.Errorf("sweep polled %d of %d orders, %d batches failed, changed %d of %d", stats.Polled, f.Orders, stats.FailedBatches, stats.Changed, f.Changed)
	}
	st := s.couriers.Stats(tracking.APIDelhivery)
	r.Calls, r.Rejected, r.Wall = st.Calls, st.Rejected, wall
	r.MinCalls = minCalls(tracking.TrackerDelhivery, f.Orders)
	r.Share, r.PeakShare, r.Windows = limitUse(s.couriers.CallTimes(tracking.APIDelhivery), sc)
	r.Polls, err = activityTimes(ctx, e.Temporal, s.Cfg.Temporal.TaskQueue, "PollBatch")
	return r, err
}

// limitUse reads the admitted calls' times: the mean rate between the first
// and the last call as a share of the limit's rate, the fullest sliding
// window as a share of the limit, and the calls per consecutive window.
func limitUse(times []time.Time, sc rateScenario) (share, peak float64, windows []Point) {
	if len(times) < 2 {
		return 0, 0, nil
	}
	span := times[len(times)-1].Sub(times[0])
	share = (float64(len(times)-1) / span.Seconds()) / (float64(sc.Limit) / sc.Window.Seconds())
	most, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= sc.Window {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	peak = float64(most) / float64(sc.Limit)
	counts := map[int]int{}
	last := 0
	for _, t := range times {
		w := int(t.Sub(times[0]) / sc.Window)
		counts[w]++
		last = w
	}
	for w := 0; w <= last; w++ {
		windows = append(windows, Point{float64(w + 1), float64(counts[w]) / float64(sc.Limit)})
	}
	return share, peak, windows
}

// rateLimitRow judges the one-worker run r and the scaled-out run two: no
// 403 in either, and r's share of the limit.
func rateLimitRow(r, two rateLimitRun) Row {
	sc := r.Scenario
	ideal := float64(r.MinCalls) / (float64(sc.Limit) / sc.Window.Seconds())
	figs := []Figure{
		plain("scaled limit (sandbox and couriers.delhivery alike)", float64(sc.Limit), fmt.Sprintf("calls per %v", sc.Window)),
		plain("orders swept (Delhivery B2C)", float64(sc.Orders), "orders"),
		target("403s received", float64(r.Rejected), "", "0", r.Rejected == 0),
		target("courier calls ÷ minimum", round(float64(r.Calls)/float64(r.MinCalls), 3), fmt.Sprintf("(%d / %d)", r.Calls, r.MinCalls), "1.00", r.Calls <= r.MinCalls),
		target("share of the limit used (mean call rate ÷ limit rate)", round(r.Share*100, 1), "%", "≥ 90 %", r.Share >= rateTargetShare),
		plain("fullest sliding window ÷ limit", round(r.PeakShare*100, 1), "%"),
		plain("couriers.delhivery.safety_margin", r.Margin, ""),
		plain("sweep wall time", round(r.Wall.Seconds(), 1), "s"),
		plain("poll activities: mean wait in the courier queue (scheduled → started)", round(r.Polls.MeanWait().Seconds(), 3), "s"),
		plain("poll activities: mean run (started → completed: Mongo read, courier calls, write)", round(r.Polls.MeanRun().Seconds(), 3), "s"),
		plain("sweep wall time ÷ the limit's minimum (calls ÷ limit rate)", round(r.Wall.Seconds()/ideal, 2), "ratio"),
	}
	w := two.workers()
	figs = append(figs,
		target(w+": 403s received", float64(two.Rejected), "", "0", two.Rejected == 0),
		target(w+": courier calls ÷ minimum", round(float64(two.Calls)/float64(two.MinCalls), 3), fmt.Sprintf("(%d / %d)", two.Calls, two.MinCalls), "1.00", two.Calls <= two.MinCalls),
		plain(w+": share of the limit used", round(two.Share*100, 1), "%"),
		plain(w+": fullest sliding window ÷ limit", round(two.PeakShare*100, 1), "%"),
		plain(w+": sweep wall time", round(two.Wall.Seconds(), 1), "s"),
		plain(w+": poll activities: mean wait in the courier queue", round(two.Polls.MeanWait().Seconds(), 3), "s"),
		plain(w+": poll activities: mean run", round(two.Polls.MeanRun().Seconds(), 3), "s"),
	)
	return Row{Figures: figs, Charts: []Chart{{
		Title:  fmt.Sprintf("Rate limit: calls per %v window ÷ limit, %s", sc.Window, sc),
		XLabel: "window of the sweep", YLabel: "share of the limit",
		Series: []Series{{Name: "one worker: calls in the window ÷ limit", Points: r.Windows}, {Name: w + ": calls in the window ÷ limit", Points: two.Windows}},
		HLines: []HLine{{Y: 1, Label: "limit (403 above)"}, {Y: rateTargetShare, Label: "target ≥ 90 %"}},
		YMax:   1.2,
	}}}
}
