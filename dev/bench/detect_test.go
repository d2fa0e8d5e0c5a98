package bench

import (
	"testing"
	"time"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/dev/sandbox/crm"
	"orderflow/tracking/couriers/delhivery"
)

// The detection row's courier budget is exactly 1/N of the fleet per sweep,
// in both the full and the short scenario.
func TestDetectionCourierBudgetCoversAQuarterOfTheFleet(t *testing.T) {
	for _, short := range []bool{false, true} {
		sc, _ := detectScenario(short)
		c := config.DefaultCouriers().Delhivery
		if err := detectCourier(&c, sc.Orders); err != nil {
			t.Fatal(err)
		}
		if got := c.SweepBudget(delhivery.MaxWaybills, sim(detectSweep), 1); got*detectCoverEvery != sc.Orders {
			t.Fatalf("short %v: budget %d orders per sweep for %d orders", short, got, sc.Orders)
		}
		if rate := c.ActivitiesPerSecond(delhivery.MaxWaybills); rate < 1 {
			t.Fatalf("short %v: %v poll activities a second (the dev server's limiter stalls under 1)", short, rate)
		}
	}
}

// The row judges adaptive's p50 against half of uniform's and its calls
// against uniform's, and counts only the orders no push reports in the polled p50.
func TestDetectionRowJudgesRatioAndCalls(t *testing.T) {
	fleet := []sbcouriers.Journey{{AWB: "A"}, {AWB: "B", Pushed: true}, {AWB: "C"}}
	ids := []string{"a", "b", "c"}
	at := time.Unix(1000, 0)
	accepted := func(done map[string]time.Duration) []crm.Received {
		var out []crm.Received
		for id, d := range done {
			out = append(out, crm.Received{At: at.Add(d), StatusCode: 200, Body: map[string]any{"order_id": id}})
		}
		return out
	}
	uni := detectRun{Mode: "uniform", Calls: 100, OrderDays: 10}
	uni.collect(fleet, ids, map[int]time.Time{0: at, 1: at, 2: at}, (accepted(map[string]time.Duration{"a": 8 * time.Second, "b": time.Second, "c": 10 * time.Second})))
	ada := detectRun{Mode: "adaptive", Calls: 90, OrderDays: 10}
	ada.collect(fleet, ids, map[int]time.Time{0: at, 1: at, 2: at}, (accepted(map[string]time.Duration{"a": 2 * time.Second, "b": time.Second})))
	if uni.RTOs != 3 || uni.Undetected != 0 || len(uni.PolledLatencies) != 2 || ada.Undetected != 1 {
		t.Fatalf("collected %+v and %+v", uni, ada)
	}
	sc, length := detectScenario(false)
	r := detectRow(sc, length, uni, ada)
	if f := figure(t, r, "adaptive p50 ÷ uniform p50"); f.Value != 0.13 || *f.Met {
		t.Errorf("ratio (met only when adaptive misses no more RTOs than uniform): %+v", f)
	}
	if f := figure(t, r, "adaptive calls ÷ uniform calls"); f.Value != 0.9 || !*f.Met {
		t.Errorf("calls: %+v", f)
	}
}
