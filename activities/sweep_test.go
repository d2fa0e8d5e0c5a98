package activities

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
)

type recordingStore struct {
	targets    []store.PollTarget
	applied    []tracking.Observation
	marks      []store.PollMark
	unplanned  []store.PollTarget // what UnplannedOrders answers
	firstPlans []store.FirstPlan
}

func (r *recordingStore) UnplannedOrders(context.Context, store.SweepScope, int) ([]store.PollTarget, error) {
	return r.unplanned, nil
}

func (r *recordingStore) RecordFirstPlans(_ context.Context, plans []store.FirstPlan) (int64, error) {
	r.firstPlans = append(r.firstPlans, plans...)
	return int64(len(plans)), nil
}

func (r *recordingStore) NextPartition(context.Context, store.SweepScope, string, int) (string, int, error) {
	return "", 0, nil
}

func (r *recordingStore) BatchRanges(context.Context, store.SweepScope, store.IDRange, int) ([]store.IDRange, error) {
	return nil, nil
}

func (r *recordingStore) OrdersToPoll(context.Context, store.SweepScope, store.IDRange, int) ([]store.PollTarget, error) {
	return r.targets, nil
}

func (r *recordingStore) PartitionBatches(context.Context, store.SweepScope, string, int, int) ([]store.IDRange, int, error) {
	return nil, 0, nil
}

func (r *recordingStore) ApplyPoll(_ context.Context, obs []tracking.Observation, m []store.PollMark, _ time.Time) (store.ApplyResult, error) {
	r.applied = append(r.applied, obs...)
	r.marks = append(r.marks, m...)
	return store.ApplyResult{Modified: int64(len(obs))}, nil
}

// One poll: only changes are applied, no data marks the order for the
// fallback, an unknown status is kept raw and counted, a customer return is
// counted and applied as return (a delivered order moves on to it).
func TestPollBatchAppliesOnlyWhatChanged(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	body := `{"ShipmentData":[
	 {"Shipment":{"AWB":"SAME","Status":{"Status":"In Transit","StatusType":"UD","StatusCode":"X","StatusDateTime":"2026-11-20T15:30:00"}}},
	 {"Shipment":{"AWB":"NEW","Status":{"Status":"Dispatched","StatusType":"UD","StatusCode":"X","StatusDateTime":"2026-11-20T16:30:00"}}},
	 {"Shipment":{"AWB":"RTO","Status":{"Status":"In Transit","StatusType":"RT","StatusCode":"RT-101","StatusDateTime":"2026-11-20T15:30:00"}}},
	 {"Shipment":{"AWB":"ODD","Status":{"Status":"Teleported","StatusType":"UD","StatusCode":"Z","StatusDateTime":"2026-11-20T15:30:00"}}},
	 {"Shipment":{"AWB":"RET","Status":{"Status":"In Transit","StatusType":"PU","StatusCode":"X","StatusDateTime":"2026-11-20T15:30:00"}}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	seenAt := map[string]time.Time{"in_transit": at, "rto_in_transit": at}
	st := &recordingStore{targets: []store.PollTarget{
		// Already in transit since this very event: nothing to write.
		{OrderID: "o-same", AWB: "SAME", TrackingStatus: tracking.InTransit, StatusAt: at, FirstSeen: seenAt, RawStatus: "delhivery:UD/In Transit/X"},
		{OrderID: "o-new", AWB: "NEW", TrackingStatus: tracking.InTransit, StatusAt: at, FirstSeen: seenAt},
		// In RTO with its first-seen time but no claim: re-applied so its RTOCancel is started.
		{OrderID: "o-rto", AWB: "RTO", TrackingStatus: tracking.RTOInTransit, StatusAt: at, FirstSeen: seenAt},
		{OrderID: "o-odd", AWB: "ODD", TrackingStatus: tracking.InTransit},
		{OrderID: "o-ret", AWB: "RET", TrackingStatus: tracking.Delivered},
		{OrderID: "o-none", AWB: "NONE", TrackingStatus: tracking.InTransit},
	}}
	metrics := observability.NewMetrics()
	acts := &SweepActivities{Store: st, Metrics: metrics, Couriers: couriers.NewRegistry(
		delhivery.New(delhivery.Options{BaseURL: srv.URL, Token: "t", Timeout: 5 * time.Second, LimitBackoff: time.Minute}),
	)}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	for round := 0; round < 2; round++ {
		val, err := env.ExecuteActivity(acts.PollBatch, PollBatchInput{Tracker: tracking.TrackerDelhivery, Range: IDRange{Last: "z"}, BatchSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		var res PollBatchResult
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		if res.Polled != 6 || res.Found != 5 || res.NoData != 1 || res.Unknown != 1 || res.CustomerReturns != 1 || res.Calls != 1 || res.Changed != 3 {
			t.Errorf("round %d: %+v", round, res)
		}
	}
	if len(st.applied) != 6 || st.applied[0].OrderID != "o-new" || st.applied[0].Status != tracking.OutForDelivery ||
		st.applied[1].OrderID != "o-rto" || st.applied[1].Source != tracking.TrackerDelhivery ||
		st.applied[2].OrderID != "o-ret" || st.applied[2].Status != tracking.Return {
		t.Errorf("applied %+v", st.applied)
	}
	// IST without offset: 16:30 IST is 11:00 UTC.
	if !st.applied[0].EventTime.Equal(time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("event time %v", st.applied[0].EventTime)
	}
	noData, rawOdd := 0, ""
	for _, m := range st.marks {
		if m.NoData && m.OrderID == "o-none" {
			noData++
		}
		if m.OrderID == "o-odd" {
			rawOdd = m.Raw
		}
		if m.OrderID == "o-same" {
			t.Errorf("unchanged order marked: %+v", m)
		}
	}
	if noData != 2 || rawOdd != "delhivery:UD/Teleported/Z" {
		t.Errorf("marks %+v", st.marks)
	}
	if n := testutil.ToFloat64(metrics.CourierUnknownStatuses.WithLabelValues(tracking.APIDelhivery)); n != 2 {
		t.Errorf("unknown statuses counted %v, want 2 (logged once)", n)
	}
}

func TestPollBatchTurnsA403IntoARetryAfterTheBackOff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	metrics := observability.NewMetrics()
	acts := &SweepActivities{Store: &recordingStore{targets: []store.PollTarget{{OrderID: "o", AWB: "A"}}}, Metrics: metrics,
		Couriers: couriers.NewRegistry(delhivery.New(delhivery.Options{BaseURL: srv.URL, Token: "t", Timeout: 5 * time.Second, LimitBackoff: 8 * time.Minute}))}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.PollBatch, PollBatchInput{Tracker: tracking.TrackerDelhivery, BatchSize: 50})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeCourierRateLimited || appErr.NextRetryDelay() != 8*time.Minute {
		t.Fatalf("a 403 must become a %s retried after the back-off, got %v", ErrTypeCourierRateLimited, err)
	}
	if n := testutil.ToFloat64(metrics.CourierRateLimited.WithLabelValues(tracking.APIDelhivery, "403")); n != 1 {
		t.Errorf("403s counted %v", n)
	}
}
