package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// PaymentRequest is one merchant-initiated retry.
type PaymentRequest struct {
	Amount         int64
	Currency       string // ISO, any case; sent lower case
	Customer       string
	PaymentMethod  string
	IdempotencyKey string
	Metadata       map[string]string
}

// Payment statuses we act on.
const (
	StatusSucceeded  = "succeeded"
	StatusProcessing = "processing"
	StatusFailed     = "failed"
)

// PaymentResult is a PaymentIntent's outcome. A decline is a result, not an error.
type PaymentResult struct {
	PaymentIntentID string `json:"payment_intent_id"`
	Status          string `json:"status"` // StatusSucceeded, StatusProcessing or StatusFailed
	StripeStatus    string `json:"stripe_status"`
	ErrorCode       string `json:"error_code,omitempty"`
	DeclineCode     string `json:"decline_code,omitempty"`
	AdviceCode      string `json:"advice_code,omitempty"`
	ErrorMessage    string `json:"error_message,omitempty"`
	// The issuer's raw response code and Mastercard's Merchant Advice Code,
	// as Stripe passes them on: the card networks' rules read them.
	NetworkDeclineCode string `json:"network_decline_code,omitempty"`
	NetworkAdviceCode  string `json:"network_advice_code,omitempty"`
}

// StripeAccount is where and as whom to call Stripe.
type StripeAccount struct {
	BaseURL string // https://api.stripe.com
	APIKey  string // sk_…
}

type stripePaymentIntent struct {
	ID               string              `json:"id"`
	Status           string              `json:"status"`
	LastPaymentError *stripePaymentError `json:"last_payment_error"`
}

type stripePaymentError struct {
	Code               string `json:"code"`
	DeclineCode        string `json:"decline_code"`
	AdviceCode         string `json:"advice_code"`
	NetworkDeclineCode string `json:"network_decline_code"`
	NetworkAdviceCode  string `json:"network_advice_code"`
	Message            string `json:"message"`
}

type stripeErrorBody struct {
	Error struct {
		stripePaymentError
		Type          string               `json:"type"`
		PaymentIntent *stripePaymentIntent `json:"payment_intent"`
	} `json:"error"`
}

// CreateAndConfirm creates and confirms a PaymentIntent off-session in one
// call, with the request's Idempotency-Key: Stripe replays the first answer
// for a repeated key, so a retried activity never charges twice.
func (c *Client) CreateAndConfirm(ctx context.Context, acct StripeAccount, req PaymentRequest) (PaymentResult, error) {
	form := map[string]string{
		"amount":         strconv.FormatInt(req.Amount, 10),
		"currency":       strings.ToLower(req.Currency),
		"customer":       req.Customer,
		"payment_method": req.PaymentMethod,
		"confirm":        "true",
		"off_session":    "true",
	}
	for k, v := range req.Metadata {
		form["metadata["+k+"]"] = v
	}
	resp, err := c.http.R().SetContext(ctx).
		SetAuthToken(acct.APIKey).
		SetHeader("Idempotency-Key", req.IdempotencyKey).
		SetFormData(form).
		Post(strings.TrimRight(acct.BaseURL, "/") + "/v1/payment_intents")
	if err != nil {
		return PaymentResult{}, transportError("stripe create payment intent", err)
	}
	return paymentResult("stripe create payment intent", resp.StatusCode(), resp.Body())
}

// Retrieve reads a PaymentIntent (PSYNC).
func (c *Client) Retrieve(ctx context.Context, acct StripeAccount, id string) (PaymentResult, error) {
	resp, err := c.http.R().SetContext(ctx).SetAuthToken(acct.APIKey).
		Get(strings.TrimRight(acct.BaseURL, "/") + "/v1/payment_intents/" + id)
	if err != nil {
		return PaymentResult{}, transportError("stripe retrieve payment intent", err)
	}
	return paymentResult("stripe retrieve payment intent", resp.StatusCode(), resp.Body())
}

func paymentResult(op string, code int, body []byte) (PaymentResult, error) {
	switch {
	case code == http.StatusOK:
		var pi stripePaymentIntent
		if err := json.Unmarshal(body, &pi); err != nil || pi.ID == "" {
			return PaymentResult{}, &HTTPError{Op: op, StatusCode: code, Retryable: true, Message: "unreadable payment intent"}
		}
		return fromIntent(pi), nil
	case code == http.StatusPaymentRequired: // card_error: a decline
		var eb stripeErrorBody
		if err := json.Unmarshal(body, &eb); err != nil {
			return PaymentResult{}, &HTTPError{Op: op, StatusCode: code, Message: "unreadable card error"}
		}
		r := PaymentResult{Status: StatusFailed}
		r.setError(eb.Error.stripePaymentError)
		if eb.Error.PaymentIntent != nil {
			r.PaymentIntentID, r.StripeStatus = eb.Error.PaymentIntent.ID, eb.Error.PaymentIntent.Status
		}
		return r, nil
	}
	retry := code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code == http.StatusConflict
	msg := http.StatusText(code)
	var eb stripeErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		msg += " (" + eb.Error.Code + ")"
	}
	return PaymentResult{}, &HTTPError{Op: op, StatusCode: code, Retryable: retry, Message: msg}
}

func fromIntent(pi stripePaymentIntent) PaymentResult {
	r := PaymentResult{PaymentIntentID: pi.ID, StripeStatus: pi.Status}
	switch pi.Status {
	case "succeeded":
		r.Status = StatusSucceeded
	case "processing", "requires_capture":
		r.Status = StatusProcessing
	default: // requires_payment_method, requires_action (impossible off-session), canceled
		r.Status = StatusFailed
		if e := pi.LastPaymentError; e != nil {
			r.setError(*e)
		}
		if r.ErrorCode == "" && pi.Status == "requires_action" {
			r.ErrorCode = "authentication_required"
		}
	}
	return r
}

func (r *PaymentResult) setError(e stripePaymentError) {
	r.ErrorCode, r.DeclineCode, r.AdviceCode, r.ErrorMessage = e.Code, e.DeclineCode, e.AdviceCode, e.Message
	r.NetworkDeclineCode, r.NetworkAdviceCode = e.NetworkDeclineCode, e.NetworkAdviceCode
}
