package billing

import (
	"net/http"
	"testing"
	"time"

	"orderflow/recovery"
)

// What the sandbox sends parses as the platform's real payload and verifies
// with the platform's scheme; its API completes Recurly's thin events.
func TestSandboxWebhooksParseAndVerify(t *testing.T) {
	p := New("sbx_key")
	inv := Invoice{ID: "inv_s1", Amount: 1999, Currency: "USD", Customer: "cus_s", PaymentMethod: "pm_s", AttemptCount: 2,
		ErrorCode: "card_declined", DeclineCode: "insufficient_funds", GatewayAccountID: "gw_1", TransactionID: "ch_s1"}
	for _, platform := range []string{recovery.Chargebee, recovery.StripeBilling, recovery.Recurly, recovery.CustomBilling} {
		e := Endpoint{Platform: platform, Secret: "whsec_b3JkZXJmbG93LXN0YW5kYXJkLXdlYmhvb2tzLWsx", Username: "cb"}
		body, id := p.Body(platform, Failed, inv)
		h := http.Header{}
		now := time.Now()
		if err := Sign(h, e, id, body, now); err != nil {
			t.Fatal(err)
		}
		var err error
		switch platform {
		case recovery.Chargebee:
			err = recovery.VerifyBasic(h.Get("Authorization"), "cb", []string{e.Secret})
		case recovery.StripeBilling:
			err = recovery.VerifyStripe(h.Get("Stripe-Signature"), body, []string{e.Secret}, now, recovery.StripeTolerance)
		case recovery.Recurly:
			err = recovery.VerifyRecurly(h.Get("recurly-signature"), body, []string{e.Secret}, now, recovery.RecurlyDrift)
		default:
			err = recovery.VerifyStandardWebhooks(h, body, []string{e.Secret}, now, recovery.StandardWebhooksTolerance)
		}
		if err != nil {
			t.Errorf("%s: %v", platform, err)
		}
		ev, err := recovery.Parse(platform, body, h)
		if err != nil {
			t.Fatalf("%s: %v", platform, err)
		}
		if ev.Kind != recovery.PaymentFailure || ev.EventID != id {
			t.Errorf("%s: %+v", platform, ev)
		}
		if platform == recovery.Recurly {
			tx := p.transactions[ev.Lookup.ID]
			ev, err = recovery.CompleteRecurly(ev, tx, p.invoices[inv.ID])
			if err != nil || ev.Amount != 1999 || ev.InvoiceID != "inv_s1" || ev.PaymentMethodToken != "pm_s" {
				t.Errorf("recurly completed: %+v %v", ev, err)
			}
		}
		if platform == recovery.Chargebee && (ev.PlatformAttemptCount != 2 || ev.ConnectorCustomerID != "cus_s") {
			t.Errorf("chargebee: %+v", ev)
		}
	}
}
