package workflows

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

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
