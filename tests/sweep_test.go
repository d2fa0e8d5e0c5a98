//go:build integration

package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"orderflow/config"
	sbcouriers "orderflow/dev/sandbox/couriers"
	"orderflow/starter"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

func rtoInTransit() sbcouriers.DelhiveryStatus {
	return sbcouriers.DelhiveryStatus{Status: "In Transit", StatusType: "RT", StatusCode: "RT-101"}
}

// triggerAndWait triggers the Schedule and waits for the run it starts.
func (s *sweepStack) triggerAndWait(h client.ScheduleHandle, nth int) (string, workflows.SweepStats) {
	s.t.Helper()
	ctx := context.Background()
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		s.t.Fatal(err)
	}
	var runID string
	eventually(s.t, 30*time.Second, fmt.Sprintf("schedule action %d", nth), func() bool {
		d, err := h.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) < nth {
			return false
		}
		runID = d.Info.RecentActions[nth-1].StartWorkflowResult.WorkflowID
		return true
	})
	var stats workflows.SweepStats
	s.waitWorkflow(runID, &stats)
	return runID, stats
}

// (a) A schedule-triggered sweep turns an order RTO and the CRM receives
// exactly one POST; (b) later sweeps send nothing more.
func TestScheduleTriggeredSweepSendsOnePOSTAndLaterSweepsNothing(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), nil)
	s.configureRTOWebhook()
	order := s.order(tracking.CourierNameDelhivery, "57930830000001", tracking.InTransit)
	s.couriers.SetDelhivery("57930830000001", rtoInTransit())

	ctx := context.Background()
	if created, err := starter.ApplySchedule(ctx, s.temporal, s.cfg); err != nil || !created {
		t.Fatalf("apply: %v %v", created, err)
	}
	if created, err := starter.ApplySchedule(ctx, s.temporal, s.cfg); err != nil || created {
		t.Fatalf("apply again must update: %v %v", created, err)
	}
	h := s.temporal.ScheduleClient().GetHandle(ctx, s.cfg.Sweep.ScheduleID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	if err != nil || d.Schedule.Policy.Overlap.String() != "Skip" || d.Schedule.Spec.Intervals[0].Every != time.Hour {
		t.Fatalf("schedule %+v %v", d, err)
	}

	runID, stats := s.triggerAndWait(h, 1)
	s.waitRTOCancels([]string{order})
	trackerID := workflows.TrackerSweepWorkflowID(runID, tracking.TrackerDelhivery)
	s.recordHistory(runID, "tracking_sweep_history.json")
	s.recordHistory(trackerID, "tracker_sweep_history.json")
	if stats.Polled != 1 || stats.FirstRTOs != 1 || stats.Calls[tracking.APIDelhivery] != 1 {
		t.Errorf("first sweep %+v", stats)
	}
	if got := s.crmOrders(); len(got) != 1 || got[order] != 1 {
		t.Fatalf("CRM received %v, want one POST for %s", got, order)
	}
	doc := s.orderDoc(order)
	if doc["tracking_status"] != tracking.RTOInTransit || doc["tracking_source"] != tracking.TrackerDelhivery {
		t.Errorf("order %v", doc)
	}
	// The run carries its figures as search attributes.
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, runID, "")
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.WorkflowExecutionInfo.SearchAttributes.IndexedFields
	if string(sa[workflows.SweepFirstRTOsAttr.GetName()].GetData()) != "1" ||
		!strings.Contains(string(sa[workflows.SweepCourierCallsAttr.GetName()].GetData()), `"delhivery=1"`) {
		t.Errorf("search attributes %v", sa)
	}

	// (b) The same RTO again, then RTO delivered: nothing more reaches the CRM,
	// and the RTO-delivered order leaves the active set.
	_, again := s.triggerAndWait(h, 2)
	s.couriers.SetDelhivery("57930830000001", sbcouriers.DelhiveryStatus{Status: "RTO", StatusType: "DL", StatusCode: "RT-110"})
	_, delivered := s.triggerAndWait(h, 3)
	_, after := s.triggerAndWait(h, 4)
	if again.FirstRTOs != 0 || again.Changed != 0 || delivered.FirstRTOs != 0 || delivered.Changed != 1 || after.Polled != 0 {
		t.Errorf("later sweeps: same %+v, rto delivered %+v, after %+v", again, delivered, after)
	}
	if got := s.crmOrders(); len(got) != 1 || got[order] != 1 {
		t.Errorf("CRM received %v after later sweeps, want still one POST", got)
	}
	if s.orderDoc(order)["tracking_status"] != tracking.RTODelivered {
		t.Errorf("order %v", s.orderDoc(order))
	}
}

// (c) Two sweeps triggered at once on the same orders still give one POST per order.
func TestTwoSweepsAtOnceGiveOnePOSTPerOrder(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), func(c *config.Config) { c.Couriers.Delhivery.BatchSize = 3 })
	s.configureRTOWebhook()
	var orders []string
	for i := range 7 {
		awb := fmt.Sprintf("5793084000000%d", i)
		orders = append(orders, s.order(tracking.CourierNameDelhivery, awb, tracking.InTransit))
		s.couriers.SetDelhivery(awb, rtoInTransit())
	}
	var wg sync.WaitGroup
	stats := make([]workflows.SweepStats, 2)
	errs := make([]error, len(stats))
	for i := range stats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i], errs[i] = s.trySweep(fmt.Sprintf("%s-concurrent-%d", s.cfg.Sweep.ScheduleID, i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s.waitRTOCancels(orders)
	got := s.crmOrders()
	for _, o := range orders {
		if got[o] != 1 {
			t.Errorf("order %s: %d POSTs, want 1", o, got[o])
		}
	}
	if len(got) != len(orders) {
		t.Errorf("CRM received %v", got)
	}
	if started := stats[0].FirstRTOs + stats[1].FirstRTOs; started != len(orders) {
		t.Errorf("the two sweeps started %d RTOCancels (%+v, %+v), want %d", started, stats[0], stats[1], len(orders))
	}
}

// (d) A courier sandbox enforcing its limit with 403s sees no 403 from a sweep
// of 3× its per-window limit, and the calls made equal ceil(orders ÷ batch size).
// The orders already hold what the courier reports, so polls write nothing and
// nothing but the task queue's rate paces the calls: the control sweep, whose
// queue is configured far above the limit, does get 403s. Small partitions also
// show the history bounded: more orders give more runs, each of a bounded size.
func TestSweepOfThreeTimesTheLimitStaysUnderIt(t *testing.T) {
	const limit, window, batch = 10, 2 * time.Second, 5
	n := 3 * limit * batch // 3× what one window allows
	wantCalls := (n + batch - 1) / batch

	s, stats, took := limitSweep(t, n, limit, window, batch, limit)
	// Partitions of 20 orders: TrackerPartition children, given their batches by TrackerSweep's read.
	s.recordHistory(workflows.TrackerPartitionWorkflowID(workflows.TrackerSweepWorkflowID(s.cfg.Sweep.ScheduleID+"-limit", tracking.TrackerDelhivery), 0),
		"tracker_partition_history.json")
	st := s.couriers.Stats(tracking.APIDelhivery)
	if st.Rejected != 0 {
		t.Errorf("the sandbox refused %d calls with 403", st.Rejected)
	}
	if st.Calls != wantCalls || stats.Calls[tracking.APIDelhivery] != wantCalls || stats.Polled != n || stats.Changed != 0 {
		t.Errorf("calls: sandbox %d, sweep %+v; want %d for %d orders, nothing changed", st.Calls, stats, wantCalls, n)
	}
	// 30 calls at 2.5/s cannot finish in much under 10 s: the queue's rate did the pacing.
	if took < 8*time.Second {
		t.Errorf("a sweep of 3 windows' worth took only %v", took)
	}
	// 150 orders / 20 per partition = 8 partitions; 2 per TrackerSweep run = 4 runs.
	runs, events, maxEvents := s.historyCost(s.cfg.Sweep.ScheduleID+"-limit", 1+4+8)
	t.Logf("sweep of %d orders: %d calls in %v, %d workflow runs, %d history events (largest run %d)", n, st.Calls, took, runs, events, maxEvents)
	if maxEvents > 80 {
		t.Errorf("a run has %d events: history is not bounded by the sizes", maxEvents)
	}

	// The control shows the sandbox does refuse an unpaced sweep, so the zero
	// above means something. Its sandbox allows 3 calls per window (1.5/s),
	// well under what an unpaced sweep reaches even on a loaded 2-core
	// machine (3.4 calls/s seen with two busy loops beside it): the control
	// must not depend on the machine being fast.
	const controlLimit = 3
	control, cstats, ctook := limitSweep(t, n, controlLimit, window, batch, 100*limit)
	cst := control.couriers.Stats(tracking.APIDelhivery)
	t.Logf("control (sandbox %d calls per %v, queue rate set for 100× the test's limit): %d calls, %d refused with 403, in %v",
		controlLimit, window, cst.Calls, cst.Rejected, ctook)
	if cst.Rejected == 0 || cstats.Polled != n {
		t.Errorf("without the queue's pacing the sandbox must refuse calls: %+v, sweep %+v", cst, cstats)
	}
}

// limitSweep sweeps n Delhivery orders against a sandbox allowing limit calls
// per window, with the courier queue's rate derived from configuredLimit.
func limitSweep(t *testing.T, n, limit int, window time.Duration, batch, configuredLimit int) (*sweepStack, workflows.SweepStats, time.Duration) {
	o := sbcouriers.DefaultOptions()
	o.DelhiveryLimit, o.Window = limit, window
	s := newSweepStack(t, o, func(c *config.Config) {
		d := &c.Couriers.Delhivery
		d.RequestsPerWindow, d.Window, d.SafetyMargin, d.BatchSize, d.LimitBackoff = configuredLimit, window, 0.5, batch, time.Second
		c.Sweep.PartitionSize, c.Sweep.MaxParallelPartitions, c.Sweep.MaxParallelPolls, c.Sweep.PartitionsPerRun = 20, 2, 4, 2
		c.Couriers.DelhiveryB2B.BaseURL, c.Couriers.Shiprocket.BaseURL = "", "" // Delhivery B2C only: no other tracker, no fallback
	})
	status := sbcouriers.DelhiveryStatus{Status: "In Transit", StatusType: "UD", StatusCode: "X-PPOM"}
	awb := func(i int) string { return fmt.Sprintf("579308500%05d", i) }
	for i := range n {
		s.couriers.SetDelhivery(awb(i), status)
	}
	ids := s.orders(n, tracking.CourierNameDelhivery, awb)
	// As a previous sweep left them: in transit since before the courier's event, raw status recorded.
	oids := make(bson.A, len(ids))
	for i, id := range ids {
		oids[i], _ = bson.ObjectIDFromHex(id)
	}
	if _, err := s.store.Database().Collection(store.OrdersCollection).UpdateMany(context.Background(),
		bson.M{"_id": bson.M{"$in": oids}}, bson.M{"$set": bson.M{
			"tracking_timestamps.in_transit": time.Now().Add(-time.Hour),
			"tracking_raw_status":            "delhivery:UD/In Transit/X-PPOM",
		}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stats := s.sweep(s.cfg.Sweep.ScheduleID + "-limit")
	return s, stats, time.Since(start)
}

// (e) Orders whose primary source returns no data are picked up by the fallback tracker.
func TestFallbackTrackerPicksUpOrdersThePrimaryHasNoDataFor(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), nil)
	s.configureRTOWebhook()
	// Shiprocket knows one order; the other only Delhivery knows (and it is RTO there).
	known := s.order(tracking.CourierNameShiprocket, "19041130000001", tracking.InTransit)
	s.couriers.SetShiprocket("19041130000001", sbcouriers.ShiprocketStatus{Code: 17, Label: "Out For Delivery"})
	lost := s.order(tracking.CourierNameShiprocket, "57930860000002", tracking.InTransit)
	s.couriers.SetDelhivery("57930860000002", rtoInTransit())

	stats := s.sweep(s.cfg.Sweep.ScheduleID + "-fallback")
	s.waitRTOCancels([]string{lost})
	if stats.NoData != 1 || stats.Calls[tracking.APIShiprocket] != 1 || stats.Calls[tracking.APIDelhivery] != 1 || stats.FirstRTOs != 1 {
		t.Errorf("stats %+v", stats)
	}
	if doc := s.orderDoc(lost); doc["tracking_status"] != tracking.RTOInTransit || doc["tracking_source"] != tracking.TrackerDelhiveryFallback {
		t.Errorf("fallback order %v", doc)
	}
	if doc := s.orderDoc(known); doc["tracking_status"] != tracking.OutForDelivery || doc["tracking_no_data_at"] != nil {
		t.Errorf("primary order %v", doc)
	}
	if got := s.crmOrders(); len(got) != 1 || got[lost] != 1 {
		t.Errorf("CRM received %v", got)
	}
}

// (f) Customer returns and cancelled parcels never reach the CRM; a real RTO in
// the same sweep does, once.
func TestCustomerReturnsAndCancelledParcelsNeverReachTheCRM(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), nil)
	s.configureRTOWebhook()
	never := map[string]string{}
	for awb, st := range map[string]sbcouriers.DelhiveryStatus{
		"57930870000001": {Status: "In Transit", StatusType: "PU", StatusCode: "X-PIOM"}, // customer return in transit
		"57930870000002": {Status: "DTO", StatusType: "DL", StatusCode: "EOD-600"},       // customer return delivered
		"57930870000003": {Status: "Returned", StatusType: "CN", StatusCode: "CN-001"},   // cancelled reading "Returned"
		"57930870000004": {Status: "Not Picked", StatusType: "UD", StatusCode: "DTUP-210"},
		"57930870000005": {Status: "Open", StatusType: "PP", StatusCode: "X-ASP"},
	} {
		never[s.order(tracking.CourierNameDelhivery, awb, tracking.InTransit)] = awb
		s.couriers.SetDelhivery(awb, st)
	}
	for awb, st := range map[string]sbcouriers.ShiprocketStatus{
		"19041170000001": {Code: 46, Label: "RTO In Transit", IsReturn: true}, // a return reusing RTO labels
		"19041170000002": {Code: 8, Label: "Canceled"},
		"19041170000003": {Code: 45, Label: "Cancelled Before Dispatched"},
	} {
		never[s.order(tracking.CourierNameShiprocket, awb, tracking.InTransit)] = awb
		s.couriers.SetShiprocket(awb, st)
	}
	b2b := s.order(tracking.CourierNameDelhiveryB2B, "220077001", tracking.InTransit)
	s.couriers.SetB2B("220077001", "RETURNED_INTRANSIT")

	stats := s.sweep(s.cfg.Sweep.ScheduleID + "-returns")
	s.waitRTOCancels([]string{b2b})
	if stats.FirstRTOs != 1 || stats.CustomerReturns != 4 || stats.Calls[tracking.APIDelhiveryB2B] != 1 {
		t.Errorf("stats %+v", stats)
	}
	if got := s.crmOrders(); len(got) != 1 || got[b2b] != 1 {
		t.Errorf("CRM received %v, want one POST for the B2B RTO only", got)
	}
	for id, awb := range never {
		doc := s.orderDoc(id)
		if tracking.IsRTO(fmt.Sprint(doc["tracking_status"])) || doc["rto_claim"] != nil {
			t.Errorf("%s (%s) became RTO: %v", awb, doc["tracking_raw_status"], doc)
		}
	}
	if s.couriers.Stats(tracking.APIDelhiveryB2B).Logins != 1 {
		t.Errorf("B2B logins %d, want 1", s.couriers.Stats(tracking.APIDelhiveryB2B).Logins)
	}
}

// The starter's schedule commands, as ops run them.
func TestScheduleCommands(t *testing.T) {
	s := newSweepStack(t, sbcouriers.DefaultOptions(), nil)
	ctx := context.Background()
	logger := zap.NewNop()
	run := func(args ...string) (string, error) {
		var out strings.Builder
		err := starter.ScheduleCommand(ctx, s.cfg, logger, args, &out)
		return out.String(), err
	}
	t.Cleanup(func() { _ = s.temporal.ScheduleClient().GetHandle(ctx, s.cfg.Sweep.ScheduleID).Delete(ctx) })
	if out, err := run("apply"); err != nil || !strings.Contains(out, "created") {
		t.Fatalf("apply: %q %v", out, err)
	}
	s.cfg.Sweep.Every = 2 * time.Hour
	if out, err := run("apply"); err != nil || !strings.Contains(out, "updated") {
		t.Fatalf("apply again: %q %v", out, err)
	}
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last describe: %s", last)
		}
	})
	// describe decodes `schedule describe`; Schedule updates reach the scheduler as signals, hence the waits.
	describe := func() (d struct {
		Paused        bool              `json:"paused"`
		Every         string            `json:"every"`
		Note          string            `json:"note"`
		RecentActions []json.RawMessage `json:"recent_actions"`
	}) {
		out, err := run("describe")
		if err != nil {
			t.Fatal(err)
		}
		last = out
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("describe is not JSON: %v", err)
		}
		return d
	}
	if _, err := run("pause", "-note", "courier outage"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "paused", func() bool {
		d := describe()
		return d.Paused && d.Every == "2h0m0s" && d.Note == "courier outage"
	})
	if _, err := run("unpause"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "unpaused", func() bool { return !describe().Paused })
	if _, err := run("backfill", "-from", "yesterday"); err == nil {
		t.Error("a bad backfill range must be refused")
	}
	now := time.Now().UTC()
	if _, err := run("backfill", "-from", now.Add(-5*time.Hour).Format(time.RFC3339), "-to", now.Add(-time.Hour).Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "a backfilled sweep", func() bool { return len(describe().RecentActions) >= 1 })
	if _, err := run("trigger"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the backfilled and triggered sweeps", func() bool { return len(describe().RecentActions) >= 2 })
	if _, err := run("frobnicate"); err == nil {
		t.Error("an unknown command must be refused")
	}
}
