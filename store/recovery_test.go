package store_test

import (
	"context"
	"testing"
	"time"

	"orderflow/store"
)

// An attempt written again under its idempotency key (activity retry, PSYNC)
// stays one document; a processor transaction id is recognised as ours.
func TestRecoveryAttemptsAreOnePerKeyAndRecognised(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := store.RecoveryAttempt{IdempotencyKey: "rr_k_1", ProfileID: "p1", InvoiceID: "inv", Attempt: 1, TriggeredBy: "internal",
		PaymentIntentID: "pi_1", Status: "processing", Amount: 100, Currency: "USD", UpdatedAt: time.Now().UTC()}
	for _, status := range []string{"processing", "processing", "succeeded"} {
		a.Status = status
		if err := s.RecordRecoveryAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecoveryAttempts(ctx, "p1", "inv")
	if err != nil || len(got) != 1 || got[0].Status != "succeeded" {
		t.Fatalf("attempts %+v %v", got, err)
	}
	for _, tc := range []struct {
		profile, tx string
		want        bool
	}{{"p1", "pi_1", true}, {"p2", "pi_1", false}, {"p1", "pi_other", false}, {"p1", "", false}} {
		if ours, err := s.IsInternalAttempt(ctx, tc.profile, tc.tx); err != nil || ours != tc.want {
			t.Errorf("IsInternalAttempt(%s, %s) = %v, %v", tc.profile, tc.tx, ours, err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := s.RecordRecoveryWebhookDelivery(ctx, store.RecoveryWebhookDelivery{ProfileID: "p1", InvoiceID: "inv", EventID: "evt_1",
			Attempt: int32(i + 1), OK: i == 1, CreatedAt: time.Now().UTC().Add(time.Duration(i) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.RecoveryWebhookDeliveries(ctx, "p1", "inv")
	if err != nil || len(ds) != 2 || ds[0].Attempt != 1 || !ds[1].OK {
		t.Errorf("deliveries %+v %v", ds, err)
	}
}

// A billing event recorded twice (an activity retried after its write) is one document.
func TestRecoveryEventIsRecordedOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ev := store.RecoveryEvent{ProfileID: "p1", ConnectorID: "c1", Platform: "recurly", EventID: "ev_1", Kind: "payment_failure",
		InvoiceID: "inv", Action: "schedule_failed_payment", Outcome: "signalled", ReceivedAt: time.Now().UTC()}
	for i, want := range []bool{true, false} {
		inserted, err := s.RecordRecoveryEvent(ctx, ev)
		if err != nil || inserted != want {
			t.Fatalf("record %d: inserted %v, %v; want %v", i, inserted, err, want)
		}
	}
	other := ev
	other.EventID = "ev_2"
	if inserted, err := s.RecordRecoveryEvent(ctx, other); err != nil || !inserted {
		t.Fatalf("another event: inserted %v, %v", inserted, err)
	}
	got, err := s.RecoveryEvents(ctx, "p1", "inv")
	if err != nil || len(got) != 2 || got[0].Outcome != "signalled" {
		t.Fatalf("events %+v, %v", got, err)
	}
}

// The configuration API's reference questions count what names a document.
func TestConfigurationReferences(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Events().Insert(ctx, &store.Event{Name: "order.rto", ModuleName: "order"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Webhooks().Insert(ctx, &store.Webhook{URL: "http://crm", Events: []string{"order.rto"}, AuthID: "a1", PayloadID: "p1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conditions().Insert(ctx, &store.Condition{Event: "order.rto", WebhookID: "w1"}); err != nil {
		t.Fatal(err)
	}
	pay := "64c000000000000000000001"
	if _, err := s.ConnectorAccounts().Insert(ctx, &store.ConnectorAccount{ProfileID: "prof", ConnectorType: store.BillingProcessor,
		FeatureMetadata: &store.FeatureMetadata{RevenueRecovery: &store.RecoveryMetadata{BillingAccountReference: map[string]string{pay: "gw"}}}}); err != nil {
		t.Fatal(err)
	}
	count := func(n int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	webhooks, conditions, err := s.EventUsers(ctx, "order.rto")
	if err != nil || webhooks != 1 || conditions != 1 {
		t.Errorf("EventUsers = %d, %d, %v", webhooks, conditions, err)
	}
	exists, err := s.EventNamed(ctx, "order.rto")
	missing, err2 := s.EventNamed(ctx, "order.lost")
	if err != nil || err2 != nil || !exists || missing {
		t.Errorf("EventNamed: %v %v, %v %v", exists, err, missing, err2)
	}
	for name, got := range map[string]int64{
		"AuthUsers a1": count(s.AuthUsers(ctx, "a1")), "PayloadUsers p1": count(s.PayloadUsers(ctx, "p1")),
		"WebhookUsers w1": count(s.WebhookUsers(ctx, "w1")), "ProfileConnectors prof": count(s.ProfileConnectors(ctx, "prof")),
		"BillingConnectorsRouting": count(s.BillingConnectorsRouting(ctx, pay)),
	} {
		if got != 1 {
			t.Errorf("%s = %d, want 1", name, got)
		}
	}
	if n := count(s.AuthUsers(ctx, "a2")) + count(s.BillingConnectorsRouting(ctx, "64c000000000000000000002")); n != 0 {
		t.Errorf("unreferenced documents counted %d users", n)
	}
}

// Adaptive timing reads a profile's own retries since a time, newest first,
// with the decline class each followed.
func TestProfileRetriesSinceListsOurRecentRetries(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, a := range []store.RecoveryAttempt{
		{IdempotencyKey: "k_old", ProfileID: "p1", TriggeredBy: "internal", Status: "succeeded", UpdatedAt: now.Add(-100 * 24 * time.Hour)},
		{IdempotencyKey: "k_1", ProfileID: "p1", TriggeredBy: "internal", Status: "failed", DeclineCode: "insufficient_funds",
			UpdatedAt: now.Add(-2 * time.Hour), RetriedDeclineClass: "soft"},
		{IdempotencyKey: "k_2", ProfileID: "p1", TriggeredBy: "internal", Status: "succeeded", UpdatedAt: now.Add(-time.Hour),
			RetriedDeclineClass: "insufficient_funds"},
		{IdempotencyKey: "k_other", ProfileID: "p2", TriggeredBy: "internal", Status: "succeeded", UpdatedAt: now},
	} {
		a.Attempt = i + 1
		if err := s.RecordRecoveryAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ProfileRetriesSince(ctx, "p1", now.Add(-90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].IdempotencyKey != "k_2" || got[1].IdempotencyKey != "k_1" ||
		got[0].RetriedDeclineClass != "insufficient_funds" || got[1].DeclineCode != "insufficient_funds" || !got[0].UpdatedAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("retries %+v", got)
	}
}
