package recovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrMalformed is wrapped by every parse failure: the body is not an event of
// the platform, or lacks what recovery truly needs.
var ErrMalformed = errors.New("malformed billing event")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Parse turns a verified webhook body of platform into an Event. Parsing is
// lenient (platforms' own samples lack fields) and fails only on what recovery
// needs: an event type, and an invoice for the events it acts on. Events of
// other types parse as OtherEvent. A Recurly event, or a Stripe failure with a
// charge, comes back with Lookup set: complete it with the Complete* functions.
func Parse(platform string, body []byte, h http.Header) (Event, error) {
	var (
		ev  Event
		err error
	)
	switch platform {
	case Chargebee:
		ev, err = parseChargebee(body)
	case StripeBilling:
		ev, err = parseStripe(body)
	case Recurly:
		ev, err = parseRecurly(body)
	case CustomBilling:
		ev, err = parseCustom(body, h)
	default:
		return Event{}, fmt.Errorf("%w: unknown platform %q", ErrMalformed, platform)
	}
	if err != nil {
		return Event{}, err
	}
	ev.Platform = platform
	if ev.Kind != OtherEvent && ev.InvoiceID == "" && ev.Lookup == nil {
		return Event{}, malformed("%s event %s names no invoice", platform, ev.PlatformEventType)
	}
	return ev, nil
}

func decodeStrict(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return malformed("not JSON: %v", jsonReason(err))
	}
	return nil
}

// jsonReason keeps the decoder's error short and free of body content.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s has the wrong type", te.Field)
	}
	return "invalid"
}

// --- Chargebee ---------------------------------------------------------------

type chargebeeEvent struct {
	ID         string `json:"id"`
	OccurredAt int64  `json:"occurred_at"`
	Object     string `json:"object"`
	EventType  string `json:"event_type"`
	Content    struct {
		Transaction *struct {
			IDAtGateway          string `json:"id_at_gateway"`
			Status               string `json:"status"`
			ErrorCode            string `json:"error_code"`
			ErrorText            string `json:"error_text"`
			GatewayAccountID     string `json:"gateway_account_id"`
			Amount               int64  `json:"amount"`
			CurrencyCode         string `json:"currency_code"`
			Date                 int64  `json:"date"`
			PaymentMethodDetails string `json:"payment_method_details"` // JSON inside a string
		} `json:"transaction"`
		Invoice *struct {
			ID             string            `json:"id"`
			Status         string            `json:"status"`
			Total          int64             `json:"total"`
			AmountDue      int64             `json:"amount_due"`
			CurrencyCode   string            `json:"currency_code"`
			LinkedPayments []json.RawMessage `json:"linked_payments"`
		} `json:"invoice"`
		Customer *struct {
			PaymentMethod *struct {
				ReferenceID string `json:"reference_id"` // "cus_x/card_y"
			} `json:"payment_method"`
		} `json:"customer"`
	} `json:"content"`
}

func parseChargebee(body []byte) (Event, error) {
	var cb chargebeeEvent
	if err := decodeStrict(body, &cb); err != nil {
		return Event{}, err
	}
	if cb.EventType == "" || cb.ID == "" {
		return Event{}, malformed("chargebee event lacks id or event_type")
	}
	ev := Event{EventID: cb.ID, PlatformEventType: cb.EventType, OccurredAt: time.Unix(cb.OccurredAt, 0).UTC()}
	switch cb.EventType {
	case "payment_failed":
		ev.Kind = PaymentFailure
	case "payment_succeeded":
		ev.Kind = PaymentSuccess
	case "payment_initiated": // asynchronous methods (direct debit) start in_progress
		ev.Kind = PaymentPending
	case "invoice_deleted":
		ev.Kind = InvoiceCancel
	case "invoice_updated":
		// Chargebee has no invoice_voided event: a void is an update to status voided.
		ev.Kind = OtherEvent
		if cb.Content.Invoice != nil && cb.Content.Invoice.Status == "voided" {
			ev.Kind = InvoiceCancel
		}
	default:
		ev.Kind = OtherEvent
	}
	if inv := cb.Content.Invoice; inv != nil {
		ev.InvoiceID = inv.ID
		ev.Amount = inv.AmountDue
		if ev.Amount == 0 {
			ev.Amount = inv.Total
		}
		ev.Currency = normaliseCurrency(inv.CurrencyCode)
		ev.PlatformAttemptCount = len(inv.LinkedPayments)
	}
	if tx := cb.Content.Transaction; tx != nil {
		ev.TransactionID = tx.IDAtGateway
		ev.ErrorCode = tx.ErrorCode
		ev.ErrorMessage = tx.ErrorText
		ev.GatewayAccountID = tx.GatewayAccountID
		if tx.Amount > 0 {
			ev.Amount = tx.Amount
		}
		if tx.CurrencyCode != "" {
			ev.Currency = normaliseCurrency(tx.CurrencyCode)
		}
		ev.CardNetwork, ev.CardFunding = chargebeeCard(tx.PaymentMethodDetails)
	}
	if c := cb.Content.Customer; c != nil && c.PaymentMethod != nil {
		ev.ConnectorCustomerID, ev.PaymentMethodToken, _ = strings.Cut(c.PaymentMethod.ReferenceID, "/")
	}
	return ev, nil
}

// chargebeeCard reads brand and funding from payment_method_details, a JSON
// document inside a string; a malformed one is ignored (the card is optional).
func chargebeeCard(details string) (network, funding string) {
	var d struct {
		Card struct {
			Brand       string `json:"brand"`
			FundingType string `json:"funding_type"`
		} `json:"card"`
	}
	if details == "" || json.Unmarshal([]byte(details), &d) != nil {
		return "", ""
	}
	return d.Card.Brand, d.Card.FundingType
}

// --- Stripe Billing ----------------------------------------------------------

type stripeEvent struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
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
	var inv stripeInvoice
	if err := decodeStrict(se.Data.Object, &inv); err != nil {
		return Event{}, err
	}
	switch se.Type {
	case "invoice.payment_failed":
		ev.Kind = PaymentFailure
	case "invoice.paid":
		ev.Kind = PaymentSuccess
	case "invoice.voided":
		ev.Kind = InvoiceCancel
		// invoice.payment_succeeded is sent beside invoice.paid for the same
		// payment: one success, not two, so it stays OtherEvent.
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

// --- Recurly -----------------------------------------------------------------

type recurlyNotification struct {
	ID         string `json:"id"`
	ObjectType string `json:"object_type"`
	EventType  string `json:"event_type"`
	EventTime  string `json:"event_time"`
	UUID       string `json:"uuid"`
}

func parseRecurly(body []byte) (Event, error) {
	var n recurlyNotification
	if err := decodeStrict(body, &n); err != nil {
		return Event{}, err
	}
	if n.ID == "" || n.ObjectType == "" || n.EventType == "" {
		return Event{}, malformed("recurly notification lacks id, object_type or event_type")
	}
	ev := Event{EventID: n.ID, PlatformEventType: n.ObjectType + "." + n.EventType, Kind: OtherEvent}
	ev.OccurredAt, _ = time.Parse(time.RFC3339, n.EventTime)
	switch {
	case n.ObjectType == "payment" && n.EventType == "failed":
		ev.Kind = PaymentFailure
	case n.ObjectType == "payment" && n.EventType == "succeeded":
		ev.Kind = PaymentSuccess
	case n.ObjectType == "payment" && n.EventType == "processing":
		ev.Kind = PaymentPending
	case strings.HasSuffix(n.ObjectType, "invoice") && n.EventType == "voided":
		ev.Kind = InvoiceCancel
	}
	if ev.Kind == OtherEvent {
		return ev, nil
	}
	if n.UUID == "" {
		return Event{}, malformed("recurly notification lacks uuid")
	}
	// Thin notifications carry ids only: the transaction (and through it the
	// invoice) or the invoice comes from Recurly's API.
	if ev.Kind == InvoiceCancel {
		ev.Lookup = &Lookup{Object: "invoice", ID: n.UUID}
	} else {
		ev.Lookup = &Lookup{Object: "transaction", ID: n.UUID}
	}
	return ev, nil
}

// RecurlyTransaction is what recovery reads of GET /transactions/uuid-{uuid}.
type RecurlyTransaction struct {
	ID               string `json:"id"`
	UUID             string `json:"uuid"`
	Status           string `json:"status"`
	StatusCode       string `json:"status_code"`
	StatusMessage    string `json:"status_message"`
	GatewayReference string `json:"gateway_reference"`
	Amount           json.Number
	Currency         string `json:"currency"`
	Invoice          *struct {
		ID string `json:"id"`
	} `json:"invoice"`
	PaymentMethod struct {
		CardType          string `json:"card_type"`
		GatewayToken      string `json:"gateway_token"`
		GatewayAttributes struct {
			AccountReference string `json:"account_reference"`
		} `json:"gateway_attributes"`
	} `json:"payment_method"`
	PaymentGateway struct {
		ID string `json:"id"`
	} `json:"payment_gateway"`
}

// RecurlyInvoice is what recovery reads of GET /invoices/{id}.
type RecurlyInvoice struct {
	ID           string      `json:"id"`
	State        string      `json:"state"`
	Total        json.Number `json:"total"`
	Currency     string      `json:"currency"`
	Transactions []struct {
		ID string `json:"id"`
	} `json:"transactions"`
}

// CompleteRecurly fills a thin Recurly event from the fetched transaction (nil
// for invoice events) and invoice. Recurly's API gives decimal major units.
func CompleteRecurly(ev Event, txJSON, invJSON []byte) (Event, error) {
	var inv RecurlyInvoice
	if err := decodeStrict(invJSON, &inv); err != nil {
		return Event{}, err
	}
	if inv.ID == "" {
		return Event{}, malformed("recurly invoice lacks id")
	}
	ev.InvoiceID = inv.ID
	ev.Currency = normaliseCurrency(inv.Currency)
	amount, err := MinorUnits(inv.Total.String(), ev.Currency)
	if err != nil {
		return Event{}, err
	}
	ev.Amount = amount
	ev.PlatformAttemptCount = len(inv.Transactions)
	if txJSON != nil {
		var tx RecurlyTransaction
		if err := decodeStrict(txJSON, &tx); err != nil {
			return Event{}, err
		}
		ev.TransactionID = tx.GatewayReference
		if ev.TransactionID == "" {
			ev.TransactionID = tx.ID
		}
		ev.ErrorCode, ev.ErrorMessage = tx.StatusCode, tx.StatusMessage
		ev.PaymentMethodToken = tx.PaymentMethod.GatewayToken
		ev.ConnectorCustomerID = tx.PaymentMethod.GatewayAttributes.AccountReference
		ev.CardNetwork = tx.PaymentMethod.CardType
		ev.GatewayAccountID = tx.PaymentGateway.ID
	}
	ev.Lookup = nil
	return ev, nil
}

// RecurlyInvoiceIDOf returns the invoice id a fetched transaction belongs to.
func RecurlyInvoiceIDOf(txJSON []byte) (string, error) {
	var tx RecurlyTransaction
	if err := decodeStrict(txJSON, &tx); err != nil {
		return "", err
	}
	if tx.Invoice == nil || tx.Invoice.ID == "" {
		return "", malformed("recurly transaction names no invoice")
	}
	return tx.Invoice.ID, nil
}

// --- custombilling (Standard Webhooks) ----------------------------------------

// RecoveryPayload is seed 003's recovery request: the body of POST
// /v2/payments/recovery and the data of a custombilling webhook.
type RecoveryPayload struct {
	AmountDetails struct {
		OrderAmount int64  `json:"order_amount"`
		Currency    string `json:"currency"`
	} `json:"amount_details"`
	MerchantReferenceID    string `json:"merchant_reference_id"`
	ConnectorTransactionID string `json:"connector_transaction_id"`
	ConnectorCustomerID    string `json:"connector_customer_id"`
	Error                  *struct {
		Code               string `json:"code"`
		Message            string `json:"message"`
		NetworkDeclineCode string `json:"network_decline_code"`
	} `json:"error"`
	Billing              json.RawMessage `json:"billing,omitempty"`
	PaymentMethodType    string          `json:"payment_method_type"`
	PaymentMethodSubType string          `json:"payment_method_sub_type"`
	PaymentMethodData    struct {
		PrimaryProcessorPaymentMethodToken string `json:"primary_processor_payment_method_token"`
		AdditionalPaymentMethodInfo        struct {
			CardNetwork string `json:"card_network"`
			CardType    string `json:"card_type"`
		} `json:"additional_payment_method_info"`
	} `json:"payment_method_data"`
	BillingStartedAt            string `json:"billing_started_at,omitempty"`
	TransactionCreatedAt        string `json:"transaction_created_at,omitempty"`
	AttemptStatus               string `json:"attempt_status"`
	Action                      string `json:"action,omitempty"`
	BillingMerchantConnectorID  string `json:"billing_merchant_connector_id,omitempty"`
	PaymentMerchantConnectorID  string `json:"payment_merchant_connector_id,omitempty"`
	BillingConnectorRetryCount  int    `json:"retry_count,omitempty"`
	BillingConnectorAttemptedBy string `json:"triggered_by,omitempty"`
}

// KindOfAttemptStatus maps seed 003's attempt_status to an event kind.
func KindOfAttemptStatus(status string) EventKind {
	switch status {
	case "failure", "failed", "authorization_failed", "charge_failed":
		return PaymentFailure
	case "charged", "succeeded", "success":
		return PaymentSuccess
	case "pending", "processing", "authorizing":
		return PaymentPending
	case "voided", "cancelled":
		return InvoiceCancel
	}
	return OtherEvent
}

// EventFromPayload turns a recovery payload into an Event of the given kind.
func EventFromPayload(p RecoveryPayload, kind EventKind) Event {
	ev := Event{
		Kind:                 kind,
		InvoiceID:            p.MerchantReferenceID,
		TransactionID:        p.ConnectorTransactionID,
		Amount:               p.AmountDetails.OrderAmount,
		Currency:             normaliseCurrency(p.AmountDetails.Currency),
		ConnectorCustomerID:  p.ConnectorCustomerID,
		PaymentMethodToken:   p.PaymentMethodData.PrimaryProcessorPaymentMethodToken,
		CardNetwork:          p.PaymentMethodData.AdditionalPaymentMethodInfo.CardNetwork,
		CardFunding:          p.PaymentMethodData.AdditionalPaymentMethodInfo.CardType,
		PlatformAttemptCount: p.BillingConnectorRetryCount,
	}
	if p.Error != nil {
		ev.ErrorCode, ev.ErrorMessage, ev.DeclineCode = p.Error.Code, p.Error.Message, p.Error.NetworkDeclineCode
	}
	ev.OccurredAt, _ = time.Parse(time.RFC3339, p.TransactionCreatedAt)
	return ev
}

// The custombilling event types (Standard Webhooks "type").
const (
	CustomPaymentFailed  = "invoice.payment_failed"
	CustomPaid           = "invoice.paid"
	CustomPaymentPending = "invoice.payment_pending"
	CustomVoided         = "invoice.voided"
)

type customEnvelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func parseCustom(body []byte, h http.Header) (Event, error) {
	var env customEnvelope
	if err := decodeStrict(body, &env); err != nil {
		return Event{}, err
	}
	if env.Type == "" || len(env.Data) == 0 {
		return Event{}, malformed("custombilling event lacks type or data")
	}
	kind := map[string]EventKind{
		CustomPaymentFailed: PaymentFailure, CustomPaid: PaymentSuccess,
		CustomPaymentPending: PaymentPending, CustomVoided: InvoiceCancel,
	}[env.Type]
	if kind == "" {
		kind = OtherEvent
	}
	var p RecoveryPayload
	if err := decodeStrict(env.Data, &p); err != nil {
		return Event{}, err
	}
	ev := EventFromPayload(p, kind)
	ev.EventID = h.Get("webhook-id") // Standard Webhooks' dedupe key
	ev.PlatformEventType = env.Type
	if t, err := time.Parse(time.RFC3339, env.Timestamp); err == nil {
		ev.OccurredAt = t
	}
	return ev, nil
}
