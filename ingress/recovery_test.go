package ingress

import (
	"net/http"
	"testing"
	"time"

	"orderflow/recovery"
	"orderflow/store"
)

// verifySource picks each connector's own scheme and accepts the previous secret while it rolls.
func TestVerifySourceUsesTheConnectorsScheme(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1763990000, 0)
	sign := map[string]func(h http.Header, secret string){
		recovery.Chargebee:     func(h http.Header, s string) { h.Set("Authorization", recovery.BasicAuthorization("cb", s)) },
		recovery.StripeBilling: func(h http.Header, s string) { h.Set("Stripe-Signature", recovery.SignStripe(s, now, body)) },
		recovery.Recurly:       func(h http.Header, s string) { h.Set("recurly-signature", recovery.SignRecurly(s, now, body)) },
		recovery.CustomBilling: func(h http.Header, s string) { _ = recovery.StandardWebhookHeaders(h, s, "msg_1", now, body) },
	}
	const cur, prev = "whsec_Y3VycmVudC1zZWNyZXQtb2YtdGhlLWNvbm5lY3Rvcg==", "whsec_cHJldmlvdXMtc2VjcmV0LW9mLXRoZS1jb25uZWN0b3I="
	for platform, signWith := range sign {
		acct := store.ConnectorAccount{ConnectorName: platform,
			WebhookDetails: store.WebhookDetails{MerchantSecret: cur, AdditionalSecret: prev, Username: "cb"}}
		for _, tc := range []struct {
			secret string
			ok     bool
		}{{cur, true}, {prev, true}, {"whsec_b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVkLXg=", false}} {
			h := http.Header{}
			signWith(h, tc.secret)
			if err := verifySource(acct, h, body, now); (err == nil) != tc.ok {
				t.Errorf("%s signed with %.12s…: %v, want ok=%v", platform, tc.secret, err, tc.ok)
			}
		}
		// Another platform's headers never pass.
		for other, otherSign := range sign {
			if other == platform {
				continue
			}
			h := http.Header{}
			otherSign(h, cur)
			if verifySource(acct, h, body, now) == nil {
				t.Errorf("%s accepted %s's scheme", platform, other)
			}
		}
		acct.WebhookDetails = store.WebhookDetails{}
		h := http.Header{}
		signWith(h, cur)
		if verifySource(acct, h, body, now) == nil {
			t.Errorf("%s without a configured secret verified", platform)
		}
	}
}

func TestValidateRecoveryPayload(t *testing.T) {
	valid := func() recovery.RecoveryPayload {
		var p recovery.RecoveryPayload
		p.MerchantReferenceID, p.BillingMerchantConnectorID, p.PaymentMerchantConnectorID = "inv", "b", "p"
		p.AmountDetails.OrderAmount, p.AmountDetails.Currency = 2250, "USD"
		p.ConnectorCustomerID, p.PaymentMethodData.PrimaryProcessorPaymentMethodToken = "cus", "pm"
		p.AttemptStatus = "failure"
		return p
	}
	if a, field, _ := validateRecoveryPayload(valid(), "prof"); field != "" || a != recovery.ScheduleFailedPayment {
		t.Fatalf("valid payload: %s %s", a, field)
	}
	for want, mutate := range map[string]func(*recovery.RecoveryPayload){
		"merchant_reference_id":         func(p *recovery.RecoveryPayload) { p.MerchantReferenceID = " " },
		"billing_merchant_connector_id": func(p *recovery.RecoveryPayload) { p.BillingMerchantConnectorID = "" },
		"payment_merchant_connector_id": func(p *recovery.RecoveryPayload) { p.PaymentMerchantConnectorID = "" },
		"action":                        func(p *recovery.RecoveryPayload) { p.Action = "retry_now" },
		"amount_details.order_amount":   func(p *recovery.RecoveryPayload) { p.AmountDetails.OrderAmount = 0 },
		"amount_details.currency":       func(p *recovery.RecoveryPayload) { p.AmountDetails.Currency = "dollars" },
		"connector_customer_id":         func(p *recovery.RecoveryPayload) { p.ConnectorCustomerID = "" },
		"payment_method_data.primary_processor_payment_method_token": func(p *recovery.RecoveryPayload) {
			p.PaymentMethodData.PrimaryProcessorPaymentMethodToken = ""
		},
	} {
		p := valid()
		mutate(&p)
		if _, field, _ := validateRecoveryPayload(p, "prof"); field != want {
			t.Errorf("field %q, want %q", field, want)
		}
	}
	if _, field, _ := validateRecoveryPayload(valid(), ""); field != "X-Profile-Id" {
		t.Errorf("missing profile header: %q", field)
	}
	// A success needs no payment details; the action follows attempt_status when not given.
	p := recovery.RecoveryPayload{MerchantReferenceID: "inv", BillingMerchantConnectorID: "b", PaymentMerchantConnectorID: "p", AttemptStatus: "charged"}
	if a, field, _ := validateRecoveryPayload(p, "prof"); field != "" || a != recovery.SuccessPaymentExternal {
		t.Errorf("charged: %s %q", a, field)
	}
}
