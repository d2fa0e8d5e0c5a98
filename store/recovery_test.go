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
