package workflows

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"orderflow/activities"
)

// One RTOCancel whose CRM endpoint is open for four days: its delivery parks
// on durable timers, spends no attempt and no retry window while parked, and
// is delivered once the endpoint lets it through, well past the delivery
// activity's 72-hour ScheduleToClose. The test environment skips the time.
func TestParkedRTOCancelSpendsNoAttemptsAndDoesNotExpire(t *testing.T) {
	f := newRTOCancelFixture(t)
	const parkedFor = 4 * 24 * time.Hour
	start := f.env.Now()
	var calls []activities.DeliverInput
	f.env.OnActivity(a.DeliverWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			calls = append(calls, in)
			if f.env.Now().Sub(start) < parkedFor {
				return activities.DeliverResult{ParkOutcome: activities.ParkOutcome{Parked: true, ParkReason: activities.ParkOpen, RecheckIn: time.Hour}}, nil
			}
			return activities.DeliverResult{StatusCode: 200}, nil
		})
	var parkedState RTOCancelState
	f.env.RegisterDelayedCallback(func() {
		v, err := f.env.QueryWorkflow(DeliveryStateQuery)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(&parkedState); err != nil {
			t.Errorf("query result: %v", err)
		}
	}, 36*time.Hour)

	res := f.run(t)

	if elapsed := f.env.Now().Sub(start); elapsed < parkedFor {
		t.Fatalf("workflow ended after %v, want it parked for %v", elapsed, parkedFor)
	}
	if len(res.Deliveries) != 1 || res.Deliveries[0].Status != DeliveryDelivered {
		t.Fatalf("result %+v, want one delivered delivery", res)
	}
	if len(calls) < 90 {
		t.Fatalf("delivery activity ran %d times, want one per hourly re-check over four days", len(calls))
	}
	for i, in := range calls {
		if !in.Parkable || in.AttemptsBefore != 0 || in.WindowUsed != 0 {
			t.Fatalf("call %d: parkable %v, attempts before %d, window used %v; want parkable with nothing spent", i, in.Parkable, in.AttemptsBefore, in.WindowUsed)
		}
		if i > 0 && !in.Resumed {
			t.Errorf("call %d not marked resumed", i)
		}
	}
	if len(parkedState.Deliveries) != 1 || parkedState.Deliveries[0].Status != DeliveryParked || parkedState.Deliveries[0].Error != activities.ParkOpen {
		t.Errorf("delivery_state while parked = %+v, want the delivery parked with its reason", parkedState)
	}
}

// A drain's release wakes a parked delivery at once, before its re-check timer.
func TestReleasedDeliveryResumesBeforeItsTimer(t *testing.T) {
	f := newRTOCancelFixture(t)
	start := f.env.Now()
	var calls []activities.DeliverInput
	f.env.OnActivity(a.DeliverWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverInput) (activities.DeliverResult, error) {
			calls = append(calls, in)
			if !in.Released {
				return activities.DeliverResult{ParkOutcome: activities.ParkOutcome{Parked: true, ParkReason: activities.ParkDisabled,
					RecheckIn: activities.DisabledRecheck, AttemptsSpent: 2, WindowSpent: time.Minute}}, nil
			}
			return activities.DeliverResult{StatusCode: 200}, nil
		})
	f.env.RegisterDelayedCallback(func() {
		key := WebhookIdempotencyKey("order-1", f.store.webhooks[0].Webhook.ID.Hex())
		f.env.SignalWorkflow(EndpointReadySignal, EndpointReady{RecordID: key})
	}, time.Hour)

	res := f.run(t)

	if len(res.Deliveries) != 1 || res.Deliveries[0].Status != DeliveryDelivered {
		t.Fatalf("result %+v", res)
	}
	if elapsed := f.env.Now().Sub(start); elapsed >= activities.DisabledRecheck {
		t.Errorf("released after %v: the signal did not wake it", elapsed)
	}
	if len(calls) != 2 || calls[1].AttemptsBefore != 2 || calls[1].WindowUsed != time.Minute || !calls[1].Released {
		t.Errorf("calls %+v: want a second, released call carrying the attempts and window spent before parking", calls)
	}
}

// Activities start the drain by name: it must be EndpointDrain's.
func TestEndpointDrainTypeNameMatches(t *testing.T) {
	name := runtime.FuncForPC(reflect.ValueOf(EndpointDrain).Pointer()).Name()
	if !strings.HasSuffix(name, "."+activities.EndpointDrainWorkflowType) {
		t.Errorf("drain workflow registers as %s, activities start %s", name, activities.EndpointDrainWorkflowType)
	}
}

// A drain's groups never go faster than the configured rate and, from one
// release a second up, wait on timers of a second or more (the server's
// timer resolution), so the rate is kept instead of capped near 1/s.
func TestDrainGroupsKeepTheRateWithSecondLongTimers(t *testing.T) {
	for _, rate := range []float64{0.2, 1, 2.5, 10, 250} {
		n, pace := drainGroups(rate)
		if n < 1 || pace <= 0 {
			t.Fatalf("rate %v: %d per %v", rate, n, pace)
		}
		if got := float64(n) / pace.Seconds(); got > rate*1.0001 {
			t.Errorf("rate %v: groups release %.3f/s, above the configured rate", rate, got)
		}
		if rate >= 1 && (pace < time.Second || float64(n)/pace.Seconds() < rate*0.999) {
			t.Errorf("rate %v: %d per %v, want the full rate on timers of at least a second", rate, n, pace)
		}
	}
}

// A drain releases its parked deliveries oldest first, in groups, at its
// rate: each group of ⌈rate⌉ is the next oldest, sent at one moment (the
// test environment runs a group's signals side by side, in any order), and
// groups come a pace apart — never sooner, and not later.
func TestEndpointDrainReleasesInGroupsAtItsRate(t *testing.T) {
	const rate, parked = 2.0, 7
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(EndpointDrain)
	start := env.Now()
	var page []activities.ParkedDelivery
	for i := range parked {
		page = append(page, activities.ParkedDelivery{RecordID: fmt.Sprintf("key-%d", i), WorkflowID: fmt.Sprintf("rto-cancel:%d", i),
			ParkedAt: start.Add(time.Duration(i) * time.Minute)})
	}
	env.OnActivity(endpoints.ListParkedDeliveries, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ParkedPageInput) (activities.ParkedPage, error) {
			if in.AfterID != "" {
				return activities.ParkedPage{Closed: true}, nil // one page, then none left
			}
			return activities.ParkedPage{Closed: true, Deliveries: page}, nil
		})
	env.OnActivity(endpoints.FinishEndpointDrain, mock.Anything, mock.Anything).Return(nil)
	var mu sync.Mutex
	releasedAt := map[time.Time][]string{}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", EndpointReadySignal, mock.Anything).Return(
		func(_, workflowID, _, _ string, _ any) error {
			mu.Lock()
			defer mu.Unlock()
			releasedAt[env.Now()] = append(releasedAt[env.Now()], workflowID)
			return nil
		})
	env.ExecuteWorkflow(EndpointDrain, activities.EndpointDrainInput{Kind: "crm_webhook", DestinationID: "hook-1", RatePerSecond: rate})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	perGroup, pace := drainGroups(rate)
	times := slices.SortedFunc(maps.Keys(releasedAt), func(a, b time.Time) int { return a.Compare(b) })
	if want := (parked + perGroup - 1) / perGroup; len(times) != want {
		t.Fatalf("released in %d groups %v, want %d of %d", len(times), releasedAt, want, perGroup)
	}
	for k, at := range times {
		var want []string
		for _, d := range page[k*perGroup : min((k+1)*perGroup, parked)] {
			want = append(want, d.WorkflowID)
		}
		if got := slices.Sorted(slices.Values(releasedAt[at])); !slices.Equal(got, want) {
			t.Errorf("group %d released %v, want the next oldest %v", k, got, want)
		}
		if k > 0 {
			if gap := at.Sub(times[k-1]); gap < pace || gap > pace+pace/2 {
				t.Errorf("groups %d and %d %v apart, want %v", k-1, k, gap, pace)
			}
		}
	}
}
