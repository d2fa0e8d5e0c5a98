package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// stripeCharge is the part of a Stripe charge that tells how it was declined.
type stripeCharge struct {
	ID          string `json:"id"`
	Status      string `json:"status"` // succeeded, pending, failed
	FailureCode string `json:"failure_code"`
	Outcome     *struct {
		Reason             string `json:"reason"` // the decline code, e.g. do_not_honor
		AdviceCode         string `json:"advice_code"`
		NetworkDeclineCode string `json:"network_decline_code"`
		NetworkAdviceCode  string `json:"network_advice_code"`
	} `json:"outcome"`
}

// DeclineOf reads an attempt another party made through the account — the
// billing platform's charge — for its decline, with the network's response
// and advice codes when Stripe passes them on: a PaymentIntent (pi_…, its
// last_payment_error) or a charge (ch_…, its outcome). ok is false for any
// other id, which Stripe cannot be asked about.
func (c *Client) DeclineOf(ctx context.Context, acct StripeAccount, id string) (res PaymentResult, ok bool, err error) {
	switch {
	case strings.HasPrefix(id, "pi_"):
		res, err = c.Retrieve(ctx, acct, id)
		return res, true, err
	case strings.HasPrefix(id, "ch_"):
		res, err = c.charge(ctx, acct, id)
		return res, true, err
	}
	return PaymentResult{}, false, nil
}

func (c *Client) charge(ctx context.Context, acct StripeAccount, id string) (PaymentResult, error) {
	const op = "stripe retrieve charge"
	resp, err := c.http.R().SetContext(ctx).SetAuthToken(acct.APIKey).
		Get(strings.TrimRight(acct.BaseURL, "/") + "/v1/charges/" + id)
	if err != nil {
		return PaymentResult{}, transportError(op, err)
	}
	code := resp.StatusCode()
	if code != http.StatusOK {
		retry := code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
		return PaymentResult{}, &HTTPError{Op: op, StatusCode: code, Retryable: retry, Message: http.StatusText(code)}
	}
	var ch stripeCharge
	if err := json.Unmarshal(resp.Body(), &ch); err != nil || ch.ID == "" {
		return PaymentResult{}, &HTTPError{Op: op, StatusCode: code, Retryable: true, Message: "unreadable charge"}
	}
	r := PaymentResult{StripeStatus: ch.Status, ErrorCode: ch.FailureCode}
	switch ch.Status {
	case "succeeded":
		r.Status = StatusSucceeded
	case "pending":
		r.Status = StatusProcessing
	default:
		r.Status = StatusFailed
	}
	if o := ch.Outcome; o != nil {
		r.DeclineCode, r.AdviceCode = o.Reason, o.AdviceCode
		r.NetworkDeclineCode, r.NetworkAdviceCode = o.NetworkDeclineCode, o.NetworkAdviceCode
	}
	return r, nil
}
