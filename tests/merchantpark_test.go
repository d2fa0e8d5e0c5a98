//go:build integration

package tests

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"orderflow/dev/sandbox/billing"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// merchantBehindSwitch starts the loopback billing platform and processor,
// and the sandbox merchant behind a switch (down: it answers the code
// itself), and configures the profile with one-second webhook retry delays.
func (r *recoveryStack) merchantBehindSwitch() *endpointSwitch {
	r.t.Helper()
	sw := &endpointSwitch{}
	merchantHandler := r.merchant.Handler()
	b := httptest.NewServer(r.billing.Handler())
	p := httptest.NewServer(r.processor.Handler())
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if code := sw.down.Load(); code != 0 {
			sw.posts.Add(1)
			w.WriteHeader(int(code))
			return
		}
		merchantHandler.ServeHTTP(w, req)
	}))
	r.t.Cleanup(func() { b.Close(); p.Close(); m.Close() })
	r.configure(b.URL, p.URL, m.URL, seconds)
	prof := r.mustCall(200, "GET", "/v1/profiles/"+r.profileID, nil)
	delete(prof, "payment_response_hash_key_set") // the view's, not a field to write
	prof["webhook_retry_delays_seconds"] = []int{1, 1, 1, 1, 1}
	r.mustCall(200, "PUT", "/v1/profiles/"+r.profileID, prof)
	return sw
}

// recoveryBehindDownMerchant starts a recovery stack whose merchant answers
// down, and fails the invoice named so that its recovery starts: it returns
// the stack, the merchant's switch, the recovery's workflow id and its
// payment_succeeded event id.
func recoveryBehindDownMerchant(t *testing.T, down int32, invoice string) (*recoveryStack, *endpointSwitch, string, string) {
	r := newRecoveryStack(t, breakerSeconds(time.Hour))
	r.startWorker()
	sw := r.merchantBehindSwitch()
	sw.down.Store(down)
	inv := r.invoice(invoice)
	if code := r.send(recovery.Chargebee, billing.Failed, inv); code != 200 {
		t.Fatalf("billing webhook answered %d", code)
	}
	wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	return r, sw, wfID, workflows.RecoveryWebhookEventID(wfID, recovery.EventPaymentSucceeded)
}

// succeededWithWebhookDelivered waits for the recovery and checks it
// succeeded with its one webhook delivered, exactly once at the merchant.
func (r *recoveryStack) succeededWithWebhookDelivered(invoice, wfID, eventID string) {
	r.t.Helper()
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	if res.Status != workflows.RecoverySucceededInternal || len(res.Webhooks) != 1 || res.Webhooks[0].Status != "delivered" {
		r.t.Errorf("result %+v, want succeeded with its webhook delivered", res)
	}
	r.deliveredOnce(invoice, eventID)
}

// A merchant endpoint answering 503 opens after two failures and a
// recovery's payment_succeeded parks behind it (its record says parked and
// why; the workflow waits, spending none of its delays). When the merchant
// answers 2xx again, the webhook is delivered exactly once: one event id at
// the merchant, the record delivered, the recovery finished.
func TestParkedRecoveryWebhookDeliveredOnceAfterMerchantRecovers(t *testing.T) {
	r, sw, wfID, eventID := recoveryBehindDownMerchant(t, 503, "inv_parked")
	var rec map[string]any
	eventually(t, time.Minute, "the payment_succeeded webhook parked", func() bool {
		_, rec = r.call("GET", "/v1/delivery-records/"+eventID, nil)
		return rec["status"] == store.RecordParked
	})
	if rec["park_reason"] != "open" || rec["workflow_id"] != wfID || rec["parked_at"] == nil {
		t.Errorf("parked record %v, want park_reason open, parked_at and the recovery's workflow id", rec)
	}
	st := r.mustCall(200, "GET", "/v1/endpoints/merchant_webhook/"+r.profileID, nil)
	if st["state"] != "open" && st["state"] != "half_open" {
		t.Errorf("merchant endpoint %v, want open", st)
	}
	eventually(t, 10*time.Second, "probes failing behind the open endpoint", func() bool { return sw.posts.Load() >= 4 })

	sw.down.Store(0)
	r.succeededWithWebhookDelivered("inv_parked", wfID, eventID)
	eventually(t, 20*time.Second, "the merchant endpoint closed with nothing parked", func() bool {
		st := r.mustCall(200, "GET", "/v1/endpoints/merchant_webhook/"+r.profileID, nil)
		return st["state"] == "closed" && get[float64](t, st, "parked") == 0
	})
}

// deliveredOnce checks the merchant got the invoice's webhook exactly once,
// signed, under eventID, and its record says delivered.
func (r *recoveryStack) deliveredOnce(invoiceID, eventID string) {
	r.t.Helper()
	got := r.accepted(invoiceID)
	if len(r.merchant.Received()) != 1 || len(got) != 1 || got[0].EventID != eventID || !got[0].Verified() ||
		got[0].EventType != recovery.EventPaymentSucceeded {
		r.t.Fatalf("merchant received %d, accepted %+v; want one signed payment_succeeded %s", len(r.merchant.Received()), got, eventID)
	}
	if rec := r.mustCall(200, "GET", "/v1/delivery-records/"+eventID, nil); rec["status"] != store.RecordDelivered {
		r.t.Errorf("delivery record %v, want delivered", rec)
	}
}

// A merchant endpoint answering 410 is disabled at once: the recovery's
// webhook parks behind it (never dropped, no further POST) until an operator
// re-enables the profile's endpoint, which drains it: delivered once.
func TestRecoveryWebhookParksBehindDisabledMerchantUntilReenabled(t *testing.T) {
	r, sw, wfID, eventID := recoveryBehindDownMerchant(t, 410, "inv_gone")
	eventually(t, time.Minute, "the payment_succeeded webhook parked", func() bool {
		_, rec := r.call("GET", "/v1/delivery-records/"+eventID, nil)
		return rec["status"] == store.RecordParked && rec["park_reason"] == "disabled: answered 410 Gone"
	})
	st := r.mustCall(200, "GET", "/v1/endpoints/merchant_webhook/"+r.profileID, nil)
	if st["state"] != "disabled" || get[float64](t, st, "parked") != 1 {
		t.Fatalf("merchant endpoint %v, want disabled with one parked", st)
	}
	if n := sw.posts.Load(); n != 1 {
		t.Errorf("%d POSTs to the gone endpoint, want 1", n)
	}

	sw.down.Store(0)
	r.mustCall(200, "POST", "/v1/endpoints/merchant_webhook/"+r.profileID+"/enable", map[string]any{"reason": "merchant fixed its endpoint"})
	r.succeededWithWebhookDelivered("inv_gone", wfID, eventID)
}
