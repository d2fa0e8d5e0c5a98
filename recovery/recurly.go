package recovery

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Recurly is the connector_name of Recurly connectors. Its notifications are
// signed with recurly-signature and thin: they name a transaction or an
// invoice, which Recurly's API fills in.
const Recurly = "recurly"

// RecurlyDrift is Recurly's client libraries' bound on a signature timestamp's drift.
const RecurlyDrift = 5 * time.Minute

type recurly struct{}

func (recurly) Name() string { return Recurly }

func (recurly) HasAPI() bool { return true }

// recurlyAccept pins the version of Recurly's API every call speaks.
const recurlyAccept = "application/vnd.recurly.v2021-02-25+json"

// APIAuth: Recurly takes the API key as the Basic user, and a versioned Accept.
func (recurly) APIAuth() APIAuth { return APIAuth{Basic: true, Accept: recurlyAccept} }

// RecordBackRequest is Recurly's mark_successful.
func (recurly) RecordBackRequest(inv PaidInvoice) (APIRequest, bool) {
	return APIRequest{Op: "recurly mark_successful", Method: http.MethodPut,
		Path: "/invoices/" + escape(inv.InvoiceID) + "/mark_successful"}, true
}

// CompleteEvent fetches what a thin notification names: a transaction and
// its invoice, an invoice, or an account's billing info (a card update).
func (recurly) CompleteEvent(ev Event, fetch Fetch) (Event, error) {
	id := ev.Lookup.ID
	switch ev.Lookup.Object {
	case "transaction":
		tx, err := fetch(getRequest("recurly transaction", "/transactions/uuid-"+escape(id)))
		if err != nil {
			return ev, err
		}
		invID, err := RecurlyInvoiceIDOf(tx)
		if err != nil {
			return ev, err
		}
		inv, err := fetch(recurlyInvoiceRequest(invID))
		if err != nil {
			return ev, err
		}
		return CompleteRecurly(ev, tx, inv)
	case "invoice":
		inv, err := fetch(recurlyInvoiceRequest(id))
		if err != nil {
			return ev, err
		}
		return CompleteRecurly(ev, nil, inv)
	case "billing_info":
		bi, err := fetch(getRequest("recurly billing info", "/accounts/"+escape(id)+"/billing_info"))
		if err != nil {
			return ev, err
		}
		return CompleteRecurlyBillingInfo(ev, bi)
	}
	return ev, ErrMalformed
}

func recurlyInvoiceRequest(id string) APIRequest {
	return getRequest("recurly invoice", "/invoices/"+escape(id))
}

func (recurly) CheckCredentials(WebhookCredentials) *SettingError { return nil }

func (recurly) Verify(h http.Header, body []byte, c WebhookCredentials, now time.Time) error {
	return VerifyRecurly(h.Get("recurly-signature"), body, c.Secrets, now, RecurlyDrift)
}

func (recurly) Parse(body []byte, _ http.Header) (Event, error) { return parseRecurly(body) }

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
	case n.ObjectType == "account" && n.EventType == "billing_info_updated":
		ev.Kind = PaymentMethodUpdated
	}
	if ev.Kind == OtherEvent {
		return ev, nil
	}
	if n.UUID == "" {
		return Event{}, malformed("recurly notification lacks uuid")
	}
	// Thin notifications carry ids only: the transaction (and through it the
	// invoice) or the invoice comes from Recurly's API.
	switch ev.Kind {
	case InvoiceCancel:
		ev.Lookup = &Lookup{Object: "invoice", ID: n.UUID}
	case PaymentMethodUpdated: // the account's billing info names the card at the gateway
		ev.Lookup = &Lookup{Object: "billing_info", ID: n.UUID}
	default:
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

// RecurlyBillingInfo is what recovery reads of GET /accounts/{account_id}/billing_info.
type RecurlyBillingInfo struct {
	ID            string `json:"id"`
	AccountID     string `json:"account_id"`
	PaymentMethod struct {
		CardType          string `json:"card_type"`
		GatewayToken      string `json:"gateway_token"`
		GatewayAttributes struct {
			AccountReference string `json:"account_reference"`
		} `json:"gateway_attributes"`
	} `json:"payment_method"`
}

// CompleteRecurlyBillingInfo fills a card update from the account's billing
// info: the customer and the payment method at the payment gateway.
func CompleteRecurlyBillingInfo(ev Event, billingInfoJSON []byte) (Event, error) {
	var bi RecurlyBillingInfo
	if err := decodeStrict(billingInfoJSON, &bi); err != nil {
		return Event{}, err
	}
	ev.ConnectorCustomerID = bi.PaymentMethod.GatewayAttributes.AccountReference
	ev.PaymentMethodToken = bi.PaymentMethod.GatewayToken
	ev.CardNetwork = bi.PaymentMethod.CardType
	if ev.ConnectorCustomerID == "" {
		return Event{}, malformed("recurly billing info names no customer at the gateway")
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

// SignRecurly makes a recurly-signature header value for body at t.
func SignRecurly(key string, t time.Time, body []byte) string {
	ms := strconv.FormatInt(t.UnixMilli(), 10)
	return ms + "," + hmacSHA256Hex([]byte(key), []byte(ms+"."+string(body)))
}

// VerifyRecurly checks "recurly-signature: <unix ms>,<hex>[,<hex>]": any listed
// signature made with any of our keys over "<ms>.<body>", and the timestamp
// within drift of now (Recurly lists two signatures for 24 h after a key is regenerated).
func VerifyRecurly(header string, body []byte, keys []string, now time.Time, drift time.Duration) error {
	parts := strings.Split(header, ",")
	if len(parts) < 2 {
		return unverified("recurly-signature lacks a timestamp or a signature")
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(parts[0]), 10, 64)
	if err != nil {
		return unverified("recurly-signature timestamp is not a number")
	}
	var sigs []string
	for _, p := range parts[1:] {
		sigs = append(sigs, strings.TrimSpace(p))
	}
	var expected []string
	for _, k := range keys {
		expected = append(expected, hmacSHA256Hex([]byte(k), []byte(strings.TrimSpace(parts[0])+"."+string(body))))
	}
	if !anyHexMatches(sigs, expected) {
		return unverified("no matching Recurly signature")
	}
	return withinTolerance(time.UnixMilli(ms), now, drift)
}
