package connector

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"orderflow/dev/sandbox/payments"
)

func TestStripePaymentIntentsAgainstSandbox(t *testing.T) {
	proc := payments.New("sk_test_DISTINCT_1")
	srv := httptest.NewServer(proc.Handler())
	defer srv.Close()
	c := New(2 * time.Second)
	acct := StripeAccount{BaseURL: srv.URL, APIKey: "sk_test_DISTINCT_1"}
	ctx := context.Background()
	req := func(key string) PaymentRequest {
		return PaymentRequest{Amount: 2250, Currency: "USD", Customer: "cus_1", PaymentMethod: "pm_1", IdempotencyKey: key,
			Metadata: map[string]string{"invoice_id": "inv_1"}}
	}
	proc.Script("pm_1",
		payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"},
		payments.Outcome{Kind: payments.Processing, SettleTo: "succeeded", SettleAfter: 1},
		payments.Outcome{Kind: payments.LoseAnswer},
	)

	declined, err := c.CreateAndConfirm(ctx, acct, req("k1"))
	if err != nil || declined.Status != StatusFailed || declined.DeclineCode != "insufficient_funds" || declined.ErrorCode != "card_declined" || declined.PaymentIntentID == "" {
		t.Fatalf("decline: %+v %v", declined, err)
	}
	// The same key again is a replay, not a second charge.
	again, err := c.CreateAndConfirm(ctx, acct, req("k1"))
	if err != nil || again != declined || len(proc.Charges()) != 1 {
		t.Fatalf("replay: %+v %v, %d charges", again, err, len(proc.Charges()))
	}
	pending, err := c.CreateAndConfirm(ctx, acct, req("k2"))
	if err != nil || pending.Status != StatusProcessing {
		t.Fatalf("processing: %+v %v", pending, err)
	}
	if r, _ := c.Retrieve(ctx, acct, pending.PaymentIntentID); r.Status != StatusProcessing {
		t.Fatalf("first sync %+v", r)
	}
	if r, _ := c.Retrieve(ctx, acct, pending.PaymentIntentID); r.Status != StatusSucceeded {
		t.Fatalf("second sync %+v", r)
	}
	// The answer is lost after charging. net/http itself resends a request that
	// carries an Idempotency-Key when the connection dies; the replay answers it.
	before := proc.Requests()
	ok, err := c.CreateAndConfirm(ctx, acct, req("k3"))
	if err != nil || ok.Status != StatusSucceeded || proc.Requests()-before != 2 {
		t.Fatalf("after lost answer: %+v %v, %d requests", ok, err, proc.Requests()-before)
	}
	if n := len(proc.ChargesFor("inv_1")); n != 3 {
		t.Errorf("%d charges, want 3 (one per key)", n)
	}
	_, err = c.CreateAndConfirm(ctx, StripeAccount{BaseURL: srv.URL, APIKey: "wrong"}, req("k4"))
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 || he.Retryable {
		t.Errorf("wrong key: %v", err)
	}
}
