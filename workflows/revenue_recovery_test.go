package workflows

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/dev/sandbox/merchant"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
)

const (
	testProfileID = "64b000000000000000000001"
	testBillingID = "64b000000000000000000002"
	testPaymentID = "64b000000000000000000003"
	testInvoice   = "inv_42"
	testPM        = "pm_card_42"
	testHashKey   = "whsec_b3JkZXJmbG93LXN0YW5kYXJkLXdlYmhvb2tzLWsx"
)

// memRecoveryStore is an in-memory activities.RecoveryStore.
type memRecoveryStore struct {
	mu         sync.Mutex
	profile    store.BusinessProfile
	accounts   map[string]store.ConnectorAccount
	attempts   map[string]store.RecoveryAttempt
	deliveries []store.RecoveryWebhookDelivery
	events     []store.RecoveryEvent
	recoveries map[string]store.Recovery // lazily made: restarts and card updates (revenue_recovery_restart_test.go)
	restarts   []store.RecoveryRestart
}

func (m *memRecoveryStore) IsInternalAttempt(_ context.Context, profileID, transactionID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.attempts {
		if transactionID != "" && a.ProfileID == profileID && a.PaymentIntentID == transactionID {
			return true, nil
		}
	}
	return false, nil
}

func (m *memRecoveryStore) InvoiceRecovered(_ context.Context, profileID, invoiceID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.attempts {
		if a.ProfileID == profileID && a.InvoiceID == invoiceID && a.TriggeredBy == "internal" && a.Status == "succeeded" {
			return true, nil
		}
	}
	return false, nil
}

func (m *memRecoveryStore) RecordRecoveryEvent(_ context.Context, e store.RecoveryEvent) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, old := range m.events {
		if old.ProfileID == e.ProfileID && old.ConnectorID == e.ConnectorID && old.EventID == e.EventID {
			return false, nil
		}
	}
	m.events = append(m.events, e)
	return true, nil
}

func (m *memRecoveryStore) Profile(_ context.Context, id string) (store.BusinessProfile, error) {
	if id != m.profile.ID.Hex() {
		return store.BusinessProfile{}, store.ErrNotFound
	}
	return m.profile, nil
}

func (m *memRecoveryStore) ConnectorAccount(_ context.Context, id string) (store.ConnectorAccount, error) {
	a, ok := m.accounts[id]
	if !ok {
		return store.ConnectorAccount{}, store.ErrNotFound
	}
	return a, nil
}

func (m *memRecoveryStore) RecordRecoveryAttempt(_ context.Context, a store.RecoveryAttempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts[a.IdempotencyKey] = a
	return nil
}

func (m *memRecoveryStore) RecordRecoveryWebhookDelivery(_ context.Context, d store.RecoveryWebhookDelivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deliveries = append(m.deliveries, d)
	return nil
}

// recoveryFixture is a time-skipping environment running the real recovery
// activities against the sandbox payment processor and merchant on loopback.
type recoveryFixture struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	proc     *payments.Processor
	merchant *merchant.Merchant
	store    *memRecoveryStore
	acts     *activities.Recovery
	in       RevenueRecoveryInput
}

func newRecoveryFixture(t *testing.T) *recoveryFixture {
	t.Helper()
	f := &recoveryFixture{t: t, proc: payments.New("sk_test_wf"), merchant: merchant.New(testHashKey)}
	procSrv := httptest.NewServer(f.proc.Handler())
	merchSrv := httptest.NewServer(f.merchant.Handler())
	t.Cleanup(func() { procSrv.Close(); merchSrv.Close() })
	pid, _ := bson.ObjectIDFromHex(testProfileID)
	f.store = &memRecoveryStore{
		profile: store.BusinessProfile{ID: pid, MerchantID: "merchant_1", WebhookURL: merchSrv.URL + "/webhooks",
			PaymentResponseHashKey: testHashKey, RetryAlgorithm: recovery.Cascading},
		accounts: map[string]store.ConnectorAccount{
			testPaymentID: {ConnectorType: store.PaymentProcessor, ConnectorName: recovery.Stripe, BaseURL: procSrv.URL,
				AccountDetails: store.ConnectorAuth{AuthType: "HeaderKey", APIKey: "sk_test_wf"}},
			testBillingID: {ConnectorType: store.BillingProcessor, ConnectorName: recovery.CustomBilling},
		},
		attempts: map[string]store.RecoveryAttempt{},
	}
	f.acts = &activities.Recovery{Store: f.store, Connectors: connector.New(5 * time.Second),
		WebhookClient: activities.NewRecoveryWebhookClient(5 * time.Second), WebhookRetryDelays: []time.Duration{time.Second, time.Second}}
	var suite testsuite.WorkflowTestSuite
	f.env = suite.NewTestWorkflowEnvironment()
	f.env.RegisterWorkflow(RevenueRecovery)
	f.env.RegisterActivity(f.acts)
	f.in = RevenueRecoveryInput{RevenueRecoveryStart: activities.RevenueRecoveryStart{
		ProfileID: testProfileID, MerchantID: "merchant_1", InvoiceID: testInvoice,
		BillingConnectorID: testBillingID, PaymentConnectorID: testPaymentID,
		Policy: recovery.Policy{Algorithm: recovery.Cascading, Cascading: recovery.DefaultCascading, MaxRetryCount: 14, MaxJitter: 300 * time.Second},
	}}
	return f
}

func failure(eventID string) RecoverySignal {
	return RecoverySignal{Action: recovery.ScheduleFailedPayment, Event: recovery.Event{
		Platform: recovery.CustomBilling, EventID: eventID, Kind: recovery.PaymentFailure, InvoiceID: testInvoice,
		TransactionID: "ext_" + eventID, Amount: 2250, Currency: "USD", ConnectorCustomerID: "cus_42",
		PaymentMethodToken: testPM, ErrorCode: "card_declined", DeclineCode: "insufficient_funds", PlatformAttemptCount: 3,
	}}
}

func (f *recoveryFixture) signalAt(d time.Duration, s RecoverySignal) {
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(RecoveryEventSignal, s) }, d)
}

func (f *recoveryFixture) run() RecoveryResult {
	f.t.Helper()
	f.env.ExecuteWorkflow(RevenueRecovery, f.in)
	if !f.env.IsWorkflowCompleted() {
		f.t.Fatal("workflow did not complete")
	}
	if err := f.env.GetWorkflowError(); err != nil {
		f.t.Fatal(err)
	}
	var res RecoveryResult
	if err := f.env.GetWorkflowResult(&res); err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *recoveryFixture) query() RecoveryView {
	f.t.Helper()
	v, err := f.env.QueryWorkflow(RecoveryStateQuery)
	if err != nil {
		f.t.Fatal(err)
	}
	var view RecoveryView
	if err := v.Get(&view); err != nil {
		f.t.Fatal(err)
	}
	return view
}

var softDecline = payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"}

func TestRecoveryExhaustsAfterMaxRetryCount(t *testing.T) {
	f := newRecoveryFixture(t)
	f.in.Policy.MaxRetryCount = 3
	f.proc.Script(testPM, softDecline, softDecline, softDecline, softDecline)
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoveryExhausted || res.RetryCount != 3 {
		t.Errorf("result %+v, want exhausted after 3", res)
	}
	if n := len(f.proc.Charges()); n != 3 {
		t.Errorf("%d charges, want 3", n)
	}
	if n := len(f.merchant.Received()); n != 0 {
		t.Errorf("merchant got %d webhooks, want none", n)
	}
}

func TestRecoverySucceedsOnThirdRetryWithOneWebhook(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.Script(testPM, softDecline, softDecline) // then success
	f.signalAt(0, failure("ev_1"))
	var scheduled RecoveryView
	f.env.RegisterDelayedCallback(func() { scheduled = f.query() }, time.Minute)
	start := f.env.Now()
	res := f.run()

	if res.Status != RecoverySucceededInternal || res.RetryCount != 3 {
		t.Fatalf("result %+v", res)
	}
	// Default cascading: 3 h, 3 h, 6 h, each plus 1..300 s of jitter.
	elapsed := f.env.Now().Sub(start)
	if elapsed < 12*time.Hour || elapsed > 12*time.Hour+15*time.Minute+time.Minute {
		t.Errorf("three retries took %v, want 12h plus jitter", elapsed)
	}
	if scheduled.State.Status != RecoveryScheduled || len(scheduled.Schedule) < 3 ||
		scheduled.Schedule[1].Sub(scheduled.Schedule[0]) != 3*time.Hour || scheduled.Schedule[2].Sub(scheduled.Schedule[1]) != 6*time.Hour {
		t.Errorf("query while waiting: %+v", scheduled)
	}
	charges := f.proc.Charges()
	if len(charges) != 3 || charges[0].IdempotencyKey == charges[1].IdempotencyKey || !charges[2].OffSession ||
		charges[2].Customer != "cus_42" || charges[2].Amount != 2250 || charges[2].Currency != "usd" {
		t.Errorf("charges %+v", charges)
	}
	got := f.merchant.Accepted()
	if len(f.merchant.Received()) != 1 || len(got) != 1 {
		t.Fatalf("merchant received %d, accepted %d; want exactly one verified", len(f.merchant.Received()), len(got))
	}
	w := got[0]
	obj := field[map[string]any](t, w.Body, "content", "object")
	rr := field[map[string]any](t, obj, "feature_metadata", "revenue_recovery")
	if w.EventType != recovery.EventPaymentSucceeded || w.EventID != RecoveryWebhookEventID(testWorkflowID, recovery.EventPaymentSucceeded) ||
		w.WebhookID != w.EventID || obj["merchant_reference_id"] != testInvoice || obj["connector_transaction_id"] != charges[2].PaymentIntentID ||
		rr["total_retry_count"] != 3.0 || rr["first_payment_attempt_pg_error_code"] != "card_declined" {
		t.Errorf("webhook %+v", w.Body)
	}
	if len(res.Webhooks) != 1 || res.Webhooks[0].Status != "delivered" {
		t.Errorf("webhook outcome %+v", res.Webhooks)
	}
}

// testWorkflowID is the test environment's default workflow ID.
const testWorkflowID = "default-test-workflow-id"

func TestRecoveryNames(t *testing.T) {
	id := RevenueRecoveryWorkflowID(testProfileID, "inv:with:colons")
	p, inv, ok := InvoiceFromRevenueRecoveryWorkflowID(id)
	if !ok || p != testProfileID || inv != "inv:with:colons" {
		t.Errorf("round trip %q → %q %q %v", id, p, inv, ok)
	}
	k1, k2 := RecoveryPaymentIdempotencyKey(id, 1), RecoveryPaymentIdempotencyKey(id, 2)
	if k1 == k2 || k1 != RecoveryPaymentIdempotencyKey(id, 1) || len(RecoveryPaymentIdempotencyKey(id+strings.Repeat("x", 500), 99)) > 255 {
		t.Errorf("idempotency keys %q %q", k1, k2)
	}
	if RecoveryWebhookEventID(id, "payment_succeeded") == RecoveryWebhookEventID(id, "payment_failed") {
		t.Error("event ids of two event types collide")
	}
}

func TestRecoveryExternalSuccessDuringWaitStopsWithoutWebhook(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, failure("ev_1"))
	f.signalAt(time.Hour, RecoverySignal{Action: recovery.SuccessPaymentExternal, Event: recovery.Event{EventID: "ev_2", Kind: recovery.PaymentSuccess, InvoiceID: testInvoice, TransactionID: "ch_ext_ok"}})
	start := f.env.Now()
	res := f.run()
	if res.Status != RecoverySucceededExternal || res.RetryCount != 0 {
		t.Errorf("result %+v", res)
	}
	if d := f.env.Now().Sub(start); d > 2*time.Hour {
		t.Errorf("stopped after %v: the wait was not cut short", d)
	}
	if len(f.proc.Charges()) != 0 || len(f.merchant.Received()) != 0 {
		t.Errorf("charges %d, webhooks %d; want none", len(f.proc.Charges()), len(f.merchant.Received()))
	}
}

func TestRecoveryCancelDuringWaitStops(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.Script(testPM, softDecline)
	f.signalAt(0, failure("ev_1"))
	// After the first retry (≈3 h) failed, cancel during the wait for the second.
	f.signalAt(4*time.Hour, RecoverySignal{Action: recovery.CancelInvoice, Event: recovery.Event{EventID: "ev_cancel", Kind: recovery.InvoiceCancel, InvoiceID: testInvoice}})
	res := f.run()
	if res.Status != RecoveryCancelled || res.RetryCount != 1 || len(f.proc.Charges()) != 1 || len(f.merchant.Received()) != 0 {
		t.Errorf("result %+v, charges %d, webhooks %d", res, len(f.proc.Charges()), len(f.merchant.Received()))
	}
}

func TestRecoveryDuplicateEventsChangeNothing(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, failure("ev_1"))
	var first, after RecoveryView
	f.env.RegisterDelayedCallback(func() { first = f.query() }, time.Minute)
	f.signalAt(30*time.Minute, failure("ev_1"))
	f.signalAt(31*time.Minute, failure("ev_1"))
	f.env.RegisterDelayedCallback(func() { after = f.query() }, 40*time.Minute)
	f.signalAt(time.Hour, RecoverySignal{Action: recovery.CancelInvoice, Event: recovery.Event{EventID: "ev_c", Kind: recovery.InvoiceCancel}})
	f.run()
	if len(after.State.Attempts) != 1 || first.State.NextRetryAt == nil || after.State.NextRetryAt == nil ||
		!first.State.NextRetryAt.Equal(*after.State.NextRetryAt) {
		t.Errorf("duplicates changed the state:\n first %+v\n after %+v", first.State, after.State)
	}
}

func TestRecoveryNewExternalFailureReschedules(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, failure("ev_1"))
	var first, after RecoveryView
	f.env.RegisterDelayedCallback(func() { first = f.query() }, time.Minute)
	f.signalAt(2*time.Hour, failure("ev_2"))
	f.env.RegisterDelayedCallback(func() { after = f.query() }, 2*time.Hour+time.Minute)
	f.signalAt(3*time.Hour, RecoverySignal{Action: recovery.CancelInvoice, Event: recovery.Event{EventID: "ev_c"}})
	f.run()
	if len(after.State.Attempts) != 2 || !after.State.NextRetryAt.After(*first.State.NextRetryAt) {
		t.Errorf("a new external failure should record and reschedule: first %+v after %+v", first.State, after.State)
	}
}

func TestRecoveryHardDeclineStopsAtOnce(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "stolen_card"})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoveryHardDeclined || res.RetryCount != 1 || len(f.proc.Charges()) != 1 {
		t.Errorf("result %+v, charges %d", res, len(f.proc.Charges()))
	}
	got := f.merchant.Accepted()
	if len(got) != 1 || got[0].EventType != recovery.EventPaymentFailed {
		t.Errorf("merchant got %+v, want one payment_failed", got)
	}
}

func TestRecoveryRetriedPaymentActivityDoesNotChargeTwice(t *testing.T) {
	f := newRecoveryFixture(t)
	var keys []string
	f.env.OnActivity(ra.ChargeInvoice, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ChargeInput) (activities.PaymentResult, error) {
			res, err := f.acts.ChargeInvoice(ctx, in)
			keys = append(keys, in.IdempotencyKey)
			if len(keys) == 1 {
				// The charge happened but the worker "died" before reporting it.
				return activities.PaymentResult{}, errors.New("worker lost the answer")
			}
			return res, err
		})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 1 {
		t.Fatalf("result %+v", res)
	}
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("activity attempts used keys %v, want the same key twice", keys)
	}
	if n := len(f.proc.Charges()); n != 1 || f.proc.Requests() != 2 {
		t.Errorf("%d charges from %d requests, want 1 from 2", n, f.proc.Requests())
	}
	if len(f.merchant.Accepted()) != 1 {
		t.Errorf("webhooks %d", len(f.merchant.Accepted()))
	}
}

func TestRecoveryProcessingIsSyncedToItsOutcome(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Processing, SettleTo: "succeeded", SettleAfter: 2})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || len(f.proc.Charges()) != 1 || len(f.merchant.Accepted()) != 1 {
		t.Errorf("result %+v, charges %d, webhooks %d", res, len(f.proc.Charges()), len(f.merchant.Accepted()))
	}
	// Settling to a decline counts as a failed retry.
	g := newRecoveryFixture(t)
	g.in.Policy.MaxRetryCount = 1
	g.proc.Script(testPM, payments.Outcome{Kind: payments.Processing, SettleTo: "requires_payment_method", DeclineCode: "insufficient_funds"})
	g.signalAt(0, failure("ev_1"))
	if res := g.run(); res.Status != RecoveryExhausted || len(g.merchant.Received()) != 0 {
		t.Errorf("settled to decline: %+v", res)
	}
}

func TestRecoveryPendingWaitsForItsOutcome(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, RecoverySignal{Action: recovery.PendingPayment, Event: recovery.Event{EventID: "ev_p", Kind: recovery.PaymentPending, InvoiceID: testInvoice, TransactionID: "py_1"}})
	f.signalAt(10*time.Hour, RecoverySignal{Action: recovery.SuccessPaymentExternal, Event: recovery.Event{EventID: "ev_s", Kind: recovery.PaymentSuccess, TransactionID: "py_1"}})
	res := f.run()
	if res.Status != RecoverySucceededExternal || len(f.proc.Charges()) != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestRecoveryEventsAboutOurOwnAttemptAreIgnored(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.Script(testPM, softDecline)
	f.signalAt(0, failure("ev_1"))
	// The platform reports our own (failed) first retry back: no reschedule from it.
	f.env.RegisterDelayedCallback(func() {
		v := f.query()
		our := v.State.Attempts[len(v.State.Attempts)-1]
		s := failure("ev_ours")
		s.Event.TransactionID = our.TransactionID
		f.env.SignalWorkflow(RecoveryEventSignal, s)
	}, 3*time.Hour+10*time.Minute)
	var view RecoveryView
	f.env.RegisterDelayedCallback(func() { view = f.query() }, 3*time.Hour+20*time.Minute)
	f.signalAt(4*time.Hour, RecoverySignal{Action: recovery.CancelInvoice, Event: recovery.Event{EventID: "ev_c"}})
	f.run()
	if len(view.State.Attempts) != 2 { // the platform's first failure and our retry
		t.Errorf("attempts %+v", view.State.Attempts)
	}
}

func TestRecoveryContinuesAsNewCarryingState(t *testing.T) {
	f := newRecoveryFixture(t)
	f.in.ContinueAsNewAfter = 1
	f.proc.Script(testPM, softDecline)
	f.signalAt(0, failure("ev_1"))
	f.env.ExecuteWorkflow(RevenueRecovery, f.in)
	var can *workflow.ContinueAsNewError
	if !errors.As(f.env.GetWorkflowError(), &can) {
		t.Fatalf("want continue-as-new, got %v", f.env.GetWorkflowError())
	}
	var next RevenueRecoveryInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.RetryCount != 1 || len(next.State.Attempts) != 2 || next.State.Status != RecoveryScheduled ||
		next.State.NextRetryAt == nil || len(next.State.SeenEvents) != 1 || next.InvoiceID != testInvoice {
		t.Errorf("carried state %+v", next.State)
	}
}

func TestRecoveryMonitoringNeverRetries(t *testing.T) {
	f := newRecoveryFixture(t)
	f.in.Policy.Algorithm = recovery.Monitoring
	f.signalAt(0, failure("ev_1"))
	if res := f.run(); res.Status != RecoveryMonitoringOnly || len(f.proc.Charges()) != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestRecoveryWebhookRetriedWithSameEventID(t *testing.T) {
	f := newRecoveryFixture(t)
	f.merchant.FailNext(500, 503)
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	got := f.merchant.Received()
	if res.Status != RecoverySucceededInternal || len(got) != 3 || len(f.merchant.Accepted()) != 1 {
		t.Fatalf("result %+v, received %d", res, len(got))
	}
	for _, r := range got {
		if r.EventID != got[0].EventID || string(r.Raw) != string(got[0].Raw) {
			t.Errorf("retry changed the event: %s vs %s", r.EventID, got[0].EventID)
		}
	}
	if len(f.store.deliveries) != 3 || f.store.deliveries[2].Attempt != 3 || !f.store.deliveries[2].OK || f.store.deliveries[0].OK {
		t.Errorf("logged deliveries %+v", f.store.deliveries)
	}
}

func TestRecoverySmartRetriesTransientSoonAndRecordsSearchAttributes(t *testing.T) {
	f := newRecoveryFixture(t)
	f.in.Policy = recovery.Policy{Algorithm: recovery.Smart, MaxJitter: 0}
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, Code: "processing_error", DeclineCode: "try_again_later"})
	var statuses []string
	var retryCounts []int64
	f.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa, ok := args.Get(0).(temporal.SearchAttributes)
		if !ok { // not the test's goroutine: record the failure, never t.Fatal
			t.Errorf("upserted search attributes are %T", args.Get(0))
			return
		}
		if v, ok := sa.GetKeyword(RecoveryStatusAttr); ok && (len(statuses) == 0 || statuses[len(statuses)-1] != v) {
			statuses = append(statuses, v)
		}
		if inv, _ := sa.GetKeyword(InvoiceIDAttr); inv != testInvoice {
			t.Errorf("InvoiceID attribute %q", inv)
		}
		n, _ := sa.GetInt64(RetryCountAttr)
		retryCounts = append(retryCounts, n)
	}).Return(nil)
	sig := failure("ev_1")
	sig.Event.DeclineCode = "insufficient_funds" // the platform's decline: smart waits a day first
	f.signalAt(0, sig)
	start := f.env.Now()
	res := f.run()
	// A day for insufficient funds, then an hour after our transient failure.
	if res.Status != RecoverySucceededInternal || res.RetryCount != 2 || f.env.Now().Sub(start) < 25*time.Hour || f.env.Now().Sub(start) > 25*time.Hour+time.Minute {
		t.Errorf("result %+v after %v", res, f.env.Now().Sub(start))
	}
	want := []string{RecoveryAwaitingEvent, RecoveryScheduled, RecoveryExecuting, RecoveryScheduled, RecoveryExecuting, RecoverySucceededInternal}
	if strings.Join(statuses, ",") != strings.Join(want, ",") || retryCounts[len(retryCounts)-1] != 2 {
		t.Errorf("RecoveryStatus went %v (RetryCount %v), want %v", statuses, retryCounts, want)
	}
}

// A charge whose answer never comes (the activity gives up) may still have been
// made: the next retry must send it again under the same key, so the
// processor replays it rather than charging twice.
func TestRecoveryChargeWithoutAnswerIsRetriedUnderTheSameKey(t *testing.T) {
	f := newRecoveryFixture(t)
	var keys []string
	f.env.OnActivity(ra.ChargeInvoice, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ChargeInput) (activities.PaymentResult, error) {
			res, err := f.acts.ChargeInvoice(ctx, in)
			keys = append(keys, in.IdempotencyKey)
			if len(keys) == 1 { // charged, but every answer lost until the activity gave up
				return activities.PaymentResult{}, temporal.NewNonRetryableApplicationError("no answer", "Timeout", nil)
			}
			return res, err
		})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 2 {
		t.Fatalf("result %+v", res)
	}
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("retries used keys %v, want the same key twice", keys)
	}
	if n := len(f.proc.Charges()); n != 1 || len(f.merchant.Accepted()) != 1 {
		t.Errorf("%d charges, %d webhooks; want 1 and 1", n, len(f.merchant.Accepted()))
	}
}

// A payment still processing after every sync is not a failure to retry with
// a new charge: the next retry asks again under the same key and syncs it.
func TestRecoveryUnsettledPaymentIsNeverChargedAgain(t *testing.T) {
	f := newRecoveryFixture(t)
	f.in.PSyncDelays = []time.Duration{time.Minute, time.Minute}
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Processing, SettleTo: "succeeded", SettleAfter: 3})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 2 {
		t.Fatalf("result %+v", res)
	}
	if n := len(f.proc.Charges()); n != 1 || len(f.merchant.Accepted()) != 1 {
		t.Errorf("%d charges, %d webhooks; want 1 and 1", n, len(f.merchant.Accepted()))
	}
}

// field walks keys down nested JSON objects and returns the value as a T; a
// missing key or another type fails the test instead of panicking.
func field[T any](t *testing.T, m map[string]any, keys ...string) T {
	t.Helper()
	var v any = m
	for i, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", strings.Join(keys[:i], "."), v)
		}
		v = obj[k]
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%s is %T (%v), want %T", strings.Join(keys, "."), v, v, out)
	}
	return out
}
