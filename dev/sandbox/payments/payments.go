// Package payments is the sandbox payment processor: Stripe's PaymentIntents
// API shape (form-encoded create+confirm with Idempotency-Key, 402 card_error
// declines, retrieve) whose outcomes a scenario decides per payment method,
// recording every charge by idempotency key, and its payment methods' cards
// (brand, fingerprint: GET /v1/payment_methods/{id}). It counts, on its own,
// the charges Visa's and Mastercard's retry rules forbid (GET /network_rules).
// Development and tests only.
package payments

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome kinds a script can give a payment method's next charges.
const (
	Succeed    = "succeed"
	Decline    = "decline"
	Processing = "processing"   // answers processing; settles on a later retrieve
	LoseAnswer = "lose_answer"  // charges, then drops the connection: the caller must retry with the same key
	ServerFail = "server_error" // 500 before charging (nothing recorded)
)

// Outcome is what one new charge does.
type Outcome struct {
	Kind        string
	Code        string // decline: e.g. card_declined
	DeclineCode string // decline: e.g. insufficient_funds, stolen_card
	AdviceCode  string
	// NetworkDeclineCode is the issuer's raw response code (e.g. Visa's 43);
	// NetworkAdviceCode Mastercard's Merchant Advice Code (e.g. 03).
	NetworkDeclineCode string
	NetworkAdviceCode  string
	// Processing: the status after SettleAfter retrieves ("succeeded" or "requires_payment_method").
	SettleTo    string
	SettleAfter int
}

// Charge is one PaymentIntent created, as recorded.
type Charge struct {
	IdempotencyKey  string `json:"idempotency_key"`
	PaymentIntentID string `json:"payment_intent_id"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	Customer        string `json:"customer"`
	PaymentMethod   string `json:"payment_method"`
	OffSession      bool   `json:"off_session"`
	Status          string `json:"status"`
	DeclineCode     string `json:"decline_code,omitempty"`
	// The card charged, as its payment method reports it.
	Brand              string `json:"brand,omitempty"`
	Fingerprint        string `json:"fingerprint,omitempty"`
	NetworkDeclineCode string `json:"network_decline_code,omitempty"`
	NetworkAdviceCode  string `json:"network_advice_code,omitempty"`
	// NetworkRuleViolations are the card-network rules this charge broke (the sandbox's own count).
	NetworkRuleViolations []string          `json:"network_rule_violations,omitempty"`
	Metadata              map[string]string `json:"metadata"`
	At                    time.Time         `json:"at"`
}

type stored struct {
	code int
	body []byte
}

type intent struct {
	charge    *Charge
	settleTo  string
	remaining int
}

// Processor is the sandbox's state.
type Processor struct {
	apiKey string

	mu       sync.Mutex
	scripts  map[string][]Outcome
	charges  []*Charge
	byKey    map[string]stored
	intents  map[string]*intent
	requests int
	seq      int
	scenario Scenario
	cards    map[string]Card
	// customerMethods are each customer's stored payment methods, in the order attached.
	customerMethods map[string][]string
	// rules counts the card networks' rules over every charge.
	rules *ruleCounter
}

// Scenario decides the outcome of a new charge when no script is queued:
// previous is how many charges this payment method already made for the invoice.
type Scenario func(paymentMethod, invoiceID string, previous int) Outcome

// SetScenario installs a stateless scenario (the demo's: outcomes by payment method).
func (p *Processor) SetScenario(s Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scenario = s
}

// New makes a processor accepting apiKey as the Bearer secret key.
func New(apiKey string) *Processor {
	return &Processor{apiKey: apiKey, scripts: map[string][]Outcome{}, byKey: map[string]stored{}, intents: map[string]*intent{},
		cards: map[string]Card{}, customerMethods: map[string][]string{}, rules: newRuleCounter()}
}

// Script queues outcomes for the next new charges of a payment method; once
// the queue is empty, charges succeed.
func (p *Processor) Script(paymentMethod string, outcomes ...Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scripts[paymentMethod] = append(p.scripts[paymentMethod], outcomes...)
}

// Charges returns every charge made, in order.
func (p *Processor) Charges() []Charge {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Charge, len(p.charges))
	for i, c := range p.charges {
		out[i] = *c
	}
	return out
}

// ChargesFor returns the charges whose metadata[invoice_id] is invoiceID.
func (p *Processor) ChargesFor(invoiceID string) []Charge {
	var out []Charge
	for _, c := range p.Charges() {
		if c.Metadata["invoice_id"] == invoiceID {
			out = append(out, c)
		}
	}
	return out
}

// Requests counts create requests, repeats included.
func (p *Processor) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Handler serves the API, GET / (the charges as JSON) and GET /network_rules
// (the card-network rule violations the sandbox counted).
func (p *Processor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payment_intents", p.create)
	mux.HandleFunc("GET /v1/payment_intents/{id}", p.retrieve)
	mux.HandleFunc("GET /v1/payment_methods/{id}", p.paymentMethod)
	mux.HandleFunc("GET /v1/customers/{id}/payment_methods", p.customerPaymentMethods)
	mux.HandleFunc("GET /network_rules", p.networkRulesHandler)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"charges": p.Charges()})
	})
	return mux
}

func (p *Processor) authorized(r *http.Request) bool {
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return subtle.ConstantTimeCompare([]byte(got), []byte(p.apiKey)) == 1
}

func stripeError(w http.ResponseWriter, code int, typ, errCode, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"type": typ, "code": errCode, "message": msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Processor) create(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided")
		return
	}
	if err := r.ParseForm(); err != nil {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid", "unreadable form")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	p.mu.Lock()
	p.requests++
	if prev, ok := p.byKey[key]; ok && key != "" {
		p.mu.Unlock()
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(prev.code)
		_, _ = w.Write(prev.body)
		return
	}
	amount, err := strconv.ParseInt(r.PostForm.Get("amount"), 10, 64)
	if err != nil || amount <= 0 || r.PostForm.Get("currency") == "" || r.PostForm.Get("payment_method") == "" ||
		r.PostForm.Get("confirm") != "true" {
		p.mu.Unlock()
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_missing", "amount, currency, payment_method and confirm=true are required")
		return
	}
	pm := r.PostForm.Get("payment_method")
	out := Outcome{Kind: Succeed}
	if q := p.scripts[pm]; len(q) > 0 {
		out, p.scripts[pm] = q[0], q[1:]
	} else if p.scenario != nil {
		invoice := r.PostForm.Get("metadata[invoice_id]")
		previous := 0
		for _, c := range p.charges {
			if c.PaymentMethod == pm && c.Metadata["invoice_id"] == invoice {
				previous++
			}
		}
		out = p.scenario(pm, invoice, previous)
	}
	if out.Kind == ServerFail {
		p.mu.Unlock()
		stripeError(w, http.StatusInternalServerError, "api_error", "", "sandbox: scripted server error")
		return
	}
	p.seq++
	c := &Charge{
		IdempotencyKey: key, PaymentIntentID: fmt.Sprintf("pi_sandbox_%06d", p.seq), Amount: amount,
		Currency: r.PostForm.Get("currency"), Customer: r.PostForm.Get("customer"), PaymentMethod: pm,
		OffSession: r.PostForm.Get("off_session") == "true", Metadata: map[string]string{}, At: time.Now().UTC(),
	}
	card := p.cardLocked(pm)
	c.Brand, c.Fingerprint = card.Brand, card.Fingerprint
	for k, v := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && len(v) > 0 {
			c.Metadata[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	broken := p.rules.check(c)
	code, body := p.apply(c, out)
	c.NetworkRuleViolations = broken
	p.rules.observe(c, broken)
	p.charges = append(p.charges, c)
	if key != "" {
		p.byKey[key] = stored{code, body}
	}
	p.mu.Unlock()

	if out.Kind == LoseAnswer {
		// The charge is made and its answer stored; the caller never hears it.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// apply decides the charge's status and the answer; p.mu is held.
func (p *Processor) apply(c *Charge, out Outcome) (int, []byte) {
	switch out.Kind {
	case Decline:
		c.Status, c.DeclineCode = "requires_payment_method", out.DeclineCode
		c.NetworkDeclineCode, c.NetworkAdviceCode = out.NetworkDeclineCode, out.NetworkAdviceCode
		code := out.Code
		if code == "" {
			code = "card_declined"
		}
		body, _ := json.Marshal(map[string]any{"error": map[string]any{
			"type": "card_error", "code": code, "decline_code": out.DeclineCode, "advice_code": nilIfEmpty(out.AdviceCode),
			"network_decline_code": nilIfEmpty(out.NetworkDeclineCode), "network_advice_code": nilIfEmpty(out.NetworkAdviceCode),
			"message": "Your card was declined.", "payment_intent": p.intentJSON(c, nil),
		}})
		p.intents[c.PaymentIntentID] = &intent{charge: c}
		return http.StatusPaymentRequired, body
	case Processing:
		c.Status, c.DeclineCode = "processing", out.DeclineCode
		p.intents[c.PaymentIntentID] = &intent{charge: c, settleTo: out.SettleTo, remaining: out.SettleAfter}
	default:
		c.Status = "succeeded"
		p.intents[c.PaymentIntentID] = &intent{charge: c}
	}
	body, _ := json.Marshal(p.intentJSON(c, nil))
	return http.StatusOK, body
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (p *Processor) intentJSON(c *Charge, lastErr map[string]any) map[string]any {
	return map[string]any{
		"id": c.PaymentIntentID, "object": "payment_intent", "amount": c.Amount, "currency": c.Currency,
		"customer": c.Customer, "payment_method": c.PaymentMethod, "status": c.Status, "metadata": c.Metadata,
		"last_payment_error": lastErr,
	}
}

func (p *Processor) retrieve(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, ok := p.intents[r.PathValue("id")]
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such payment_intent")
		return
	}
	var lastErr map[string]any
	if in.charge.Status == "processing" {
		if in.remaining > 0 {
			in.remaining--
		} else {
			in.charge.Status = in.settleTo
			if in.charge.Status == "" {
				in.charge.Status = "succeeded"
			}
		}
	}
	if in.charge.Status == "requires_payment_method" {
		lastErr = map[string]any{"code": "card_declined", "decline_code": in.charge.DeclineCode, "message": "Your card was declined.",
			"network_decline_code": nilIfEmpty(in.charge.NetworkDeclineCode), "network_advice_code": nilIfEmpty(in.charge.NetworkAdviceCode)}
	}
	writeJSON(w, http.StatusOK, p.intentJSON(in.charge, lastErr))
}
