package recovery

import (
	"errors"
	"net/http"
	"testing"
)

// Each platform's card-update event names the customer and, where the
// platform says, the new payment method at the gateway; no invoice.
func TestParseCardUpdates(t *testing.T) {
	customHeaders := http.Header{"Webhook-Id": {"msg_pm_1"}}
	for _, tc := range []struct {
		platform, file string
		h              http.Header
		token          string
	}{
		{Chargebee, "chargebee_payment_source_updated.json", nil, "pm_1S5newCardUpdated000001"},
		{Chargebee, "chargebee_payment_source_added.json", nil, "pm_1S5newCardAdded0000001"},
		{StripeBilling, "stripe_payment_method_attached.json", nil, "pm_1S5newCardStripe0000001"},
		{StripeBilling, "stripe_customer_updated_default_payment_method.json", nil, "pm_1S5newCardStripe0000001"},
		{CustomBilling, "custom_payment_method_updated.json", customHeaders, "pm_1S5newCardCustom0000001"},
	} {
		ev := mustParse(t, tc.platform, tc.file, tc.h)
		if ev.Kind != PaymentMethodUpdated || ev.ConnectorCustomerID != "cus_T0qSE723C5Xxic" || ev.PaymentMethodToken != tc.token ||
			ev.InvoiceID != "" || ev.EventID == "" {
			t.Errorf("%s: %+v", tc.file, ev)
		}
		if DecideAction(ev.Kind, External) != RetryWithUpdatedPaymentMethod {
			t.Errorf("%s: action %s", tc.file, DecideAction(ev.Kind, External))
		}
	}
	// A customer.updated that leaves the default payment method alone is no card update.
	if ev := mustParse(t, StripeBilling, "stripe_customer_updated.json", nil); ev.Kind != OtherEvent {
		t.Errorf("customer.updated without a new default payment method: %s", ev.Kind)
	}
}

// Recurly's notification is thin: the account's billing info, fetched from
// its API, names the customer and the card at the gateway.
func TestRecurlyBillingInfoUpdated(t *testing.T) {
	ev := mustParse(t, Recurly, "recurly_billing_info_updated.json", nil)
	if ev.Kind != PaymentMethodUpdated || ev.Lookup == nil || ev.Lookup.Object != "billing_info" || ev.Lookup.ID != "acct_q0fb3bga2001" {
		t.Fatalf("thin billing_info_updated: %+v", ev)
	}
	ev, err := CompleteRecurlyBillingInfo(ev, fixture(t, "recurly_billing_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ConnectorCustomerID != "cus_T0qSE723C5Xxic" || ev.PaymentMethodToken != "pm_1S5newCardRecurly00001" || ev.Lookup != nil {
		t.Errorf("completed: %+v", ev)
	}
	if _, err := CompleteRecurlyBillingInfo(ev, []byte(`{"id":"bi_1","payment_method":{}}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("billing info without a gateway customer: %v, want ErrMalformed", err)
	}
}

// A card update that names no customer cannot reach any recovery: refused as malformed.
func TestCardUpdateWithoutCustomerIsMalformed(t *testing.T) {
	body := []byte(`{"type":"customer.payment_method_updated","timestamp":"2026-11-25T09:00:00Z","data":{"payment_method_type":"card"}}`)
	if _, err := Parse(CustomBilling, body, http.Header{"Webhook-Id": {"msg_x"}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("got %v, want ErrMalformed", err)
	}
}
