package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/store"
	"orderflow/tracking"
)

// An adaptive walk hands out only due orders (next_poll_at unset or not after
// the sweep's time), highest poll_risk first, and stops at the budget; its
// batches and polls read the same orders in the same order.
func TestAdaptiveWalkHandsOutDueOrdersHighestRiskFirstWithinTheBudget(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	order := func(awb, status string, risk int, next time.Time) string {
		doc := bson.M{"awb": awb, "courier_name": "delhivery", "tracking_status": status}
		if risk >= 0 {
			doc["poll_risk"] = risk
		}
		if !next.IsZero() {
			doc["next_poll_at"] = next
		}
		return insertOrder(t, s, doc).Hex()
	}
	const noRisk = -1
	stable := order("S1", "in transit", int(tracking.RiskStable), now.Add(-time.Minute))
	ndr1 := order("N1", "ndr", int(tracking.RiskNDR), now.Add(-time.Minute))
	never := order("U1", "in transit", noRisk, time.Time{})                 // never polled adaptively: due, after every known risk
	order("S2", "in transit", int(tracking.RiskStable), now.Add(time.Hour)) // backed off
	order("N2", "ndr", int(tracking.RiskNDR), now.Add(5*time.Minute))       // pushed a moment ago
	ofd := order("O1", "out for delivery", int(tracking.RiskOutForDelivery), now)
	safetyNet := order("P1", "in transit", int(tracking.RiskSafetyNet), now.Add(-time.Hour))
	ndr3 := order("N3", "ndr", int(tracking.RiskNDR), now.Add(-time.Hour))
	order("D1", "delivered", int(tracking.RiskNDR), time.Time{}) // not active
	walk := []string{ndr3, ndr1, ofd, stable, safetyNet, never}  // the longest due first within a tier

	adaptive := store.SweepScope{CourierNames: []string{"delhivery"}, DueAt: now}
	polled := func(r store.IDRange) []string {
		t.Helper()
		targets, err := s.OrdersToPoll(ctx, adaptive, r, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, tg := range targets {
			ids = append(ids, tg.OrderID)
		}
		return ids
	}
	batches, n, err := s.PartitionBatches(ctx, adaptive, "", 4, 2)
	if err != nil || n != 4 || len(batches) != 2 {
		t.Fatalf("first partition: %+v %d %v", batches, n, err)
	}
	if got := append(polled(batches[0]), polled(batches[1])...); !slices.Equal(got, walk[:4]) {
		t.Errorf("first partition polls %v, want %v (NDR, out for delivery, stable)", got, walk[:4])
	}
	rest, n, err := s.PartitionBatches(ctx, adaptive, batches[1].Last, 4, 2)
	if err != nil || n != 2 || len(rest) != 1 {
		t.Fatalf("second partition: %+v %d %v", rest, n, err)
	}
	if got := polled(rest[0]); !slices.Equal(got, walk[4:]) {
		t.Errorf("second partition polls %v, want %v (safety net, then never ranked)", got, walk[4:])
	}
	ranges, err := s.BatchRanges(ctx, adaptive, store.IDRange{Last: batches[1].Last}, 3)
	if err != nil || len(ranges) != 2 {
		t.Fatalf("batch ranges %+v %v", ranges, err)
	}
	if got := append(polled(ranges[0]), polled(ranges[1])...); !slices.Equal(got, walk[:4]) {
		t.Errorf("planned batches poll %v, want %v", got, walk[:4])
	}

	// A budget of 3 orders: two partitions of at most 2 hand out the three highest-risk orders, then nothing.
	budget := adaptive
	budget.Budget = 3
	last, n, err := s.NextPartition(ctx, budget, "", 2)
	if err != nil || n != 2 {
		t.Fatalf("budget, first: %d %v", n, err)
	}
	last2, n, err := s.NextPartition(ctx, budget, last, 2)
	if err != nil || n != 1 {
		t.Fatalf("budget, second: %d %v (one order of budget left)", n, err)
	}
	if got := polled(store.IDRange{After: last, Last: last2}); !slices.Equal(got, []string{ofd}) {
		t.Errorf("budget's last order %v, want %v", got, ofd)
	}
	if _, n, err := s.NextPartition(ctx, budget, last2, 2); err != nil || n != 0 {
		t.Errorf("budget spent, yet %d more (%v)", n, err)
	}

	// Uniform polling ignores all of it: every active order.
	if _, n, err := s.NextPartition(ctx, store.SweepScope{CourierNames: []string{"delhivery"}}, "", 100); err != nil || n != 8 {
		t.Errorf("uniform: %d active orders (%v), want 8", n, err)
	}

	// A poll's plan and a push's mark move the next poll: neither order is due any more.
	later := now.Add(30 * time.Minute)
	if _, err := s.RecordPollMarks(ctx, []store.PollMark{{OrderID: ndr1, Plan: &store.PollPlan{NextPollAt: later, Risk: tracking.RiskNDR}}}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPushMarks(ctx, []store.PushMark{{OrderID: ofd, Source: "clickpost", At: now,
		Plan: store.PollPlan{NextPollAt: later, Risk: tracking.RiskSafetyNet}}}); err != nil {
		t.Fatal(err)
	}
	if got := polled(store.IDRange{}); !slices.Equal(got, []string{ndr3, stable, safetyNet, never}) {
		t.Errorf("after a poll and a push: due %v", got)
	}
	doc := orderDoc(t, s, ofd)
	if src, _ := doc["tracking_push_source"].(string); src != "clickpost" || doc["tracking_pushed_at"] == nil {
		t.Errorf("push mark: %v", doc)
	}
	if risk, ok := doc["poll_risk"].(int32); !ok || risk != int32(tracking.RiskSafetyNet) {
		t.Errorf("push mark's poll_risk %v (%T)", doc["poll_risk"], doc["poll_risk"])
	}
	targets, err := s.OrdersToPoll(ctx, store.SweepScope{CourierNames: []string{"delhivery"}}, store.IDRange{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.OrderID == ofd && (tg.PushSource != "clickpost" || !tg.PushedAt.Equal(now)) {
			t.Errorf("a poll reads the push as %q at %v", tg.PushSource, tg.PushedAt)
		}
	}
}

func orderDoc(t *testing.T, s *store.Store, id string) bson.M {
	t.Helper()
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		t.Fatal(err)
	}
	var doc bson.M
	if err := s.Database().Collection(store.OrdersCollection).FindOne(context.Background(), bson.M{"_id": oid}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// When more orders of a tier are due than one sweep's budget, the walk takes
// the longest due first: a polled order's next poll is later than every
// unpolled one's, so the tier rotates and every urgent order is polled within
// ceil(urgent / budget) sweeps (in _id order the same low _ids would win every
// sweep). Within a sweep nothing is polled twice, although the activities'
// clock moves past the new next polls: the sweep's due time is fixed at its
// first read.
func TestAdaptiveWalkPollsEveryUrgentOrderWithinCeilUrgentOverBudgetSweeps(t *testing.T) {
	s := newStore(t)
	const urgent, budget, partition, batch = 11, 4, 3, 2
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range urgent {
		ids = append(ids, insertOrder(t, s, bson.M{"awb": fmt.Sprintf("N%d", i), "courier_name": "delhivery",
			"tracking_status": "ndr", "poll_risk": int(tracking.RiskNDR), "next_poll_at": start.Add(-time.Minute)}).Hex())
	}
	stable := insertOrder(t, s, bson.M{"awb": "S", "courier_name": "delhivery", "tracking_status": "in transit",
		"poll_risk": int(tracking.RiskStable), "next_poll_at": start.Add(-time.Hour)}).Hex()

	lastPolled := map[string]int{}
	sweeps := (urgent + budget - 1) / budget
	for sweep := 1; sweep <= sweeps; sweep++ {
		clock := start.Add(time.Duration(sweep) * 5 * time.Minute)
		tick := func() store.SweepScope { // every activity reads its own clock, later each time
			clock = clock.Add(time.Second)
			return store.SweepScope{CourierNames: []string{"delhivery"}, DueAt: clock, Budget: budget}
		}
		polled := pollOneSweep(t, s, tick, partition, batch)
		if len(polled) != budget {
			t.Errorf("sweep %d polled %d orders, want the budget %d", sweep, len(polled), budget)
		}
		for _, id := range polled {
			if lastPolled[id] == sweep {
				t.Errorf("sweep %d polled %s twice", sweep, id)
			}
			lastPolled[id] = sweep
		}
	}
	for i, id := range ids {
		if lastPolled[id] == 0 {
			t.Errorf("urgent order %d of %d (%s) not polled in %d sweeps of budget %d", i+1, urgent, id, sweeps, budget)
		}
	}
	if lastPolled[stable] != 0 {
		t.Errorf("the stable order was polled in sweep %d: a lower tier waits while the urgent tier fills the budget", lastPolled[stable])
	}
}

// pollOneSweep walks one adaptive sweep as the sweep's activities do
// (partitions and their batches up to the budget, then each batch's poll,
// which writes an urgent order's next poll: now) and returns the orders polled.
func pollOneSweep(t *testing.T, s *store.Store, scope func() store.SweepScope, partition, batch int) []string {
	t.Helper()
	ctx := context.Background()
	var polled []string
	after := ""
	for {
		batches, n, err := s.PartitionBatches(ctx, scope(), after, partition, batch)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return polled
		}
		for _, r := range batches {
			sc := scope()
			targets, err := s.OrdersToPoll(ctx, sc, r, batch)
			if err != nil {
				t.Fatal(err)
			}
			var marks []store.PollMark
			for _, tg := range targets {
				polled = append(polled, tg.OrderID)
				risk := tracking.RiskNDR
				if tg.TrackingStatus != "ndr" {
					risk = tracking.RiskStable
				}
				marks = append(marks, store.PollMark{OrderID: tg.OrderID, Plan: &store.PollPlan{NextPollAt: sc.DueAt, Risk: risk}})
			}
			if _, err := s.RecordPollMarks(ctx, marks, sc.DueAt); err != nil {
				t.Fatal(err)
			}
		}
		after = batches[len(batches)-1].Last
	}
}

// The index of the walk in _id order within a tier was orderflow's own: the
// first start after the walk changed drops it and builds the new one, and
// later starts find nothing to do.
func TestEnsureIndexesReplacesTheRetiredAdaptivePollIndex(t *testing.T) {
	s := newStoreNoIndexes(t)
	ctx := context.Background()
	orders := s.Database().Collection(store.OrdersCollection)
	old := mongo.IndexModel{Keys: bson.D{{Key: "courier_name", Value: 1}, {Key: "poll_risk", Value: -1}, {Key: "_id", Value: 1}, {Key: "next_poll_at", Value: 1}},
		Options: options.Index().SetName("orderflow_adaptive_poll")}
	if _, err := orders.Indexes().CreateOne(ctx, old); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.EnsureIndexes(ctx); err != nil {
			t.Fatal(err)
		}
	}
	specs, err := orders.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sp := range specs {
		names[sp.Name] = true
	}
	if names["orderflow_adaptive_poll"] || !names["orderflow_adaptive_poll_due"] {
		t.Errorf("orders indexes after start: %v, want orderflow_adaptive_poll_due and not orderflow_adaptive_poll", names)
	}
}

// A cursor of the walk in _id order ("due:<seen>:<tier>:<id>"), left by a
// sweep that ran across the deploy, keeps its count: the sweep resumes within
// its budget.
func TestAdaptiveWalkKeepsTheCountOfACursorFromBeforeTheDeploy(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 4 {
		ids = append(ids, insertOrder(t, s, bson.M{"awb": fmt.Sprintf("N%d", i), "courier_name": "delhivery",
			"tracking_status": "ndr", "poll_risk": int(tracking.RiskNDR), "next_poll_at": now.Add(-time.Minute)}).Hex())
	}
	scope := store.SweepScope{CourierNames: []string{"delhivery"}, DueAt: now, Budget: 3}
	last, n, err := s.NextPartition(ctx, scope, "due:2:0:"+ids[1], 10)
	if err != nil || n != 1 {
		t.Fatalf("after a cursor that had handed out 2 of a budget of 3: %d orders (%v), want 1", n, err)
	}
	if _, n, err := s.NextPartition(ctx, scope, last, 10); err != nil || n != 0 {
		t.Errorf("budget spent, yet %d more (%v)", n, err)
	}
}

// UnplannedOrders reads only the scope's active orders without a poll plan;
// RecordFirstPlans plans them unless a poll or a push planned one meanwhile.
func TestFirstPlansGoOnlyToOrdersNeverPlanned(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	fresh := insertOrder(t, s, bson.M{"awb": "A1", "courier_name": "delhivery", "tracking_status": "ndr"}).Hex()
	raced := insertOrder(t, s, bson.M{"awb": "A2", "courier_name": "delhivery", "tracking_status": "in transit"}).Hex()
	insertOrder(t, s, bson.M{"awb": "A3", "courier_name": "delhivery", "tracking_status": "ndr", "poll_risk": int(tracking.RiskNDR), "next_poll_at": now})
	insertOrder(t, s, bson.M{"awb": "A4", "courier_name": "delhivery", "tracking_status": "delivered"})
	insertOrder(t, s, bson.M{"awb": "A5", "courier_name": "shiprocket", "tracking_status": "ndr"})

	targets, err := s.UnplannedOrders(ctx, store.SweepScope{CourierNames: []string{"delhivery"}, DueAt: now, Budget: 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, tg.OrderID)
	}
	if !slices.Equal(got, []string{fresh, raced}) {
		t.Fatalf("unplanned %v, want the active Delhivery orders without a plan %v", got, []string{fresh, raced})
	}

	// A push plans the second order between the read and the write.
	pushed := store.PollPlan{NextPollAt: now.Add(time.Hour), Risk: tracking.RiskSafetyNet}
	if err := s.RecordPushMarks(ctx, []store.PushMark{{OrderID: raced, Source: "clickpost", At: now, Plan: pushed}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.RecordFirstPlans(ctx, []store.FirstPlan{
		{OrderID: fresh, Plan: store.PollPlan{NextPollAt: now, Risk: tracking.RiskNDR}},
		{OrderID: raced, Plan: store.PollPlan{NextPollAt: now, Risk: tracking.RiskStable}},
	})
	if err != nil || n != 1 {
		t.Fatalf("first plans: %d written, %v; want 1", n, err)
	}
	if doc := orderDoc(t, s, fresh); doc["poll_risk"] != int32(tracking.RiskNDR) {
		t.Errorf("the never-planned order: %v, want planned at risk %d", doc, tracking.RiskNDR)
	}
	if doc := orderDoc(t, s, raced); doc["poll_risk"] != int32(tracking.RiskSafetyNet) {
		t.Errorf("the order a push planned: %v, want the push's plan kept", doc)
	}
}
