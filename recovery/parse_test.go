package recovery

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, platform, file string, h http.Header) Event {
	t.Helper()
	ev, err := Parse(platform, fixture(t, file), h)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev
}

func TestParseChargebee(t *testing.T) {
	ev := mustParse(t, Chargebee, "chargebee_payment_failed.json", nil)
	want := Event{Platform: Chargebee, EventID: "ev_AzyzpLUZ5bC1W3Yb", PlatformEventType: "payment_failed", Kind: PaymentFailure,
		InvoiceID: "inv_cb_1001", TransactionID: "ch_3S4opd2KXBHSNjod0fail01", Amount: 2250, Currency: "USD",
		ConnectorCustomerID: "cus_T0qSE723C5Xxic", PaymentMethodToken: "pm_1S4olu2KXBHSNjodBbiedqY9",
		ErrorCode: "card_declined", ErrorMessage: "Your card has insufficient funds.", PlatformAttemptCount: 3,
		GatewayAccountID: "gw_AzZhUGSPAkLskJQo", CardNetwork: "visa", CardFunding: "credit", OccurredAt: ev.OccurredAt}
	if ev != want {
		t.Errorf("payment_failed:\n got %+v\nwant %+v", ev, want)
	}
	if ev.OccurredAt.Unix() != 1763980000 {
		t.Errorf("occurred_at %v", ev.OccurredAt)
	}
	for file, kind := range map[string]EventKind{
		"chargebee_payment_succeeded.json":      PaymentSuccess,
		"chargebee_payment_initiated.json":      PaymentPending,
		"chargebee_invoice_deleted.json":        InvoiceCancel,
		"chargebee_invoice_updated_voided.json": InvoiceCancel,
		"chargebee_invoice_updated_other.json":  OtherEvent,
		"chargebee_customer_changed.json":       OtherEvent,
	} {
		ev := mustParse(t, Chargebee, file, nil)
		if ev.Kind != kind {
			t.Errorf("%s: kind %s, want %s", file, ev.Kind, kind)
		}
		if kind != OtherEvent && ev.InvoiceID != "inv_cb_1001" {
			t.Errorf("%s: invoice %q", file, ev.InvoiceID)
		}
	}
	if ev := mustParse(t, Chargebee, "chargebee_payment_succeeded.json", nil); ev.TransactionID != "ch_3S4opd2KXBHSNjod0okay02" || ev.ErrorCode != "" {
		t.Errorf("succeeded: %+v", ev)
	}
}

func TestParseStripeBilling(t *testing.T) {
	ev := mustParse(t, StripeBilling, "stripe_invoice_payment_failed.json", nil)
	if ev.Kind != PaymentFailure || ev.InvoiceID != "in_1S4op92KXBHSNjodinv001" || ev.Currency != "USD" || ev.Amount != 2250 ||
		ev.ConnectorCustomerID != "cus_T0qSE723C5Xxic" || ev.PlatformAttemptCount != 3 || ev.EventID != "evt_1S4oqA2KXBHSNjodfail0001" {
		t.Errorf("payment_failed: %+v", ev)
	}
	if ev.Lookup == nil || ev.Lookup.Object != "charge" || ev.Lookup.ID != "ch_3S4opd2KXBHSNjod0stripe1" {
		t.Fatalf("lookup %+v", ev.Lookup)
	}
	ev, err := CompleteStripe(ev, fixture(t, "stripe_charge_failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.PaymentMethodToken != "pm_1S4olu2KXBHSNjodBbiedqY9" || ev.ErrorCode != "card_declined" || ev.DeclineCode != "insufficient_funds" ||
		ev.TransactionID != "ch_3S4opd2KXBHSNjod0stripe1" || ev.CardNetwork != "visa" || ev.Lookup != nil {
		t.Errorf("completed: %+v", ev)
	}
	// API version basil: no charge, the invoice's default payment method instead.
	basil := mustParse(t, StripeBilling, "stripe_invoice_payment_failed_basil.json", nil)
	if basil.Kind != PaymentFailure || basil.Lookup != nil || basil.PaymentMethodToken != "pm_1S4olu2KXBHSNjodBbiedqY9" {
		t.Errorf("basil: %+v", basil)
	}
	paid := mustParse(t, StripeBilling, "stripe_invoice_paid.json", nil)
	if paid.Kind != PaymentSuccess || paid.Amount != 2250 || paid.Lookup != nil {
		t.Errorf("paid (amount_remaining is 0; amount_due is used): %+v", paid)
	}
	for file, kind := range map[string]EventKind{
		"stripe_invoice_voided.json":            InvoiceCancel,
		"stripe_invoice_payment_succeeded.json": PaymentSuccess, // the twin of invoice.paid; the recovery counts one success
		"stripe_customer_updated.json":          OtherEvent,
	} {
		if ev := mustParse(t, StripeBilling, file, nil); ev.Kind != kind {
			t.Errorf("%s: kind %s, want %s", file, ev.Kind, kind)
		}
	}
	pend := mustParse(t, StripeBilling, "stripe_charge_pending.json", nil)
	if pend.Kind != PaymentPending || pend.InvoiceID != "in_1S4op92KXBHSNjodinv001" || pend.TransactionID != "py_3S4opd2KXBHSNjod0pend01" {
		t.Errorf("charge.pending: %+v", pend)
	}
}

func TestParseRecurly(t *testing.T) {
	ev := mustParse(t, Recurly, "recurly_payment_failed.json", nil)
	if ev.Kind != PaymentFailure || ev.Lookup == nil || ev.Lookup.Object != "transaction" || ev.Lookup.ID != "6c9a1f0e2b4d7a8c9e0f1a2b3c4d5e6f" || ev.InvoiceID != "" {
		t.Fatalf("thin failed: %+v", ev)
	}
	tx := fixture(t, "recurly_transaction_declined.json")
	invID, err := RecurlyInvoiceIDOf(tx)
	if err != nil || invID != "rinv_q0fb3bga2001" {
		t.Fatalf("invoice of transaction: %q %v", invID, err)
	}
	ev, err = CompleteRecurly(ev, tx, fixture(t, "recurly_invoice.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.InvoiceID != "rinv_q0fb3bga2001" || ev.Amount != 2250 || ev.Currency != "USD" || ev.ErrorCode != "insufficient_funds" ||
		ev.PaymentMethodToken != "pm_1S4olu2KXBHSNjodBbiedqY9" || ev.ConnectorCustomerID != "cus_T0qSE723C5Xxic" ||
		ev.TransactionID != "ch_3S4opd2KXBHSNjod0recur1" || ev.PlatformAttemptCount != 2 || ev.Lookup != nil {
		t.Errorf("completed: %+v", ev)
	}
	for file, want := range map[string]struct {
		kind   EventKind
		lookup string
	}{
		"recurly_payment_succeeded.json":     {PaymentSuccess, "transaction"},
		"recurly_payment_processing.json":    {PaymentPending, "transaction"},
		"recurly_charge_invoice_voided.json": {InvoiceCancel, "invoice"},
		"recurly_account_created.json":       {OtherEvent, ""},
	} {
		ev := mustParse(t, Recurly, file, nil)
		got := ""
		if ev.Lookup != nil {
			got = ev.Lookup.Object
		}
		if ev.Kind != want.kind || got != want.lookup {
			t.Errorf("%s: %s/%q, want %s/%q", file, ev.Kind, got, want.kind, want.lookup)
		}
	}
	ok, err := CompleteRecurly(mustParse(t, Recurly, "recurly_payment_succeeded.json", nil), fixture(t, "recurly_transaction_success.json"), fixture(t, "recurly_invoice.json"))
	if err != nil || ok.TransactionID != "ch_3S4opd2KXBHSNjod0recok1" || ok.ErrorCode != "" {
		t.Errorf("succeeded: %+v %v", ok, err)
	}
}

func TestParseCustomBilling(t *testing.T) {
	h := http.Header{}
	h.Set("webhook-id", "msg_2Yh1")
	ev := mustParse(t, CustomBilling, "custom_payment_failed.json", h)
	if ev.Kind != PaymentFailure || ev.EventID != "msg_2Yh1" || ev.InvoiceID != "inv_custom_77" || ev.Amount != 2250 ||
		ev.ConnectorCustomerID != "cus_T0qSE723C5Xxic" || ev.PaymentMethodToken != "pm_1S4olu2KXBHSNjodBbiedqY9" ||
		ev.ErrorCode != "110" || ev.DeclineCode != "insufficient_funds" || ev.PlatformAttemptCount != 4 || ev.TransactionID != "1831984" {
		t.Errorf("payment_failed: %+v", ev)
	}
	for file, kind := range map[string]EventKind{
		"custom_paid.json": PaymentSuccess, "custom_payment_pending.json": PaymentPending,
		"custom_voided.json": InvoiceCancel, "custom_invoice_created.json": OtherEvent,
	} {
		if ev := mustParse(t, CustomBilling, file, h); ev.Kind != kind {
			t.Errorf("%s: kind %s, want %s", file, ev.Kind, kind)
		}
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	for _, tc := range []struct{ platform, body string }{
		{Chargebee, `not json`},
		{Chargebee, `{"id":"ev_1","content":{}}`},                               // no event_type
		{Chargebee, `{"id":"ev_1","event_type":"payment_failed","content":{}}`}, // no invoice
		{StripeBilling, `{"id":"evt_1","type":"invoice.payment_failed"}`},       // no data.object
		{StripeBilling, `{"id":"evt_1","type":"invoice.payment_failed","data":{"object":{"id":""}}}`},
		{StripeBilling, `{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":7}}}`}, // wrong type
		{Recurly, `{"id":"rcn_1","object_type":"payment","event_type":"failed"}`},          // no uuid
		{Recurly, `[]`},
		{CustomBilling, `{"type":"invoice.payment_failed","data":{"amount_details":{}}}`},
		{CustomBilling, `{"data":{}}`},
		{"paypal", `{}`},
	} {
		if _, err := Parse(tc.platform, []byte(tc.body), http.Header{}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %s: err %v, want ErrMalformed", tc.platform, tc.body, err)
		}
	}
	if _, err := CompleteRecurly(Event{}, nil, []byte(`{"id":"i","total":"12.345","currency":"USD"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("3 decimals in USD accepted: %v", err)
	}
}

func TestMinorUnits(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		want    int64
	}{{"22.5", "USD", 2250}, {"22.50", "usd", 2250}, {"0.07", "EUR", 7}, {"1500", "JPY", 1500}, {"1.234", "KWD", 1234}, {"10", "GBP", 1000}} {
		if got, err := MinorUnits(tc.in, tc.cur); err != nil || got != tc.want {
			t.Errorf("MinorUnits(%s, %s) = %d, %v; want %d", tc.in, tc.cur, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"1.5", "JPY"}, {"-1", "USD"}, {"abc", "USD"}, {"", "USD"}} {
		if _, err := MinorUnits(bad[0], bad[1]); err == nil {
			t.Errorf("MinorUnits(%v) accepted", bad)
		}
	}
}
