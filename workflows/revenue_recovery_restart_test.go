package workflows

import (
	"context"
	"testing"
	"time"

	"orderflow/activities"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/store"
)

func (m *memRecoveryStore) SaveRecovery(_ context.Context, r store.Recovery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recoveries == nil {
		m.recoveries = map[string]store.Recovery{}
	}
	if old, ok := m.recoveries[r.WorkflowID]; ok && old.Generation > r.Generation {
		return nil
	}
	m.recoveries[r.WorkflowID] = r
	return nil
}

func (m *memRecoveryStore) RecoveryByWorkflowID(_ context.Context, id string) (store.Recovery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recoveries[id]
	if !ok {
		return store.Recovery{}, store.ErrNotFound
	}
	return r, nil
}

func (m *memRecoveryStore) CustomerRecoveries(_ context.Context, profileID, customerID string) ([]store.Recovery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Recovery
	for _, r := range m.recoveries {
		if r.ProfileID == profileID && r.ConnectorCustomerID == customerID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memRecoveryStore) ClaimRecoveryGeneration(_ context.Context, id string, from int, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recoveries[id]
	if !ok || r.Generation != from || (r.Open && r.Status != store.RecoveryRestartStatus) {
		return false, nil
	}
	r.Generation, r.Open, r.Status, r.UpdatedAt = from+1, true, store.RecoveryRestartStatus, now
	m.recoveries[id] = r
	return true, nil
}

func (m *memRecoveryStore) InvoiceSettledElsewhere(context.Context, string, string) (bool, error) {
	return false, nil
}

func (m *memRecoveryStore) MaxRecoveryAttempt(_ context.Context, profileID, invoiceID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, a := range m.attempts {
		if a.ProfileID == profileID && a.InvoiceID == invoiceID {
			n = max(n, a.Attempt)
		}
	}
	return n, nil
}

func (m *memRecoveryStore) RecordRecoveryRestart(_ context.Context, a store.RecoveryRestart) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.restarts = append(m.restarts, a)
	return nil
}

func cardUpdate(eventID, token string) activities.PaymentMethodUpdate {
	return activities.PaymentMethodUpdate{EventID: eventID, Platform: recovery.CustomBilling, EventType: recovery.CustomPaymentMethodUpdated,
		ConnectorCustomerID: "cus_42", PaymentMethodToken: token}
}

// A card update while the recovery waits on its timer retries at once, with
// the new payment method, instead of at the scheduled time; a repeat of the
// same update changes nothing. The recoveries record follows the recovery.
func TestRecoveryCardUpdateDuringWaitRetriesAtOnce(t *testing.T) {
	f := newRecoveryFixture(t)
	f.signalAt(0, failure("ev_1"))
	update := cardUpdate("ev_card_1", "pm_new_42")
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(PaymentMethodUpdatedSignal, update) }, time.Hour)
	f.env.RegisterDelayedCallback(func() { f.env.SignalWorkflow(PaymentMethodUpdatedSignal, update) }, time.Hour+time.Minute)
	start := f.env.Now()
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 1 {
		t.Fatalf("result %+v", res)
	}
	if d := f.env.Now().Sub(start); d > 2*time.Hour {
		t.Errorf("succeeded after %v: the 3 h wait was not cut short by the card update", d)
	}
	charges := f.proc.Charges()
	if len(charges) != 1 || charges[0].PaymentMethod != "pm_new_42" ||
		charges[0].IdempotencyKey != RecoveryPaymentIdempotencyKey(testWorkflowID, 1) {
		t.Errorf("charges %+v: want one, with the new method, under generation 0's first key", charges)
	}
	rec, err := f.store.RecoveryByWorkflowID(context.Background(), testWorkflowID)
	if err != nil || rec.Open || rec.Status != RecoverySucceededInternal || rec.ConnectorCustomerID != "cus_42" ||
		rec.PaymentMethodToken != "pm_new_42" || rec.EndedAt == nil {
		t.Errorf("recoveries record %+v, %v", rec, err)
	}
}

// A card update after the recovery ended changes nothing in that run (the
// ingest restarts it instead).
func TestRecoveryCardUpdateAfterEndChangesNothing(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "stolen_card"})
	f.signalAt(0, failure("ev_1"))
	f.env.RegisterDelayedCallback(func() {
		f.env.SignalWorkflow(PaymentMethodUpdatedSignal, cardUpdate("ev_card_late", "pm_new_42"))
	}, 4*time.Hour)
	res := f.run()
	if res.Status != RecoveryHardDeclined || len(f.proc.Charges()) != 1 {
		t.Errorf("result %+v, charges %d", res, len(f.proc.Charges()))
	}
}

// A restarted generation starts from its restart: attempts counted on, a
// fresh schedule (max_retry_count per generation), and payment keys and
// webhook event ids of its own, never an earlier generation's.
func TestRecoveryRestartedGenerationUsesItsOwnKeys(t *testing.T) {
	f := newRecoveryFixture(t)
	f.in.Generation = 1
	f.in.Policy.MaxRetryCount = 2
	f.in.Restart = &activities.RecoveryRestart{PriorRetries: 2, Amount: 2250, Currency: "USD", ConnectorCustomerID: "cus_42",
		PaymentMethodToken: testPM, Reason: "operator"}
	f.proc.Script(testPM, softDecline) // then success
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 4 {
		t.Fatalf("result %+v: want success at retry 4 (2 before the restart, 2 after)", res)
	}
	charges := f.proc.Charges()
	if len(charges) != 2 || charges[0].IdempotencyKey != RecoveryGenerationPaymentIdempotencyKey(testWorkflowID, 1, 1) ||
		charges[1].IdempotencyKey != RecoveryGenerationPaymentIdempotencyKey(testWorkflowID, 1, 2) {
		t.Fatalf("charges %+v", charges)
	}
	for _, c := range charges {
		for retry := 1; retry <= 10; retry++ {
			if c.IdempotencyKey == RecoveryPaymentIdempotencyKey(testWorkflowID, retry) {
				t.Errorf("generation 1 reused generation 0's key %s", c.IdempotencyKey)
			}
		}
	}
	got := f.merchant.Accepted()
	if len(got) != 1 || got[0].EventID != RecoveryGenerationWebhookEventID(testWorkflowID, 1, recovery.EventPaymentSucceeded) ||
		got[0].EventID == RecoveryWebhookEventID(testWorkflowID, recovery.EventPaymentSucceeded) {
		t.Errorf("merchant got %+v", got)
	}
}

// Generation 0 keeps the keys running workflows already use.
func TestRecoveryGenerationZeroKeepsTodaysKeys(t *testing.T) {
	if got, want := RecoveryGenerationPaymentIdempotencyKey("wf", 0, 3), RecoveryPaymentIdempotencyKey("wf", 3); got != want {
		t.Errorf("generation 0 key %s, want %s", got, want)
	}
	if got, want := RecoveryGenerationWebhookEventID("wf", 0, "payment_succeeded"), RecoveryWebhookEventID("wf", "payment_succeeded"); got != want {
		t.Errorf("generation 0 event id %s, want %s", got, want)
	}
	if RecoveryGenerationPaymentIdempotencyKey("wf", 1, 3) == RecoveryGenerationPaymentIdempotencyKey("wf", 2, 3) {
		t.Error("two generations share a key")
	}
}
