package workflows

import (
	"testing"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

func runStatusUpdate(t *testing.T, f *pushFixture, in StatusUpdateInput) StatusUpdateResult {
	t.Helper()
	f.env.RegisterWorkflow(StatusUpdate)
	f.env.ExecuteWorkflow(StatusUpdate, in)
	if !f.env.IsWorkflowCompleted() || f.env.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed=%v err=%v", f.env.IsWorkflowCompleted(), f.env.GetWorkflowError())
	}
	var res StatusUpdateResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// A report the edge accepted while the store could not answer, about an order
// the store turns out not to hold, is recorded in push_events as unmatched,
// as a push about an unknown order is, and starts nothing.
func TestStatusUpdateForAnOrderThatNeverAppearedIsRecordedUnmatched(t *testing.T) {
	f := newPushFixture("")
	obs := tracking.Observation{OrderID: "64a0000000000000000000ee", Source: "api", Status: tracking.Delivered, EventTime: pushAt}
	res := runStatusUpdate(t, f, StatusUpdateInput{Observations: []tracking.Observation{obs}})
	if len(res.Unmatched) != 1 || res.Unmatched[0] != obs.OrderID || len(res.RTOCancelsStarted) != 0 || len(f.children) != 0 {
		t.Errorf("result %+v, children %+v; want the order unmatched and nothing started", res, f.children)
	}
	if len(f.store.recorded) != 1 {
		t.Fatalf("recorded %+v, want one push_events record", f.store.recorded)
	}
	rec := f.store.recorded[0]
	if rec.Source != StatusReportSource || rec.Outcome != push.OutcomeUnmatched || rec.Event != "api" ||
		len(rec.OrderRefs) != 1 || rec.OrderRefs[0].Field != push.OrderByID || rec.OrderRefs[0].Value != obs.OrderID ||
		len(rec.Statuses) != 1 || rec.Statuses[0] != tracking.Delivered || !rec.EventTime.Equal(pushAt) || rec.ID == "" {
		t.Errorf("record %+v", rec)
	}
}

// A report that changed nothing about an order the store holds (an older
// status) records nothing.
func TestStatusUpdateThatChangedAKnownOrderRecordsNothing(t *testing.T) {
	f := newPushFixture("o1")
	obs := tracking.Observation{OrderID: "o1", Source: "api", Status: tracking.Delivered, EventTime: pushAt}
	res := runStatusUpdate(t, f, StatusUpdateInput{Observations: []tracking.Observation{obs}})
	if len(res.Unmatched) != 0 || len(f.store.recorded) != 0 {
		t.Errorf("result %+v, recorded %+v; want nothing recorded", res, f.store.recorded)
	}
}
