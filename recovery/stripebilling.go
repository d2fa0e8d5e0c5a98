package recovery

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StripeBilling is the connector_name of Stripe Billing connectors. Its
// webhooks are signed with Stripe-Signature; a failed invoice's charge (the
// decline and the payment method) is fetched from Stripe's API.
const StripeBilling = "stripebilling"

// StripeTolerance is stripe-go's bound on a Stripe-Signature timestamp's age.
const StripeTolerance = 300 * time.Second

type stripeBilling struct{}

func (stripeBilling) Name() string { return StripeBilling }

func (stripeBilling) HasAPI() bool { return true }

// APIAuth: Stripe takes the API key as a Bearer token.
func (stripeBilling) APIAuth() APIAuth { return APIAuth{} }

// RecordBackRequest pays the invoice out of band.
func (stripeBilling) RecordBackRequest(inv PaidInvoice) (APIRequest, bool) {
	return APIRequest{Op: "stripe invoice pay", Method: http.MethodPost,
		Path: "/v1/invoices/" + escape(inv.InvoiceID) + "/pay", Form: map[string]string{"paid_out_of_band": "true"}}, true
}

// CompleteEvent fetches a failed invoice's charge.
func (stripeBilling) CompleteEvent(ev Event, fetch Fetch) (Event, error) {
	if ev.Lookup.Object != "charge" {
		return ev, ErrMalformed
	}
	ch, err := fetch(getRequest("stripe charge", "/v1/charges/"+escape(ev.Lookup.ID)))
	if err != nil {
		return ev, err
	}
	return CompleteStripe(ev, ch)
}

func (stripeBilling) CheckCredentials(WebhookCredentials) *SettingError { return nil }

func (stripeBilling) Verify(h http.Header, body []byte, c WebhookCredentials, now time.Time) error {
	return VerifyStripe(h.Get("Stripe-Signature"), body, c.Secrets, now, StripeTolerance)
}

func (stripeBilling) Parse(body []byte, _ http.Header) (Event, error) { return parseStripe(body) }

type stripeEvent struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object             json.RawMessage `json:"object"`
		PreviousAttributes json.RawMessage `json:"previous_attributes"`
	} `json:"data"`
}

type stripeInvoice struct {
	ID                   string `json:"id"`
	Object               string `json:"object"`
	Customer             string `json:"customer"`
	Currency             string `json:"currency"`
	AmountDue            int64  `json:"amount_due"`
	AmountRemaining      int64  `json:"amount_remaining"`
	AttemptCount         int    `json:"attempt_count"`
	Charge               string `json:"charge"` // dropped from API version 2025-03-31 ("basil")
	DefaultPaymentMethod string `json:"default_payment_method"`
	Status               string `json:"status"`
}

type stripeCharge struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Status        string `json:"status"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Customer      string `json:"customer"`
	PaymentMethod string `json:"payment_method"`
	FailureCode   string `json:"failure_code"`
	FailureMsg    string `json:"failure_message"`
	Invoice       string `json:"invoice"`
	Outcome       struct {
		Reason string `json:"reason"` // the decline code, e.g. insufficient_funds
	} `json:"outcome"`
	PaymentMethodDetails struct {
		Card struct {
			Brand   string `json:"brand"`
			Funding string `json:"funding"`
		} `json:"card"`
	} `json:"payment_method_details"`
}

func parseStripe(body []byte) (Event, error) {
	var se stripeEvent
	if err := decodeStrict(body, &se); err != nil {
		return Event{}, err
	}
	if se.ID == "" || se.Type == "" || len(se.Data.Object) == 0 {
		return Event{}, malformed("stripe event lacks id, type or data.object")
	}
	ev := Event{EventID: se.ID, PlatformEventType: se.Type, OccurredAt: time.Unix(se.Created, 0).UTC(), Kind: OtherEvent}
	if se.Type == "charge.pending" {
		var ch stripeCharge
		if err := decodeStrict(se.Data.Object, &ch); err != nil {
			return Event{}, err
		}
		ev.Kind, ev.InvoiceID = PaymentPending, ch.Invoice
		applyStripeCharge(&ev, ch)
		if ev.InvoiceID == "" {
			ev.Kind = OtherEvent // a pending charge outside billing
		}
		return ev, nil
	}
	switch se.Type {
	case "payment_method.attached":
		return stripeMethodAttached(ev, se.Data.Object)
	case "customer.updated":
		return stripeDefaultMethodChanged(ev, se.Data.Object, se.Data.PreviousAttributes)
	}
	var inv stripeInvoice
	if err := decodeStrict(se.Data.Object, &inv); err != nil {
		return Event{}, err
	}
	switch se.Type {
	case "invoice.payment_failed":
		ev.Kind = PaymentFailure
	case "invoice.paid", "invoice.payment_succeeded":
		// Stripe sends both for one payment, under different event ids: a
		// merchant may subscribe to either. The invoice's RevenueRecovery counts
		// one external success; the second finds the recovery over.
		ev.Kind = PaymentSuccess
	case "invoice.voided":
		ev.Kind = InvoiceCancel
	}
	if ev.Kind == OtherEvent {
		return ev, nil
	}
	ev.InvoiceID = inv.ID
	ev.ConnectorCustomerID = inv.Customer
	ev.PaymentMethodToken = inv.DefaultPaymentMethod
	ev.Currency = normaliseCurrency(inv.Currency)
	ev.Amount = inv.AmountDue // amount_remaining is 0 on paid invoices
	ev.PlatformAttemptCount = inv.AttemptCount
	ev.TransactionID = inv.Charge
	if ev.Kind == PaymentFailure && inv.Charge != "" {
		ev.Lookup = &Lookup{Object: "charge", ID: inv.Charge}
	}
	return ev, nil
}

type stripePaymentMethod struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Card     struct {
		Brand   string `json:"brand"`
		Funding string `json:"funding"`
	} `json:"card"`
}

// stripeMethodAttached reads payment_method.attached: the payment method and
// the customer it now belongs to.
func stripeMethodAttached(ev Event, object []byte) (Event, error) {
	var pm stripePaymentMethod
	if err := decodeStrict(object, &pm); err != nil {
		return Event{}, err
	}
	ev.Kind = PaymentMethodUpdated
	ev.ConnectorCustomerID, ev.PaymentMethodToken = pm.Customer, pm.ID
	ev.CardNetwork, ev.CardFunding = pm.Card.Brand, pm.Card.Funding
	return ev, nil
}

type stripeCustomer struct {
	ID              string `json:"id"`
	InvoiceSettings struct {
		DefaultPaymentMethod *string `json:"default_payment_method"`
	} `json:"invoice_settings"`
}

// stripeDefaultMethodChanged reads customer.updated: a card update only when
// previous_attributes shows the invoices' default payment method changed and
// the new one is set (any other change of the customer is OtherEvent).
func stripeDefaultMethodChanged(ev Event, object, previous []byte) (Event, error) {
	var cus stripeCustomer
	if err := decodeStrict(object, &cus); err != nil {
		return Event{}, err
	}
	var prev struct {
		InvoiceSettings *struct {
			DefaultPaymentMethod json.RawMessage `json:"default_payment_method"`
		} `json:"invoice_settings"`
	}
	if len(previous) > 0 {
		if err := decodeStrict(previous, &prev); err != nil {
			return Event{}, err
		}
	}
	changed := prev.InvoiceSettings != nil && prev.InvoiceSettings.DefaultPaymentMethod != nil
	now := cus.InvoiceSettings.DefaultPaymentMethod
	if !changed || now == nil || *now == "" {
		return ev, nil
	}
	ev.Kind = PaymentMethodUpdated
	ev.ConnectorCustomerID, ev.PaymentMethodToken = cus.ID, *now
	return ev, nil
}

// CompleteStripe adds the failed charge (payment method, failure and decline codes).
func CompleteStripe(ev Event, chargeJSON []byte) (Event, error) {
	var ch stripeCharge
	if err := decodeStrict(chargeJSON, &ch); err != nil {
		return Event{}, err
	}
	if ch.ID == "" {
		return Event{}, malformed("stripe charge lacks id")
	}
	applyStripeCharge(&ev, ch)
	ev.Lookup = nil
	return ev, nil
}

func applyStripeCharge(ev *Event, ch stripeCharge) {
	ev.TransactionID = ch.ID
	if ch.PaymentMethod != "" {
		ev.PaymentMethodToken = ch.PaymentMethod
	}
	if ch.Customer != "" {
		ev.ConnectorCustomerID = ch.Customer
	}
	if ch.Amount > 0 {
		ev.Amount, ev.Currency = ch.Amount, normaliseCurrency(ch.Currency)
	}
	ev.ErrorCode, ev.ErrorMessage = ch.FailureCode, ch.FailureMsg
	if ch.Outcome.Reason != "" && ch.Outcome.Reason != ch.FailureCode {
		ev.DeclineCode = ch.Outcome.Reason
	}
	ev.CardNetwork, ev.CardFunding = ch.PaymentMethodDetails.Card.Brand, ch.PaymentMethodDetails.Card.Funding
}

// SignStripe makes a Stripe-Signature header value for body at t (sandbox and tests).
func SignStripe(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hmacSHA256Hex([]byte(secret), []byte(ts+"."+string(body)))
}

// VerifyStripe checks a Stripe-Signature header: any v1 signature made with any
// of our secrets (the whole whsec_ string is the key) over "<t>.<body>", and t
// within tolerance of now. Stripe sends one v1 per active secret while a secret rolls.
func VerifyStripe(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return unverified("Stripe-Signature lacks t or v1")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return unverified("Stripe-Signature timestamp is not a number")
	}
	var expected []string
	for _, s := range secrets {
		expected = append(expected, hmacSHA256Hex([]byte(s), []byte(ts+"."+string(body))))
	}
	if !anyHexMatches(sigs, expected) {
		return unverified("no matching Stripe v1 signature")
	}
	return withinTolerance(time.Unix(sec, 0), now, tolerance)
}
