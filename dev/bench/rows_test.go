package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"orderflow/dev/bench/recoverysim"
	"orderflow/dev/sandbox/crm"
	"orderflow/tracking/push/clickpost"
	"orderflow/tracking/push/fulfilment"
)

func figure(t *testing.T, r Row, prefix string) Figure {
	t.Helper()
	for _, f := range r.Figures {
		if strings.HasPrefix(f.Name, prefix) {
			return f
		}
	}
	t.Fatalf("no figure %q in %+v", prefix, r.Figures)
	return Figure{}
}

func TestOnlySelectsNamedRowsAndAlwaysTheBaseline(t *testing.T) {
	o := Options{Only: "push ingress,revenue recovery"}
	for name, want := range map[string]bool{
		"baseline: bare dev-server workflow starts":           true,
		"push ingress for 60 s: accepted events/s":            true,
		"revenue recovery: 10,000 invoices waiting on timers": true,
		"first-RTO to CRM: orders turning RTO":                false,
	} {
		if got := o.selects(name); got != want {
			t.Errorf("selects(%q) = %v, want %v", name, got, want)
		}
	}
	if !(Options{}).selects("first-RTO to CRM") {
		t.Error("no -only must select every row")
	}
}

// The bench's pushes must be what the real parsers accept, or the row would
// measure 400s.
func TestBenchPushBodiesParse(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ev, err := clickpost.Parse(clickpostScan("BENCH00000001", 6, at))
	if err != nil || ev.Waybill != "BENCH00000001" || ev.Code != 6 {
		t.Fatalf("clickpost body: %+v, %v", ev, err)
	}
	ff, err := fulfilment.Parse(fulfilmentChange("0123456789abcdef01234567", "DELIVERING", at))
	if err != nil || ff.Order == nil || ff.Order.Order.Code != "0123456789abcdef01234567" {
		t.Fatalf("fulfilment body: %+v, %v", ff, err)
	}
}

func TestPushRowJudgesRatioAndP99(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * 3 * time.Millisecond // p99 = 297 ms
	}
	e := &Env{BaselineStartsPerSec: 100}
	l := pushLoad{Clients: 8, Duration: 10 * time.Second, Accepted: 900, Refused: map[int]int64{503: 2}, Latencies: lat, PerSecond: make([]int64, 11)}
	r := pushRow(e, 200, HistoryCost{Events: 4800, Actions: 1000}, 600, 1, 90, l)
	if f := figure(t, r, "accepted pushes/s ÷ bare workflow-start rate"); f.Value != 0.9 || !*f.Met {
		t.Errorf("ratio: %+v", f)
	}
	if f := figure(t, r, "push latency p99"); f.Value != 297 || *f.Met {
		t.Errorf("p99: %+v", f)
	}
	if f := figure(t, r, "pushes answered other than 200"); f.Value != 2 || *f.Met {
		t.Errorf("refused: %+v", f)
	}
	if f := figure(t, r, "Temporal history events per 1,000 push events"); f.Value != 24000 {
		t.Errorf("events per 1,000: %+v", f)
	}
}

func TestRecoveryRowLatenessAndMemory(t *testing.T) {
	due := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var runs []timerRun
	for i := range 100 {
		late := time.Duration(i) * 30 * time.Millisecond // p95 = 94 × 30 ms = 2.82 s
		runs = append(runs, timerRun{Due: due, Fired: due.Add(late), PickedUp: due.Add(late + time.Second), Events: 22, Actions: 9})
	}
	m := recoveryTimers{Invoices: 100, Waiting: 100, StickyCache: 2000, IdleRSSMB: 30, WaitingRSSMB: 35, Runs: runs, FirstRetry: time.Minute}
	r := recoveryRow(m)
	if f := figure(t, r, "timer lateness p95"); f.Value != 2.82 || *f.Met {
		t.Errorf("lateness p95: %+v", f)
	}
	// 5 MB over 100 cached invoices = 51.2 KB each; a full cache of 2,000 adds 100 MB to the idle 30.
	if f := figure(t, r, "worker RSS at 10,000 invoices waiting (extrapolated"); f.Value != 130 || !*f.Met {
		t.Errorf("extrapolated RSS: %+v", f)
	}
	m.Invoices, m.Waiting, m.WaitingRSSMB = 10_000, 10_000, 310
	if f := figure(t, recoveryRow(m), "worker RSS with 10000 invoices waiting"); f.Value != 310 || *f.Met {
		t.Errorf("measured RSS at 10,000: %+v", f)
	}
}

func TestOnlySimulatedRowsStartNoEnvironment(t *testing.T) {
	for only, want := range map[string]bool{"simulation": false, "simulation,push ingress": true, "": true} {
		if got := (Options{Only: only}).needsEnv(); got != want {
			t.Errorf("-only %q: needsEnv %v, want %v", only, got, want)
		}
	}
}

func TestSimulationRowJudgesViolations(t *testing.T) {
	m := recoverysim.DefaultModel()
	m.Invoices = 600
	r := simulationRow(m)
	for _, a := range []string{"cascading", "smart", "adaptive"} {
		if f := figure(t, r, a+": rule violations by orderflow's charges (independent counter"); f.Value != 0 || !*f.Met {
			t.Errorf("%s with the rule check: %+v", a, f)
		}
		if f := figure(t, r, a+", rules off (control): rule violations"); f.Value == 0 || !*f.Met {
			t.Errorf("%s control: %+v", a, f)
		}
		if f := figure(t, r, a+": recovered share"); f.Value <= 0 || f.Value > 100 {
			t.Errorf("%s recovered share: %+v", a, f)
		}
	}
	if len(r.Charts) != 3 || len(r.Charts[0].Series) != 3 || len(r.Charts[0].Series[0].Points) != len(sweepSoftSuccess) {
		t.Errorf("sweep charts: %+v", r.Charts)
	}
}

func TestCodecFiguresJudgeThroughputRatioAndP95(t *testing.T) {
	claims := func(p95 time.Duration) []time.Duration {
		out := make([]time.Duration, 100)
		for i := range out {
			out[i] = p95 * time.Duration(i+1) / 95
		}
		return out
	}
	off := rtoBurst{Orders: 500, CRMDoneAfterSec: 20, ClaimToCRM: claims(time.Second), DistinctKeys: 500}
	on := rtoBurst{Orders: 500, Codec: true, CRMDoneAfterSec: 25, ClaimToCRM: claims(3 * time.Second), DistinctKeys: 500}
	r := Row{Figures: codecFigures(off, on)}
	if f := figure(t, r, "throughput with the payload codec on ÷ off"); f.Value != 0.8 || *f.Met {
		t.Errorf("ratio: %+v", f)
	}
	if f := figure(t, r, "claim → CRM 2xx p95, codec on"); f.Value != 3 || *f.Met {
		t.Errorf("p95 with the codec: %+v", f)
	}
	on.CRMDoneAfterSec, on.ClaimToCRM = 21, claims(1500*time.Millisecond)
	r = Row{Figures: codecFigures(off, on)}
	if f := figure(t, r, "throughput with the payload codec on ÷ off"); f.Value != 0.95 || !*f.Met {
		t.Errorf("ratio: %+v", f)
	}
	if f := figure(t, r, "claim → CRM 2xx p95, codec on"); !*f.Met {
		t.Errorf("p95 with the codec: %+v", f)
	}
	if f := figure(t, Row{Figures: codecFigures(off, rtoBurst{})}, "throughput with the payload codec on ÷ off"); f.Value != 0 || *f.Met {
		t.Errorf("no codec burst must not pass: %+v", f)
	}
}

func TestRateLimitRowJudgesTheTwoWorkerRunsRefusals(t *testing.T) {
	sc := rateScenario{Orders: 1000, Limit: 150, Window: 30 * time.Second}
	one := rateLimitRun{Scenario: sc, Calls: 20, MinCalls: 20, Share: 0.92}
	two := rateLimitRun{Scenario: sc, Processes: 2, Calls: 20, MinCalls: 20, Rejected: 3, Share: 0.95}
	r := rateLimitRow(one, two)
	if f := figure(t, r, "403s received"); f.Value != 0 || !*f.Met {
		t.Errorf("one worker: %+v", f)
	}
	if f := figure(t, r, "2 worker processes: 403s received"); f.Value != 3 || *f.Met {
		t.Errorf("two workers: %+v", f)
	}
	if f := figure(t, r, "2 worker processes: share of the limit used"); f.Value != 95 {
		t.Errorf("two workers' share: %+v", f)
	}
}

// drainAccepted makes n accepted CRM calls: the probe at t0, then the drained
// ones every gap, starting lag after the probe.
func drainAccepted(n int, t0 time.Time, lag, gap time.Duration) []crm.Received {
	out := make([]crm.Received, n)
	for i := range out {
		at := t0
		if i > 0 {
			at = t0.Add(lag + time.Duration(i-1)*gap)
		}
		id := fmt.Sprintf("order-%04d", i)
		out[i] = crm.Received{At: at, IdempotencyKey: "rto-cancel:" + id + ":hook", StatusCode: 200, Body: map[string]any{"order_id": id}}
	}
	return out
}

func TestDrainRowJudgesRateFromBothSidesAndExactlyOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		gap       time.Duration
		wantRatio float64
		wantMet   bool
	}{
		{"at the configured rate", 100 * time.Millisecond, 1, true},
		{"a little slower", 105 * time.Millisecond, 0.952, true},
		{"too slow", 125 * time.Millisecond, 0.8, false},
		{"faster than configured", 80 * time.Millisecond, 1.25, false},
	} {
		r := drainRow(drainRun{Orders: 1001, Rate: 10, Accepted: drainAccepted(1001, t0, 2*time.Second, c.gap), Released: 1000, MongoCommands: 5005})
		f := figure(t, r, "drain rate ÷ configured rate")
		if f.Value != c.wantRatio || f.Met == nil || *f.Met != c.wantMet {
			t.Errorf("%s: ratio %+v, want %v met %v", c.name, f, c.wantRatio, c.wantMet)
		}
	}
	r := drainRow(drainRun{Orders: 1001, Rate: 10, Accepted: drainAccepted(1001, t0, 2*time.Second, 100*time.Millisecond), Released: 1000, MongoCommands: 5005})
	if f := figure(t, r, "recovery (probe's 2xx) → last delivery's 2xx"); f.Value != 101.9 || f.Met == nil || !*f.Met {
		t.Errorf("recovery → last: %+v, want 101.9 s within 100 s ÷ 0.9", f)
	}
	if f := figure(t, r, "CRM 2xx ÷ orders"); f.Value != 1 || f.Met == nil || !*f.Met {
		t.Errorf("exactly once: %+v", f)
	}
	if f := figure(t, r, "worker Mongo round trips per 1,000 parked"); f.Value != 5000 {
		t.Errorf("Mongo per 1,000: %+v", f)
	}

	twice := drainAccepted(1001, t0, 2*time.Second, 100*time.Millisecond)
	twice[1000] = twice[999] // one order accepted twice, another never
	r = drainRow(drainRun{Orders: 1001, Rate: 10, Accepted: twice})
	if f := figure(t, r, "CRM 2xx ÷ orders"); f.Met == nil || *f.Met {
		t.Errorf("a duplicate delivery must miss exactly-once: %+v", f)
	}
	if r := drainRow(drainRun{Orders: 10, Rate: 10}); figure(t, r, "drain rate ÷ configured rate").Met == nil || *figure(t, r, "drain rate ÷ configured rate").Met {
		t.Error("no delivery at all must miss the rate target")
	}
}
