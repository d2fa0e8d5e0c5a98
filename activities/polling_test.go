package activities

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
)

var testPolling = tracking.PollingPolicy{Every: 8 * time.Minute, BackoffBase: 8 * time.Minute, BackoffFactor: 2,
	MaxGap: time.Hour, SafetyNet: 2 * time.Hour}

// scopeStore records the scopes the sweep's reads were given.
type scopeStore struct {
	recordingStore
	scopes []store.SweepScope
}

func (s *scopeStore) OrdersToPoll(ctx context.Context, scope store.SweepScope, r store.IDRange, n int) ([]store.PollTarget, error) {
	s.scopes = append(s.scopes, scope)
	return s.recordingStore.OrdersToPoll(ctx, scope, r, n)
}

func (s *scopeStore) PartitionBatches(_ context.Context, scope store.SweepScope, _ string, _, _ int) ([]store.IDRange, int, error) {
	s.scopes = append(s.scopes, scope)
	return nil, 0, nil
}

// In adaptive mode every read is of the due orders within the courier's
// budget, and every polled order gets its next poll from the policy, read as
// the poll leaves it; uniform mode writes no plan.
func TestAdaptivePollBatchPlansEveryPolledOrdersNextPoll(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	body := `{"ShipmentData":[
	 {"Shipment":{"AWB":"STAY","Status":{"Status":"In Transit","StatusType":"UD","StatusCode":"X","StatusDateTime":"2026-11-20T11:30:00"}}},
	 {"Shipment":{"AWB":"OFD","Status":{"Status":"Dispatched","StatusType":"UD","StatusCode":"X","StatusDateTime":"2026-11-20T17:00:00"}}},
	 {"Shipment":{"AWB":"NDR","Status":{"Status":"Pending","StatusType":"UD","StatusCode":"EOD-74","StatusDateTime":"2026-11-20T11:30:00"}}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	since := now.Add(-time.Hour)
	targets := []store.PollTarget{
		{OrderID: "o-stay", AWB: "STAY", TrackingStatus: tracking.InTransit, StatusAt: since, FirstSeen: map[string]time.Time{"in_transit": since}},
		{OrderID: "o-ofd", AWB: "OFD", TrackingStatus: tracking.InTransit, StatusAt: since, FirstSeen: map[string]time.Time{"in_transit": since}},
		{OrderID: "o-ndr", AWB: "NDR", TrackingStatus: tracking.NDR, StatusAt: since, FirstSeen: map[string]time.Time{"ndr": since}},
		{OrderID: "o-none", AWB: "NONE", TrackingStatus: tracking.InTransit, StatusAt: since},
	}
	poll := func(adaptive bool) (*scopeStore, map[string]*store.PollPlan) {
		st := &scopeStore{recordingStore: recordingStore{targets: targets}}
		acts := &SweepActivities{Store: st, Now: func() time.Time { return now }, Couriers: couriers.NewRegistry(
			delhivery.New(delhivery.Options{BaseURL: srv.URL, Token: "t", Timeout: 5 * time.Second, LimitBackoff: time.Minute}))}
		if adaptive {
			acts.Polling = &AdaptivePolling{Policy: testPolling, Budgets: map[string]int{tracking.APIDelhivery: 40}}
		}
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		if _, err := env.ExecuteActivity(acts.NextPartition, NextPartitionInput{Tracker: tracking.TrackerDelhivery, Size: 10, BatchSize: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.ExecuteActivity(acts.PollBatch, PollBatchInput{Tracker: tracking.TrackerDelhivery, Range: IDRange{Last: "z"}, BatchSize: 50}); err != nil {
			t.Fatal(err)
		}
		plans := map[string]*store.PollPlan{}
		for _, m := range st.marks {
			if m.Plan != nil {
				plans[m.OrderID] = m.Plan
			}
		}
		return st, plans
	}

	st, plans := poll(true)
	for _, scope := range st.scopes {
		if !scope.DueAt.Equal(now) || scope.Budget != 40 {
			t.Errorf("adaptive read with scope %+v, want due at %v within a budget of 40", scope, now)
		}
	}
	want := map[string]store.PollPlan{
		// In transit for an hour: 8 min + 1 × 60 min, capped at the hour, less half a sweep.
		"o-stay": {NextPollAt: now.Add(time.Hour - 4*time.Minute), Risk: tracking.RiskStable},
		"o-ofd":  {NextPollAt: now, Risk: tracking.RiskOutForDelivery}, // just went out for delivery
		"o-ndr":  {NextPollAt: now, Risk: tracking.RiskNDR},
		"o-none": {NextPollAt: now.Add(time.Hour - 4*time.Minute), Risk: tracking.RiskStable}, // no data: as it was
	}
	if len(plans) != len(want) {
		t.Errorf("plans for %d orders, want %d: %v", len(plans), len(want), plans)
	}
	for id, w := range want {
		if p := plans[id]; p == nil || !p.NextPollAt.Equal(w.NextPollAt) || p.Risk != w.Risk {
			t.Errorf("%s: plan %+v, want %+v", id, p, w)
		}
	}

	st, plans = poll(false)
	if len(plans) != 0 {
		t.Errorf("uniform polling wrote plans: %v", plans)
	}
	for _, scope := range st.scopes {
		if !scope.DueAt.IsZero() || scope.Budget != 0 {
			t.Errorf("uniform read with an adaptive scope %+v", scope)
		}
	}
}

// The sweep's first read plans, from their stored state and without a
// courier call, the orders adaptive polling has never planned; the sweep's
// later reads plan none, and uniform polling plans nothing.
func TestSweepsFirstReadPlansNeverPlannedOrders(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	since := now.Add(-time.Hour)
	unplanned := []store.PollTarget{
		{OrderID: "o-ndr", AWB: "NDR", TrackingStatus: tracking.NDR, StatusAt: since, FirstSeen: map[string]time.Time{"ndr": since}},
		{OrderID: "o-stay", AWB: "STAY", TrackingStatus: tracking.InTransit, StatusAt: since},
		{OrderID: "o-new", AWB: "NEW"}, // never tracked
	}
	firstPlans := func(adaptive bool, after string) map[string]store.PollPlan {
		st := &recordingStore{unplanned: unplanned}
		acts := &SweepActivities{Store: st, Now: func() time.Time { return now }}
		if adaptive {
			acts.Polling = &AdaptivePolling{Policy: testPolling, Budgets: map[string]int{tracking.APIDelhivery: 40}}
		}
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		if _, err := env.ExecuteActivity(acts.NextPartition, NextPartitionInput{Tracker: tracking.TrackerDelhivery, After: after, Size: 10, BatchSize: 5}); err != nil {
			t.Fatal(err)
		}
		plans := map[string]store.PollPlan{}
		for _, p := range st.firstPlans {
			plans[p.OrderID] = p.Plan
		}
		return plans
	}

	want := map[string]store.PollPlan{
		"o-ndr":  {NextPollAt: now, Risk: tracking.RiskNDR},
		"o-stay": {NextPollAt: now.Add(time.Hour - 4*time.Minute), Risk: tracking.RiskStable}, // as a poll would back it off
		"o-new":  {NextPollAt: now, Risk: tracking.RiskStable},
	}
	if got := firstPlans(true, ""); !maps.EqualFunc(got, want, func(a, b store.PollPlan) bool { return a.NextPollAt.Equal(b.NextPollAt) && a.Risk == b.Risk }) {
		t.Errorf("first plans %v, want %v", got, want)
	}
	if got := firstPlans(true, "o-1"); len(got) != 0 {
		t.Errorf("a later read of the sweep planned %v", got)
	}
	if got := firstPlans(false, ""); len(got) != 0 {
		t.Errorf("uniform polling planned %v", got)
	}
}

// pushMarkStore is an activities Store that applies nothing and records push marks.
type pushMarkStore struct {
	Store
	marks []store.PushMark
}

func (p *pushMarkStore) ApplyObservations(context.Context, []tracking.Observation) (store.ApplyResult, error) {
	return store.ApplyResult{}, nil
}

func (p *pushMarkStore) RecordPushMarks(_ context.Context, marks []store.PushMark) error {
	p.marks = append(p.marks, marks...)
	return nil
}

// A push marks each order it reports once, by its newest observation: the
// order waits out one sweep interval, or the safety net for a covering source.
func TestPushMarksEachReportedOrderForAdaptivePolling(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	st := &pushMarkStore{}
	policy := testPolling
	policy.PushCovered = []string{"fulfilment"}
	a := &Activities{Store: st, Now: func() time.Time { return now }, Polling: &PushPolling{Policy: policy, Store: st}}
	obs := []tracking.Observation{
		{OrderID: "o1", Source: "clickpost", Status: tracking.OutForDelivery, EventTime: now.Add(-time.Hour)},
		{OrderID: "o1", Source: "clickpost", Status: tracking.NDR, EventTime: now.Add(-time.Minute)},
		{OrderID: "o2", Source: "fulfilment", Status: tracking.InTransit, EventTime: now.Add(-time.Minute)},
	}
	if _, err := a.ApplyStatusObservations(context.Background(), ApplyStatusInput{Observations: obs}); err != nil {
		t.Fatal(err)
	}
	want := []store.PushMark{
		{OrderID: "o1", Source: "clickpost", At: now, Plan: store.PollPlan{NextPollAt: now.Add(8 * time.Minute), Risk: tracking.RiskNDR}},
		{OrderID: "o2", Source: "fulfilment", At: now, Plan: store.PollPlan{NextPollAt: now.Add(2*time.Hour - 4*time.Minute), Risk: tracking.RiskSafetyNet}},
	}
	if len(st.marks) != len(want) {
		t.Fatalf("marks %+v, want %+v", st.marks, want)
	}
	for i, w := range want {
		if m := st.marks[i]; m.OrderID != w.OrderID || m.Source != w.Source || !m.At.Equal(w.At) ||
			!m.Plan.NextPollAt.Equal(w.Plan.NextPollAt) || m.Plan.Risk != w.Plan.Risk {
			t.Errorf("mark %d: %+v, want %+v", i, m, w)
		}
	}

	a.Polling, st.marks = nil, nil // uniform polling
	if _, err := a.ApplyStatusObservations(context.Background(), ApplyStatusInput{Observations: obs}); err != nil || len(st.marks) != 0 {
		t.Errorf("uniform polling marked %+v (%v)", st.marks, err)
	}
}
