package recovery

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// CustomBilling is the connector_name of a merchant's own billing system. It
// sends Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)
// whose data is the recovery API's request body; it has no API to call.
const CustomBilling = "custombilling"

// StandardWebhooksTolerance is the reference libraries' bound on a timestamp, each way.
const StandardWebhooksTolerance = 5 * time.Minute

type customBilling struct{}

func (customBilling) Name() string { return CustomBilling }

func (customBilling) HasAPI() bool { return false }

func (customBilling) APIAuth() APIAuth { return APIAuth{} }

// RecordBackRequest: the merchant's own system has no API; nothing to record.
func (customBilling) RecordBackRequest(PaidInvoice) (APIRequest, bool) { return APIRequest{}, false }

// CompleteEvent: its events carry the recovery API's whole body, nothing to look up.
func (customBilling) CompleteEvent(Event, Fetch) (Event, error) { return Event{}, ErrMalformed }

// CheckCredentials refuses a whsec_ secret the reference library cannot decode.
func (customBilling) CheckCredentials(c WebhookCredentials) *SettingError {
	for _, sec := range c.Secrets {
		if _, err := SignStandardWebhooks(sec, "check", time.Unix(0, 0), nil); err != nil {
			return &SettingError{Field: "merchant_secret", Message: "a whsec_ secret must be base64 after the prefix"}
		}
	}
	return nil
}

func (customBilling) Verify(h http.Header, body []byte, c WebhookCredentials, now time.Time) error {
	return VerifyStandardWebhooks(h, body, c.Secrets, now, StandardWebhooksTolerance)
}

func (customBilling) Parse(body []byte, h http.Header) (Event, error) { return parseCustom(body, h) }

// The custombilling event types (Standard Webhooks "type").
const (
	CustomPaymentFailed  = "invoice.payment_failed"
	CustomPaid           = "invoice.paid"
	CustomPaymentPending = "invoice.payment_pending"
	CustomVoided         = "invoice.voided"
	// CustomPaymentMethodUpdated: data names the customer
	// (connector_customer_id) and the new method
	// (payment_method_data.primary_processor_payment_method_token); no invoice.
	CustomPaymentMethodUpdated = "customer.payment_method_updated"
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
		CustomPaymentMethodUpdated: PaymentMethodUpdated,
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

// VerifyStandardWebhooks checks Standard Webhooks headers against any of our
// secrets with the reference library, and the timestamp against our clock
// (the library's own check reads the wall clock, which tests cannot move).
func VerifyStandardWebhooks(h http.Header, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(standardwebhooks.HeaderWebhookTimestamp), 10, 64)
	if err != nil || h.Get(standardwebhooks.HeaderWebhookID) == "" {
		return unverified("missing or malformed webhook-id / webhook-timestamp")
	}
	matched := false
	for _, s := range secrets {
		wh, err := standardWebhook(s)
		if err != nil {
			continue
		}
		if wh.VerifyIgnoringTimestamp(body, h) == nil {
			matched = true
		}
	}
	if !matched {
		return unverified("no matching webhook-signature")
	}
	return withinTolerance(time.Unix(ts, 0), now, tolerance)
}
