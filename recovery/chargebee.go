package recovery

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Chargebee is the connector_name of Chargebee billing connectors. Its
// webhooks carry HTTP Basic credentials (the password is the connector's
// webhook secret) and a full event: no look-up needed.
const Chargebee = "chargebee"

type chargebee struct{}

func (chargebee) Name() string { return Chargebee }

func (chargebee) HasAPI() bool { return true }

// APIAuth: Chargebee takes the API key as the Basic user.
func (chargebee) APIAuth() APIAuth { return APIAuth{Basic: true} }

// RecordBackRequest is Chargebee's record_payment of an offline payment.
func (chargebee) RecordBackRequest(inv PaidInvoice) (APIRequest, bool) {
	return APIRequest{Op: "chargebee record_payment", Method: http.MethodPost,
		Path: "/api/v2/invoices/" + escape(inv.InvoiceID) + "/record_payment",
		Form: map[string]string{
			"transaction[amount]":         formatAmount(inv.Amount),
			"transaction[payment_method]": "other",
			"transaction[id_at_gateway]":  inv.PaymentIntentID,
			"transaction[status]":         "success",
		}}, true
}

// CompleteEvent: Chargebee's events are complete, there is nothing to look up.
func (chargebee) CompleteEvent(Event, Fetch) (Event, error) { return Event{}, ErrMalformed }

func (chargebee) CheckCredentials(c WebhookCredentials) *SettingError {
	if c.Username == "" {
		return &SettingError{Field: "username", Message: "is required for Chargebee's HTTP Basic webhook auth"}
	}
	return nil
}

func (chargebee) Verify(h http.Header, _ []byte, c WebhookCredentials, _ time.Time) error {
	return VerifyBasic(h.Get("Authorization"), c.Username, c.Secrets)
}

func (chargebee) Parse(body []byte, _ http.Header) (Event, error) { return parseChargebee(body) }

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
		// PaymentSource is the card of payment_source_added / payment_source_updated.
		PaymentSource *struct {
			ReferenceID      string `json:"reference_id"` // "cus_x/pm_y" at the gateway
			GatewayAccountID string `json:"gateway_account_id"`
			Card             *struct {
				Brand       string `json:"brand"`
				FundingType string `json:"funding_type"`
			} `json:"card"`
		} `json:"payment_source"`
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
	case "payment_source_added", "payment_source_updated":
		return chargebeeCardUpdate(ev, cb), nil
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

// chargebeeCardUpdate reads the customer and the new payment method at the
// gateway from the payment source's reference_id ("cus_x/pm_y").
func chargebeeCardUpdate(ev Event, cb chargebeeEvent) Event {
	ev.Kind = PaymentMethodUpdated
	ps := cb.Content.PaymentSource
	if ps == nil {
		return ev
	}
	ev.ConnectorCustomerID, ev.PaymentMethodToken, _ = strings.Cut(ps.ReferenceID, "/")
	ev.GatewayAccountID = ps.GatewayAccountID
	if ps.Card != nil {
		ev.CardNetwork, ev.CardFunding = ps.Card.Brand, ps.Card.FundingType
	}
	return ev
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

// BasicAuthorization is the Authorization header value for HTTP Basic.
func BasicAuthorization(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// VerifyBasic checks Chargebee's webhook HTTP Basic credentials against any of
// our passwords, in constant time.
func VerifyBasic(authorization, user string, passwords []string) error {
	if authorization == "" {
		return unverified("missing Authorization")
	}
	ok := false
	for _, p := range passwords {
		if subtle.ConstantTimeCompare([]byte(authorization), []byte(BasicAuthorization(user, p))) == 1 {
			ok = true
		}
	}
	if !ok {
		return unverified("wrong HTTP Basic credentials")
	}
	return nil
}
