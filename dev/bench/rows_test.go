package bench

import (
	"strings"
	"testing"
	"time"

	"orderflow/dev/bench/recoverysim"
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
