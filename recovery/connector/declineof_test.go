package connector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The platform's charge at Stripe tells what its billing event does not: the
// network's response code and Mastercard's advice code behind a generic decline.
func TestDeclineOfReadsTheChargesNetworkCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/charges/ch_1":
			_, _ = w.Write([]byte(`{"id":"ch_1","status":"failed","failure_code":"card_declined","outcome":{"reason":"do_not_honor",` +
				`"network_decline_code":"05","network_advice_code":"03","type":"issuer_declined"}}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c := New(5 * time.Second)
	acct := StripeAccount{BaseURL: srv.URL, APIKey: "sk_test"}
	res, ok, err := c.DeclineOf(context.Background(), acct, "ch_1")
	if err != nil || !ok || res.Status != StatusFailed || res.DeclineCode != "do_not_honor" || res.ErrorCode != "card_declined" ||
		res.NetworkDeclineCode != "05" || res.NetworkAdviceCode != "03" {
		t.Fatalf("ch_1: %+v ok=%v %v", res, ok, err)
	}
	if _, ok, err := c.DeclineOf(context.Background(), acct, "ch_missing"); !ok || err == nil || IsRetryable(err) {
		t.Errorf("a charge Stripe does not know: ok=%v err=%v, want a final error", ok, err)
	}
	if _, ok, err := c.DeclineOf(context.Background(), acct, "txn_gateway_42"); ok || err != nil {
		t.Errorf("a gateway reference Stripe cannot be asked about: ok=%v err=%v", ok, err)
	}
}
