package payments

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Card is the card behind a payment method, as GET /v1/payment_methods/{id} reports it.
type Card struct {
	Brand       string `json:"brand"`
	Fingerprint string `json:"fingerprint"`
}

// SetCard says which card a payment method holds: two payment methods given
// one fingerprint are one card (a customer who saved it twice, or two
// customers sharing it).
func (p *Processor) SetCard(paymentMethod string, c Card) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cards[paymentMethod] = c
}

// cardLocked is the payment method's card: the one set, else a card of its
// own whose brand is read from the name as Stripe's test payment methods
// spell it (pm_card_visa, pm_card_mastercard, …), "unknown" otherwise.
// p.mu is held.
func (p *Processor) cardLocked(paymentMethod string) Card {
	if c, ok := p.cards[paymentMethod]; ok {
		return c
	}
	sum := sha256.Sum256([]byte(paymentMethod))
	c := Card{Brand: "unknown", Fingerprint: "fp_" + hex.EncodeToString(sum[:8])}
	for _, brand := range []string{"visa", "mastercard", "amex", "discover"} {
		if strings.Contains(strings.ToLower(paymentMethod), brand) {
			c.Brand = brand
			break
		}
	}
	return c
}

func (p *Processor) paymentMethod(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided")
		return
	}
	id := r.PathValue("id")
	p.mu.Lock()
	c := p.cardLocked(id)
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, cardJSON(id, c))
}

// Attach stores payment methods on a customer, in order, as Stripe's
// customer payment-method list then reports them (newest first).
func (p *Processor) Attach(customer string, paymentMethods ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.customerMethods[customer] = append(p.customerMethods[customer], paymentMethods...)
}

func cardJSON(id string, c Card) map[string]any {
	return map[string]any{
		"id": id, "object": "payment_method", "type": "card",
		"card": map[string]any{"brand": c.Brand, "fingerprint": c.Fingerprint, "last4": "4242", "funding": "credit"},
	}
}

// customerPaymentMethods is GET /v1/customers/{id}/payment_methods?type=card:
// the customer's stored cards, newest first, in Stripe's list envelope.
func (p *Processor) customerPaymentMethods(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided")
		return
	}
	if t := r.URL.Query().Get("type"); t != "" && t != "card" {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{}, "has_more": false})
		return
	}
	p.mu.Lock()
	ids := p.customerMethods[r.PathValue("id")]
	data := make([]any, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		data = append(data, cardJSON(ids[i], p.cardLocked(ids[i])))
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": false,
		"url": "/v1/customers/" + r.PathValue("id") + "/payment_methods"})
}
