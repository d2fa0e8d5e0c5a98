package recovery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBuildWebhookHasHyperswitchShape(t *testing.T) {
	at := time.Date(2025, 9, 7, 20, 5, 2, 792e6, time.UTC)
	raw, err := BuildWebhook(PaymentOutcome{
		MerchantID: "cloth_seller", EventID: "evt_019925c838c877c282d3eaf5b86e9036", EventType: EventPaymentSucceeded,
		PaymentID: "test_ffhgfewf3476f5_pay_1", InvoiceID: "test_ffhgfewf3476f5", Amount: 2250, Currency: "USD",
		ConnectorCustomerID: "cus_T0qSE723C5Xxic", PaymentMethodToken: "pm_1S4olu2KXBHSNjodBbiedqY9",
		PaymentIntentID: "pi_3S4opd2KXBHSNjod0tD34Dmw", PaymentConnectorID: "mca_pay", BillingConnectorID: "mca_bill",
		TotalRetryCount: 2, CardNetwork: "Visa", FirstErrorCode: "resource_missing", Created: at.Add(-3 * time.Minute), Modified: at, At: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["merchant_id"] != "cloth_seller" || got["event_id"] != "evt_019925c838c877c282d3eaf5b86e9036" ||
		got["event_type"] != "payment_succeeded" || got["timestamp"] != "2025-09-07T20:05:02.792Z" {
		t.Errorf("envelope %v", got)
	}
	content := field[map[string]any](t, got, "content")
	obj := field[map[string]any](t, content, "object")
	amount := field[map[string]any](t, obj, "amount")
	rr := field[map[string]any](t, obj, "feature_metadata", "revenue_recovery")
	payment := field[map[string]any](t, rr, "billing_connector_payment_details")
	checks := map[string][2]any{
		"content.type":             {content["type"], "payment_details"},
		"status":                   {obj["status"], "succeeded"},
		"connector":                {obj["connector"], "stripe"},
		"merchant_reference_id":    {obj["merchant_reference_id"], "test_ffhgfewf3476f5"},
		"connector_transaction_id": {obj["connector_transaction_id"], "pi_3S4opd2KXBHSNjod0tD34Dmw"},
		"amount.order_amount":      {amount["order_amount"], 2250.0},
		"amount.amount_captured":   {amount["amount_captured"], 2250.0},
		"amount.currency":          {amount["currency"], "USD"},
		"rr.total_retry_count":     {rr["total_retry_count"], 2.0},
		"rr.billing_connector_id":  {rr["billing_connector_id"], "mca_bill"},
		"rr.first_pg_error":        {rr["first_payment_attempt_pg_error_code"], "resource_missing"},
		"rr.token":                 {payment["payment_processor_token"], "pm_1S4olu2KXBHSNjodBbiedqY9"},
		"rr.customer":              {payment["connector_customer_id"], "cus_T0qSE723C5Xxic"},
		"payment_method_id":        {obj["payment_method_id"], "pm_1S4olu2KXBHSNjodBbiedqY9"},
		"card_network":             {field[map[string]any](t, obj, "payment_method_data", "card")["card_network"], "Visa"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	// Fields present as null, as in the sample.
	for _, k := range []string{"customer_id", "error", "shipping", "billing", "attempts", "next_action", "raw_connector_response"} {
		if v, ok := obj[k]; !ok || v != nil {
			t.Errorf("object.%s = %v (present %v), want null", k, v, ok)
		}
	}
}

func TestBuildWebhookPaymentFailed(t *testing.T) {
	raw, err := BuildWebhook(PaymentOutcome{EventType: EventPaymentFailed, Amount: 100, ErrorCode: "card_declined", DeclineCode: "stolen_card"})
	if err != nil {
		t.Fatal(err)
	}
	var got OutgoingWebhook
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Content.Object.Status != "failed" || got.Content.Object.Error == nil || got.Content.Object.Error.DeclineCode != "stolen_card" ||
		got.Content.Object.Amount.AmountCaptured != 0 {
		t.Errorf("%+v", got.Content.Object)
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
