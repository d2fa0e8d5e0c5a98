package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Card is what the payment processor knows of a card payment method: enough
// to count the card networks' retry rules per card across invoices.
type Card struct {
	PaymentMethodID string
	Brand           string // visa, mastercard, … ("" when not a card)
	// Fingerprint identifies the card number across payment methods and customers.
	Fingerprint string
	Funding     string // credit, debit, prepaid, unknown ("" when not reported)
}

// Key is the card's identity for the network rules: its fingerprint, else
// the processor's token for it (the payment method id), so a card without a
// fingerprint is still counted, per stored method.
func (c Card) Key() string {
	if c.Fingerprint != "" {
		return c.Fingerprint
	}
	return "pm:" + c.PaymentMethodID
}

type stripePaymentMethod struct {
	ID   string `json:"id"`
	Card *struct {
		Brand       string `json:"brand"`
		Fingerprint string `json:"fingerprint"`
		Funding     string `json:"funding"`
	} `json:"card"`
}

// PaymentMethod reads a payment method (GET /v1/payment_methods/{id}) for its
// card's brand and fingerprint, which a charge's answer gives only afterwards.
func (c *Client) PaymentMethod(ctx context.Context, acct StripeAccount, id string) (Card, error) {
	const op = "stripe retrieve payment method"
	resp, err := c.http.R().SetContext(ctx).SetAuthToken(acct.APIKey).
		Get(strings.TrimRight(acct.BaseURL, "/") + "/v1/payment_methods/" + url.PathEscape(id))
	if err != nil {
		return Card{}, transportError(op, err)
	}
	code := resp.StatusCode()
	if code != http.StatusOK {
		retry := code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
		return Card{}, &HTTPError{Op: op, StatusCode: code, Retryable: retry, Message: http.StatusText(code)}
	}
	var pm stripePaymentMethod
	if err := json.Unmarshal(resp.Body(), &pm); err != nil || pm.ID == "" {
		return Card{}, &HTTPError{Op: op, StatusCode: code, Retryable: true, Message: "unreadable payment method"}
	}
	return pm.card(), nil
}

func (pm stripePaymentMethod) card() Card {
	card := Card{PaymentMethodID: pm.ID}
	if pm.Card != nil {
		card.Brand, card.Fingerprint, card.Funding = strings.ToLower(pm.Card.Brand), pm.Card.Fingerprint, pm.Card.Funding
	}
	return card
}

// CustomerCards lists a customer's stored cards (GET
// /v1/customers/{id}/payment_methods?type=card), in the processor's order:
// Stripe's is newest first. One page of up to 100 is read; a customer with
// more stored cards than that is not one a recovery switches through.
func (c *Client) CustomerCards(ctx context.Context, acct StripeAccount, customer string) ([]Card, error) {
	const op = "stripe list customer payment methods"
	resp, err := c.http.R().SetContext(ctx).SetAuthToken(acct.APIKey).
		SetQueryParams(map[string]string{"type": "card", "limit": "100"}).
		Get(strings.TrimRight(acct.BaseURL, "/") + "/v1/customers/" + url.PathEscape(customer) + "/payment_methods")
	if err != nil {
		return nil, transportError(op, err)
	}
	code := resp.StatusCode()
	if code != http.StatusOK {
		retry := code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
		return nil, &HTTPError{Op: op, StatusCode: code, Retryable: retry, Message: http.StatusText(code)}
	}
	var list struct {
		Data []stripePaymentMethod `json:"data"`
	}
	if err := json.Unmarshal(resp.Body(), &list); err != nil {
		return nil, &HTTPError{Op: op, StatusCode: code, Retryable: true, Message: "unreadable payment method list"}
	}
	cards := make([]Card, 0, len(list.Data))
	for _, pm := range list.Data {
		if pm.ID != "" {
			cards = append(cards, pm.card())
		}
	}
	return cards, nil
}
