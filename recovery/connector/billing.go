package connector

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"orderflow/recovery"
)

// BillingAccount is where and as whom to call a billing platform's API.
type BillingAccount struct {
	Platform string // recovery.Chargebee, recovery.Recurly, recovery.StripeBilling, recovery.CustomBilling
	BaseURL  string // e.g. https://<site>.chargebee.com, https://v3.recurly.com, https://api.stripe.com
	APIKey   string
}

// RecordBack tells the platform our retry paid the invoice, so its own dunning
// stops: Chargebee record_payment, Recurly mark_successful, Stripe pay out of
// band. custombilling has no API: nothing to do.
func (c *Client) RecordBack(ctx context.Context, acct BillingAccount, invoiceID string, amount int64, currency, paymentIntentID string) error {
	base := strings.TrimRight(acct.BaseURL, "/")
	id := url.PathEscape(invoiceID)
	switch acct.Platform {
	case recovery.Chargebee:
		resp, err := c.http.R().SetContext(ctx).SetBasicAuth(acct.APIKey, "").
			SetFormData(map[string]string{
				"transaction[amount]":         strconv.FormatInt(amount, 10),
				"transaction[payment_method]": "other",
				"transaction[id_at_gateway]":  paymentIntentID,
				"transaction[status]":         "success",
			}).Post(base + "/api/v2/invoices/" + id + "/record_payment")
		return check("chargebee record_payment", resp, err)
	case recovery.Recurly:
		resp, err := c.http.R().SetContext(ctx).SetBasicAuth(acct.APIKey, "").
			SetHeader("Accept", recurlyAccept).Put(base + "/invoices/" + id + "/mark_successful")
		return check("recurly mark_successful", resp, err)
	case recovery.StripeBilling:
		resp, err := c.http.R().SetContext(ctx).SetAuthToken(acct.APIKey).
			SetFormData(map[string]string{"paid_out_of_band": "true"}).Post(base + "/v1/invoices/" + id + "/pay")
		return check("stripe invoice pay", resp, err)
	case recovery.CustomBilling:
		return nil
	}
	return &HTTPError{Op: "record back", Message: fmt.Sprintf("unknown platform %q", acct.Platform)}
}

const recurlyAccept = "application/vnd.recurly.v2021-02-25+json"

// FetchRecurlyTransaction is GET /transactions/uuid-{uuid}.
func (c *Client) FetchRecurlyTransaction(ctx context.Context, acct BillingAccount, uuid string) ([]byte, error) {
	return c.get(ctx, "recurly transaction", acct, "/transactions/uuid-"+url.PathEscape(uuid))
}

// FetchRecurlyInvoice is GET /invoices/{id}.
func (c *Client) FetchRecurlyInvoice(ctx context.Context, acct BillingAccount, id string) ([]byte, error) {
	return c.get(ctx, "recurly invoice", acct, "/invoices/"+url.PathEscape(id))
}

// FetchRecurlyBillingInfo is GET /accounts/{account_id}/billing_info.
func (c *Client) FetchRecurlyBillingInfo(ctx context.Context, acct BillingAccount, accountID string) ([]byte, error) {
	return c.get(ctx, "recurly billing info", acct, "/accounts/"+url.PathEscape(accountID)+"/billing_info")
}

// FetchStripeCharge is GET /v1/charges/{id}.
func (c *Client) FetchStripeCharge(ctx context.Context, acct BillingAccount, id string) ([]byte, error) {
	return c.get(ctx, "stripe charge", acct, "/v1/charges/"+url.PathEscape(id))
}

func (c *Client) get(ctx context.Context, op string, acct BillingAccount, path string) ([]byte, error) {
	r := c.http.R().SetContext(ctx)
	if acct.Platform == recovery.Recurly {
		r.SetBasicAuth(acct.APIKey, "").SetHeader("Accept", recurlyAccept)
	} else {
		r.SetAuthToken(acct.APIKey)
	}
	resp, err := r.Get(strings.TrimRight(acct.BaseURL, "/") + path)
	if err := check(op, resp, err); err != nil {
		return nil, err
	}
	return resp.Body(), nil
}

func check(op string, resp interface {
	StatusCode() int
	IsSuccess() bool
}, err error) error {
	if err != nil {
		return transportError(op, err)
	}
	if !resp.IsSuccess() {
		code := resp.StatusCode()
		return &HTTPError{Op: op, StatusCode: code, Retryable: code >= 500 || code == 429 || code == 408, Message: "unexpected answer"}
	}
	return nil
}
