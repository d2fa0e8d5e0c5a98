package activities

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"orderflow/delivery"
	"orderflow/recovery"
	"orderflow/store"
)

// ErrTypeTestEventInvalid: a test event names no destination or carries unusable data.
const ErrTypeTestEventInvalid = "TestEventInvalid"

// TestEventInput is a test event for a CRM webhook or a merchant profile.
type TestEventInput struct {
	Kind          string `json:"kind"` // store.KindCRMWebhook or store.KindMerchantWebhook
	DestinationID string `json:"destination_id"`
	// TestID makes the test's own idempotency key or event id, never a real one.
	TestID string `json:"test_id"`
	// Data is the CRM payload's input (buildingData); nil uses SampleCRMData.
	Data map[string]any `json:"data,omitempty"`
	// Body is the merchant webhook's body; nil uses a sample payment_succeeded.
	Body json.RawMessage `json:"body,omitempty"`
	Send bool            `json:"send"`
}

// TestEventResult is the exact body and headers (secrets redacted) and, when
// sent, the receiver's answer.
type TestEventResult struct {
	IdempotencyKey string              `json:"idempotency_key,omitempty"`
	EventID        string              `json:"event_id,omitempty"`
	Body           json.RawMessage     `json:"body"`
	Headers        map[string][]string `json:"headers"`
	Sent           bool                `json:"sent"`
	StatusCode     int                 `json:"status_code,omitempty"`
	LatencyMS      int64               `json:"latency_ms,omitempty"`
	Answer         string              `json:"answer,omitempty"` // the first KiB of the answer's body
	Error          string              `json:"error,omitempty"`
}

// SampleCRMData is the CRM payload's input a test event uses when given none:
// the shape RTOCancel builds, with made-up values.
func SampleCRMData() map[string]any {
	return map[string]any{
		"order_id": "test-order", "customer": map[string]any{"name": "Test Customer", "phone": "9999999999"},
		"total_amt": 100.0, "source": "Test marketplace", "status": "rto", "tracking_status": "rto",
	}
}

// TestCRMIdempotencyKey is a CRM test event's Idempotency-Key: it shares no
// prefix with a real delivery's (rto-cancel:…), so a receiver never mistakes
// a test for an order's cancel.
func TestCRMIdempotencyKey(testID, webhookID string) string {
	return "test-event:" + testID + ":" + webhookID
}

// TestMerchantEventID is a merchant test event's event_id.
func TestMerchantEventID(testID string) string { return "evt_test_" + testID }

// SendTestEvent builds a test event exactly as a delivery would (current URL,
// mapping, auth, signatures) and returns the body and headers with secrets
// redacted; with Send it also POSTs it once and returns the answer. It
// writes no delivery record, attempt row, claim or recovery.
func (r *Redrive) SendTestEvent(ctx context.Context, in TestEventInput) (TestEventResult, error) {
	msg, res, err := r.testMessage(ctx, in)
	if err != nil {
		return TestEventResult{}, err
	}
	var sender *delivery.Sender
	if in.Kind == store.KindCRMWebhook {
		sender = r.CRM.Webhooks
	} else {
		sender = r.Merchant.webhookClient()
	}
	res.Body = msg.Body
	if !in.Send {
		h, err := sender.Preview(ctx, msg)
		if err != nil {
			return TestEventResult{}, testEventError(err)
		}
		res.Headers = h
		return res, nil
	}
	p, err := sender.Probe(ctx, msg)
	if err != nil {
		return TestEventResult{}, testEventError(err)
	}
	res.Headers, res.Sent, res.StatusCode, res.LatencyMS, res.Answer, res.Error = p.Headers, p.Sent, p.StatusCode, p.LatencyMS, p.Answer, p.Error
	return res, nil
}

// testMessage builds the test event's message through the delivery builders.
func (r *Redrive) testMessage(ctx context.Context, in TestEventInput) (delivery.Message, TestEventResult, error) {
	switch in.Kind {
	case store.KindCRMWebhook:
		data := in.Data
		if data == nil {
			data = SampleCRMData()
		}
		key := TestCRMIdempotencyKey(in.TestID, in.DestinationID)
		msg, err := r.CRM.crmMessage(ctx, crmSend{WebhookID: in.DestinationID, Event: "test", IdempotencyKey: key, Data: data, Attempt: 1})
		return msg, TestEventResult{IdempotencyKey: key}, err
	case store.KindMerchantWebhook:
		id := TestMerchantEventID(in.TestID)
		body := []byte(in.Body)
		if len(body) == 0 {
			prof, err := r.Merchant.Store.Profile(ctx, in.DestinationID)
			if err != nil {
				return delivery.Message{}, TestEventResult{}, configError("profile "+in.DestinationID, err)
			}
			if body, err = sampleMerchantBody(prof.MerchantID, id, r.now()); err != nil {
				return delivery.Message{}, TestEventResult{}, err
			}
		}
		msg, err := r.Merchant.merchantMessage(ctx, RecoveryWebhookInput{ProfileID: in.DestinationID, EventID: id, EventType: recovery.EventPaymentSucceeded, Body: body}, 1)
		return msg, TestEventResult{EventID: id}, err
	}
	return delivery.Message{}, TestEventResult{}, temporal.NewNonRetryableApplicationError("unknown test event kind "+in.Kind, ErrTypeTestEventInvalid, nil)
}

// testEventError makes a failure to build the headers (credentials, signing)
// final: a test event is tried once.
func testEventError(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeTestEventInvalid, nil)
}

// sampleMerchantBody is a payment_succeeded body with made-up payment values.
func sampleMerchantBody(merchantID, eventID string, at time.Time) ([]byte, error) {
	return recovery.BuildWebhook(recovery.PaymentOutcome{
		MerchantID: merchantID, EventID: eventID, EventType: recovery.EventPaymentSucceeded,
		PaymentID: "pay_test", InvoiceID: "inv_test", Amount: 1000, Currency: "USD",
		ConnectorCustomerID: "cus_test", PaymentMethodToken: "pm_test", PaymentIntentID: "pi_test",
		Created: at, Modified: at, At: at,
	})
}
