//go:build integration

package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

// Adaptive polling on a short budget: the courier sandbox allows 4 calls per
// 2 s and the queue's rate is derived from that limit (0.5 polls/s), so an
// 8 s sweep interval is a budget of 4 polls of 5 orders: 20 orders a sweep.
// Due are 10 orders in NDR and 20 stable in transit; 10 more are backed off
// and one was just reported by a push source trusted to cover it. Each sweep
// polls all the NDR orders first and spends the rest of its budget on the
// stable ones in _id order; the backed-off and push-covered orders are never
// polled, and the sandbox never answers 403.
func TestAdaptiveSweepPollsDueOrdersHighestRiskFirstWithinTheRateLimit(t *testing.T) {
	s, start := newAdaptiveSweepStack(t)
	seed := s.seeder(start)
	pushed := seed(1, tracking.InTransit, "In Transit/UD/X-PPOM", tracking.RiskStable, start.Add(-time.Hour))
	ndr := seed(10, tracking.NDR, "Pending/UD/EOD-74", tracking.RiskNDR, start.Add(-time.Hour))
	stable := seed(20, tracking.InTransit, "In Transit/UD/X-PPOM", tracking.RiskStable, start.Add(-time.Hour))
	backedOff := seed(10, tracking.InTransit, "In Transit/UD/X-PPOM", tracking.RiskStable, start.Add(time.Hour))

	// Clickpost reports a failed delivery for the first order: it covers the order, so polls become a safety net.
	s.waitPush(first1(s.clickpost(cpBody(s.awbOf(pushed[0]), 9, time.Now(), nil))))
	pushMark := s.nextPollAt(pushed[0])
	if doc := s.orderDoc(pushed[0]); doc["tracking_push_source"] != "clickpost" || doc["poll_risk"] != int32(tracking.RiskSafetyNet) ||
		!pushMark.After(start.Add(30*time.Minute)) {
		t.Fatalf("the push left the order %v", doc)
	}

	all := slices.Concat(pushed, ndr, stable, backedOff)
	for sweep, wantStable := range [][]string{stable[:10], stable[10:]} {
		sweepID := fmt.Sprintf("%s-adaptive-%d", s.cfg.Sweep.ScheduleID, sweep)
		polled, stats := s.sweepPolled(sweepID, all)
		polledBy := func(ids []string) []string {
			return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !slices.Contains(polled, id) })
		}
		if sweep == 0 { // a partition walked by an adaptive cursor (the second: its cursor counts the first's orders)
			s.recordHistory(workflows.TrackerPartitionWorkflowID(workflows.TrackerSweepWorkflowID(sweepID, tracking.TrackerDelhivery), 1),
				"tracker_partition_adaptive_history.json")
		}
		if stats.Polled != 20 || stats.Calls[tracking.APIDelhivery] != 4 {
			t.Errorf("sweep %d: %+v, want 20 orders polled in 4 calls (the budget)", sweep, stats)
		}
		if got := polledBy(ndr); len(got) != len(ndr) {
			t.Errorf("sweep %d polled %d of the %d NDR orders", sweep, len(got), len(ndr))
		}
		if got := polledBy(stable); !slices.Equal(got, wantStable) {
			t.Errorf("sweep %d polled stable orders %v, want the next 10 due in _id order %v", sweep, got, wantStable)
		}
		if got := polledBy(append(backedOff, pushed...)); len(got) != 0 {
			t.Errorf("sweep %d polled %d backed-off or push-covered orders", sweep, len(got))
		}
	}
	for _, id := range ndr {
		if doc := s.orderDoc(id); doc["poll_risk"] != int32(tracking.RiskNDR) {
			t.Errorf("NDR order left at risk %v", doc["poll_risk"])
		}
	}
	if next := s.nextPollAt(stable[0]); !next.After(time.Now().Add(30 * time.Minute)) {
		t.Errorf("a polled stable order is due again at %v: not backed off", next)
	}
	if st := s.couriers.Stats(tracking.APIDelhivery); st.Rejected != 0 || st.Calls != 8 {
		t.Errorf("sandbox: %+v, want 8 calls and no 403", st)
	}
}

// newAdaptiveSweepStack is a sweep stack polling adaptively on a short
// budget: the courier sandbox allows 4 calls per 2 s and the queue's rate is
// derived from that limit (0.5 polls/s), so an 8 s sweep interval is a budget
// of 4 polls of 5 orders: 20 orders a sweep. Stable orders back off an hour
// at least. It returns the stack and the test's start.
func newAdaptiveSweepStack(t *testing.T) (*sweepStack, time.Time) {
	const limit, window, batch = 4, 2 * time.Second, 5
	o := sbcouriers.DefaultOptions()
	o.DelhiveryLimit, o.Window = limit, window
	s := newSweepStack(t, o, func(c *config.Config) {
		d := &c.Couriers.Delhivery
		d.RequestsPerWindow, d.Window, d.SafetyMargin, d.BatchSize, d.LimitBackoff = limit, window, 0.5, batch, time.Second
		c.Couriers.DelhiveryB2B.BaseURL, c.Couriers.Shiprocket.BaseURL = "", "" // Delhivery B2C only
		c.Sweep.Every = 8 * time.Second                                         // the budget's interval; sweeps are started by the test
		c.Sweep.PartitionSize, c.Sweep.MaxParallelPartitions, c.Sweep.MaxParallelPolls, c.Sweep.PartitionsPerRun = 10, 2, 2, 1
		p := &c.Sweep.Polling
		p.Mode, p.BackoffBase, p.MaxGap, p.SafetyNet = tracking.PollAdaptive, time.Hour, 2*time.Hour, time.Hour
		p.PushCoveredSources = []string{"clickpost"}
		p.BudgetShare = 1 // the whole rate: a budget of exactly two polls of 10
	})
	if budget := s.cfg.Couriers.Delhivery.SweepBudget(50, s.cfg.Sweep.Every, s.cfg.Sweep.Polling.BudgetShare); budget != 20 {
		t.Fatalf("the configuration gives a budget of %d orders a sweep, the test needs 20", budget)
	}
	return s, time.Now().UTC().Truncate(time.Millisecond)
}

// seeder inserts orders of the sandbox's Delhivery, each answering raw, in
// status since an hour before start; with a risk of 0 or more they are
// planned (poll_risk, next_poll_at) as a previous sweep would have left them,
// with a negative risk they were never planned.
func (s *sweepStack) seeder(start time.Time) func(n int, status, raw string, risk tracking.Risk, next time.Time) []string {
	awbSeq := 0
	return func(n int, status, raw string, risk tracking.Risk, next time.Time) []string {
		ids := s.orders(n, tracking.CourierNameDelhivery, func(i int) string { return fmt.Sprintf("579308600%05d", awbSeq+i) })
		for i := range n {
			s.couriers.SetDelhivery(fmt.Sprintf("579308600%05d", awbSeq+i), delhiveryScan(raw))
		}
		awbSeq += n
		since := start.Add(-time.Hour)
		set := bson.M{"tracking_status": status, "tracking_status_at": since, tracking.TimestampField(status): since}
		if risk >= 0 {
			set["poll_risk"], set["next_poll_at"] = int(risk), next
		}
		s.setOrders(ids, set)
		return ids
	}
}

// sweepPolled runs one sweep and returns, of ids, those it polled (their
// next poll changed).
func (s *sweepStack) sweepPolled(sweepID string, ids []string) ([]string, workflows.SweepStats) {
	s.t.Helper()
	before := map[string]time.Time{}
	for _, id := range ids {
		before[id] = s.nextPollAt(id)
	}
	stats := s.sweep(sweepID)
	var polled []string
	for _, id := range ids {
		if !s.nextPollAt(id).Equal(before[id]) {
			polled = append(polled, id)
		}
	}
	return polled, stats
}

// Orders adaptive polling never planned (new orders, or the whole fleet
// when the mode is switched on) are planned from their stored state before
// the walk: three stored in NDR are polled with the NDR tier in the first
// sweep, although planned NDR and stable orders fill its budget; two stored
// in transit are planned into the back-off and not polled. Unplanned, they
// would rank below every planned order and wait while the urgent ones fill
// each sweep.
func TestAdaptiveSweepPlansNeverPlannedOrdersFromTheirStoredState(t *testing.T) {
	s, start := newAdaptiveSweepStack(t)
	seed := s.seeder(start)
	ndr := seed(15, tracking.NDR, "Pending/UD/EOD-74", tracking.RiskNDR, start.Add(-time.Hour))
	stable := seed(10, tracking.InTransit, "In Transit/UD/X-PPOM", tracking.RiskStable, start.Add(-time.Hour))
	newNDR := seed(3, tracking.NDR, "Pending/UD/EOD-74", -1, time.Time{})
	newInTransit := seed(2, tracking.InTransit, "In Transit/UD/X-PPOM", -1, time.Time{})

	stats := s.sweep(s.cfg.Sweep.ScheduleID + "-first-plans")
	if stats.Polled != 20 {
		t.Errorf("sweep: %+v, want the budget of 20 orders polled", stats)
	}
	// A poll records the courier's own status; the seeded orders have none.
	polled := func(id string) bool { return s.orderDoc(id)["tracking_raw_status"] != nil }
	for _, id := range slices.Concat(ndr, newNDR) {
		if !polled(id) {
			t.Errorf("NDR order %s not polled (new: %v)", id, slices.Contains(newNDR, id))
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(stable), func(id string) bool { return !polled(id) })); n != 2 {
		t.Errorf("%d planned stable orders polled, want the 2 the NDR tier left of the budget", n)
	}
	for _, id := range newInTransit {
		doc := s.orderDoc(id)
		if polled(id) || doc["poll_risk"] != int32(tracking.RiskStable) || !s.nextPollAt(id).After(time.Now().Add(30*time.Minute)) {
			t.Errorf("a new order in transit for an hour left %v, want planned into the back-off", doc)
		}
	}
}

// delhiveryScan is a Delhivery scan written "Status/StatusType/StatusCode".
func delhiveryScan(s string) sbcouriers.DelhiveryStatus {
	parts := strings.SplitN(s, "/", 3)
	return sbcouriers.DelhiveryStatus{Status: parts[0], StatusType: parts[1], StatusCode: parts[2]}
}

// setOrders sets fields on the orders, as a previous sweep would have left them.
func (s *sweepStack) setOrders(ids []string, set bson.M) {
	s.t.Helper()
	oids := make(bson.A, len(ids))
	for i, id := range ids {
		oid, err := bson.ObjectIDFromHex(id)
		if err != nil {
			s.t.Fatal(err)
		}
		oids[i] = oid
	}
	if _, err := s.store.Database().Collection(store.OrdersCollection).UpdateMany(context.Background(),
		bson.M{"_id": bson.M{"$in": oids}}, bson.M{"$set": set}); err != nil {
		s.t.Fatal(err)
	}
}

// nextPollAt is the order's next_poll_at (zero when unset).
func (s *sweepStack) nextPollAt(id string) time.Time {
	s.t.Helper()
	switch v := s.orderDoc(id)["next_poll_at"].(type) {
	case bson.DateTime:
		return v.Time().UTC()
	case nil:
		return time.Time{}
	default:
		s.t.Fatalf("next_poll_at is a %T", v)
		return time.Time{}
	}
}
