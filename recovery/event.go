package recovery

import (
	"strings"
	"time"
)

// Stripe is the one payment processor: PaymentIntents, off-session.
const Stripe = "stripe"

// EventKind is what a billing event means for recovery (Hyperswitch's IncomingWebhookEvent).
type EventKind string

// The four invoice events, the customer's card update, and everything else.
const (
	PaymentFailure EventKind = "payment_failure"
	PaymentSuccess EventKind = "payment_success"
	PaymentPending EventKind = "payment_pending"
	InvoiceCancel  EventKind = "invoice_cancel"
	// PaymentMethodUpdated: the customer updated or added a payment method.
	// It names a customer (ConnectorCustomerID), not an invoice, and the new
	// method (PaymentMethodToken) when the platform says which it is.
	PaymentMethodUpdated EventKind = "payment_method_updated"
	OtherEvent           EventKind = "other"
)

// TriggeredBy says who made a payment attempt: our own retry (internal) or the
// billing platform's dunning (external). Unknown attempts count as external.
type TriggeredBy string

// Attempt origins.
const (
	Internal TriggeredBy = "internal"
	External TriggeredBy = "external"
)

// Event is one billing platform event, normalised. Amounts are in minor units,
// currencies ISO upper case.
type Event struct {
	Platform          string    `json:"platform"`
	EventID           string    `json:"event_id"`            // the platform's id of this delivery's event: duplicates share it
	PlatformEventType string    `json:"platform_event_type"` // e.g. invoice.payment_failed
	Kind              EventKind `json:"kind"`
	InvoiceID         string    `json:"invoice_id"`               // merchant_reference_id
	TransactionID     string    `json:"transaction_id,omitempty"` // the attempt's id at the payment processor
	Amount            int64     `json:"amount,omitempty"`
	Currency          string    `json:"currency,omitempty"`
	// ConnectorCustomerID and PaymentMethodToken are the customer and the
	// stored payment method at the payment processor, for off-session retries.
	ConnectorCustomerID string `json:"connector_customer_id,omitempty"`
	PaymentMethodToken  string `json:"payment_method_token,omitempty"`
	ErrorCode           string `json:"error_code,omitempty"`
	ErrorMessage        string `json:"error_message,omitempty"`
	DeclineCode         string `json:"decline_code,omitempty"`
	// PlatformAttemptCount is how many times the platform itself has tried
	// (compared with billing_connector_retry_threshold).
	PlatformAttemptCount int `json:"platform_attempt_count,omitempty"`
	// GatewayAccountID is the payment gateway's id at the platform
	// (billing_account_reference maps payment connector ids to it).
	GatewayAccountID string    `json:"gateway_account_id,omitempty"`
	CardNetwork      string    `json:"card_network,omitempty"`
	CardFunding      string    `json:"card_funding,omitempty"`
	OccurredAt       time.Time `json:"occurred_at"`
	// Lookup, when set, names what must be fetched from the platform's API
	// before the event is complete (Recurly's thin notifications, Stripe's charge).
	Lookup *Lookup `json:"lookup,omitempty"`
}

// Lookup is a platform object to fetch to complete a thin event.
type Lookup struct {
	Object string `json:"object"` // "transaction", "invoice" (Recurly) or "charge" (Stripe)
	ID     string `json:"id"`
}

// normaliseCurrency turns "usd" into "USD".
func normaliseCurrency(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }
