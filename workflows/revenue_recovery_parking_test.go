package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"orderflow/activities"
	"orderflow/recovery"
)

// parkMerchantWebhook makes the merchant webhook's activity report the
// profile's endpoint shut (parked, for reason) until open says otherwise;
// then the real activity POSTs to the sandbox merchant. It returns every
// input the activity was called with.
func (f *recoveryFixture) parkMerchantWebhook(park func(in activities.RecoveryWebhookInput) (activities.ParkOutcome, bool)) *[]activities.RecoveryWebhookInput {
	calls := &[]activities.RecoveryWebhookInput{}
	f.env.OnActivity(ra.DeliverRecoveryWebhook, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.RecoveryWebhookInput) (activities.RecoveryWebhookResult, error) {
			*calls = append(*calls, in)
			if p, parked := park(in); parked {
				return activities.RecoveryWebhookResult{ParkOutcome: p}, nil
			}
			return f.acts.DeliverRecoveryWebhook(ctx, in)
		})
	return calls
}

// A recovery whose merchant endpoint is open for four days: its
// payment_succeeded parks on durable timers (the query shows it parked and
// why), spends none of its list of delays, outlives the delivery activity's
// 72-hour ScheduleToClose and reaches the merchant once. A billing event
// arriving meanwhile changes nothing of the finished recovery.
func TestParkedRecoveryWebhookSpendsNoAttemptsAndDeliversOnce(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, failure("ev_1"))
	const parkedFor = 4 * 24 * time.Hour
	start := f.env.Now()
	calls := f.parkMerchantWebhook(func(activities.RecoveryWebhookInput) (activities.ParkOutcome, bool) {
		return activities.ParkOutcome{Parked: true, ParkReason: activities.ParkOpen, RecheckIn: time.Hour}, f.env.Now().Sub(start) < parkedFor
	})
	var parked RecoveryView
	f.env.RegisterDelayedCallback(func() { parked = f.query() }, 2*24*time.Hour)
	f.signalAt(3*24*time.Hour, failure("ev_late"))

	res := f.run()

	if elapsed := f.env.Now().Sub(start); elapsed < parkedFor {
		t.Fatalf("workflow ended after %v, want its webhook parked for %v", elapsed, parkedFor)
	}
	if res.Status != RecoverySucceededInternal || len(res.Webhooks) != 1 || res.Webhooks[0].Status != "delivered" || res.Webhooks[0].Error != "" {
		t.Fatalf("result %+v, want succeeded with one delivered webhook", res)
	}
	if len(*calls) < 90 {
		t.Fatalf("webhook activity ran %d times, want one per hourly re-check over four days", len(*calls))
	}
	for i, in := range *calls {
		if !in.Parkable || in.AttemptsBefore != 0 || in.WindowUsed != 0 || (i > 0) != in.Resumed {
			t.Fatalf("call %d: %+v; want parkable, resumed after the first, nothing spent", i, in.Parking)
		}
	}
	if len(parked.State.Webhooks) != 1 || parked.State.Webhooks[0].Status != DeliveryParked || parked.State.Webhooks[0].Error != activities.ParkOpen {
		t.Errorf("query while parked: webhooks %+v, want one parked behind the open endpoint", parked.State.Webhooks)
	}
	got := f.merchant.Accepted()
	if len(f.merchant.Received()) != 1 || len(got) != 1 || got[0].EventType != recovery.EventPaymentSucceeded ||
		got[0].EventID != RecoveryWebhookEventID(testWorkflowID, recovery.EventPaymentSucceeded) {
		t.Fatalf("merchant received %d, accepted %+v; want exactly one payment_succeeded", len(f.merchant.Received()), got)
	}
}

// The drain's endpoint_ready, naming the webhook's record (its event id),
// wakes a parked merchant webhook at once, well before its daily re-check
// behind a disabled endpoint, and the delivery goes on from the attempts it
// had spent.
func TestReleasedRecoveryWebhookResumesBeforeItsTimer(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, failure("ev_1"))
	eventID := RecoveryWebhookEventID(testWorkflowID, recovery.EventPaymentSucceeded)
	calls := f.parkMerchantWebhook(func(in activities.RecoveryWebhookInput) (activities.ParkOutcome, bool) {
		return activities.ParkOutcome{Parked: true, ParkReason: activities.ParkDisabled + ": answered 410 Gone",
			RecheckIn: activities.DisabledRecheck, AttemptsSpent: 1, WindowSpent: time.Minute}, !in.Released
	})
	var parkedAt time.Time
	f.env.RegisterDelayedCallback(func() {
		parkedAt = f.env.Now()
		f.env.SignalWorkflow(EndpointReadySignal, EndpointReady{RecordID: "someone-else"})
		f.env.SignalWorkflow(EndpointReadySignal, EndpointReady{RecordID: eventID})
	}, 4*time.Hour) // the first retry is 3 h (plus jitter) after the failure

	res := f.run()

	if len(*calls) != 2 || !(*calls)[1].Released || (*calls)[1].AttemptsBefore != 1 || (*calls)[1].WindowUsed != time.Minute {
		t.Fatalf("calls %+v: want a second, released call carrying the attempt and window spent before parking", *calls)
	}
	if d := f.env.Now().Sub(parkedAt); parkedAt.IsZero() || d > time.Minute {
		t.Errorf("delivered %v after the release: the signal did not wake it", d)
	}
	if res.Status != RecoverySucceededInternal || len(res.Webhooks) != 1 || res.Webhooks[0].Status != "delivered" || len(f.merchant.Accepted()) != 1 {
		t.Errorf("result %+v, merchant accepted %d; want one delivered webhook", res, len(f.merchant.Accepted()))
	}
}
