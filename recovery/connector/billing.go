package connector

import (
	"context"
	"fmt"
	"strings"

	"orderflow/recovery"
)

// BillingAccount is where and as whom to call a billing platform's API.
type BillingAccount struct {
	Platform string // recovery.Chargebee, recovery.Recurly, recovery.StripeBilling, recovery.CustomBilling
	BaseURL  string // e.g. https://<site>.chargebee.com, https://v3.recurly.com, https://api.stripe.com
	APIKey   string
}

// RecordBack tells the platform our retry paid the invoice, so its own
// dunning stops, with the call its recovery.Platform describes (Chargebee
// record_payment, Recurly mark_successful, Stripe pay out of band); a
// platform without one (custombilling) needs nothing.
func (c *Client) RecordBack(ctx context.Context, acct BillingAccount, inv recovery.PaidInvoice) error {
	p, ok := recovery.PlatformNamed(acct.Platform)
	if !ok {
		return unknownPlatform("record back", acct.Platform)
	}
	req, ok := p.RecordBackRequest(inv)
	if !ok {
		return nil
	}
	_, err := c.call(ctx, acct, p.APIAuth(), req)
	return err
}

// CompleteEvent fetches what a thin event (Lookup set) leaves out from its
// platform's API: Stripe's failed charge, Recurly's transaction and invoice.
// A complete event comes back as it is.
func (c *Client) CompleteEvent(ctx context.Context, acct BillingAccount, ev recovery.Event) (recovery.Event, error) {
	if ev.Lookup == nil {
		return ev, nil
	}
	p, ok := recovery.PlatformNamed(acct.Platform)
	if !ok {
		return ev, unknownPlatform("look-up", acct.Platform)
	}
	return p.CompleteEvent(ev, func(req recovery.APIRequest) ([]byte, error) {
		return c.call(ctx, acct, p.APIAuth(), req)
	})
}

func unknownPlatform(op, name string) error {
	return &HTTPError{Op: op, Message: fmt.Sprintf("unknown platform %q", name)}
}

// call sends a request a platform described, authenticated its way, and
// returns the body of a 2xx answer.
func (c *Client) call(ctx context.Context, acct BillingAccount, auth recovery.APIAuth, req recovery.APIRequest) ([]byte, error) {
	r := c.http.R().SetContext(ctx)
	if auth.Basic {
		r.SetBasicAuth(acct.APIKey, "")
	} else {
		r.SetAuthToken(acct.APIKey)
	}
	if auth.Accept != "" {
		r.SetHeader("Accept", auth.Accept)
	}
	if req.Form != nil {
		r.SetFormData(req.Form)
	}
	resp, err := r.Execute(req.Method, strings.TrimRight(acct.BaseURL, "/")+req.Path)
	if err := check(req.Op, resp, err); err != nil {
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
