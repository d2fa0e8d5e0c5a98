// Package billing is the sandbox billing platform: it builds each platform's
// real-shaped webhooks for demo invoices (Chargebee, Stripe Billing, Recurly's
// thin notifications, custombilling), signs them with that platform's scheme
// and sends them; and it serves the API calls orderflow makes back — Recurly
// transaction and invoice fetches, Stripe charge fetches, and the record-back
// of each platform — recording every record-back. Development and tests only.
package billing

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"orderflow/recovery"
)

// Invoice is a demo invoice whose payment failed at the platform.
type Invoice struct {
	ID               string
	Amount           int64  // minor units
	Currency         string // ISO upper case
	Customer         string // customer at the payment processor (cus_…)
	PaymentMethod    string // payment method at the payment processor (pm_…)
	AttemptCount     int    // the platform's own attempts so far
	ErrorCode        string
	DeclineCode      string
	GatewayAccountID string
	TransactionID    string // the failed attempt's id at the processor
}

// RecordBack is one record-back call received.
type RecordBack struct {
	Platform  string            `json:"platform"`
	InvoiceID string            `json:"invoice_id"`
	Form      map[string]string `json:"form,omitempty"`
	At        time.Time         `json:"at"`
}

// Platform is the sandbox's state. One API key serves every platform's API.
type Platform struct {
	apiKey string
	seq    atomic.Int64
	http   *http.Client

	mu           sync.Mutex
	recordBacks  []RecordBack
	transactions map[string][]byte // Recurly, by uuid
	invoices     map[string][]byte // Recurly, by id
	charges      map[string][]byte // Stripe, by id
}

// New makes a platform whose API accepts apiKey.
func New(apiKey string) *Platform {
	return &Platform{apiKey: apiKey, http: &http.Client{Timeout: 15 * time.Second},
		transactions: map[string][]byte{}, invoices: map[string][]byte{}, charges: map[string][]byte{}}
}

// RecordBacks returns the record-backs received, in order.
func (p *Platform) RecordBacks() []RecordBack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]RecordBack(nil), p.recordBacks...)
}

func (p *Platform) next(prefix string) string { return fmt.Sprintf("%s%06d", prefix, p.seq.Add(1)) }

// --- webhooks ------------------------------------------------------------------

// Event kinds the sandbox can send.
const (
	Failed    = "failed"
	Succeeded = "succeeded"
	Pending   = "pending"
	Cancelled = "cancelled"
)

// Body builds platform's webhook body for an invoice event, registering the
// objects its API must serve for thin events. It returns the body and the event id.
func (p *Platform) Body(platform, kind string, inv Invoice) ([]byte, string) {
	switch platform {
	case recovery.Chargebee:
		return p.chargebee(kind, inv)
	case recovery.StripeBilling:
		return p.stripe(kind, inv)
	case recovery.Recurly:
		return p.recurly(kind, inv)
	}
	return p.custom(kind, inv)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (p *Platform) chargebee(kind string, inv Invoice) ([]byte, string) {
	id := p.next("ev_sbx_")
	eventType := map[string]string{Failed: "payment_failed", Succeeded: "payment_succeeded", Pending: "payment_initiated", Cancelled: "invoice_deleted"}[kind]
	status := map[string]string{Failed: "failure", Succeeded: "success", Pending: "in_progress"}[kind]
	linked := []map[string]any{}
	for i := 0; i < inv.AttemptCount; i++ {
		linked = append(linked, map[string]any{"txn_id": fmt.Sprintf("txn_%s_%d", inv.ID, i), "txn_status": "failure", "applied_amount": 0})
	}
	content := map[string]any{
		"invoice": map[string]any{"id": inv.ID, "status": "payment_due", "total": inv.Amount, "amount_due": inv.Amount,
			"currency_code": inv.Currency, "linked_payments": linked, "object": "invoice"},
		"customer": map[string]any{"id": "cb_" + inv.Customer, "object": "customer",
			"payment_method": map[string]any{"type": "card", "reference_id": inv.Customer + "/" + inv.PaymentMethod, "gateway": "stripe", "status": "valid"}},
	}
	if kind != Cancelled {
		content["transaction"] = map[string]any{"id": p.next("txn_sbx_"), "id_at_gateway": inv.TransactionID, "status": status,
			"error_code": inv.ErrorCode, "error_text": "declined: " + inv.DeclineCode, "gateway_account_id": inv.GatewayAccountID,
			"amount": inv.Amount, "currency_code": inv.Currency, "date": time.Now().Unix(), "object": "transaction",
			"payment_method_details": `{"card":{"brand":"visa","funding_type":"credit","iin":"424242","last4":"4242"}}`}
	}
	return mustJSON(map[string]any{"id": id, "occurred_at": time.Now().Unix(), "source": "scheduled_job", "object": "event",
		"api_version": "v2", "event_type": eventType, "webhook_status": "scheduled", "content": content}), id
}

func (p *Platform) stripe(kind string, inv Invoice) ([]byte, string) {
	id := p.next("evt_sbx_")
	charge := "ch_sbx_" + inv.TransactionID
	p.mu.Lock()
	p.charges[charge] = mustJSON(map[string]any{"id": charge, "object": "charge", "amount": inv.Amount, "currency": strings.ToLower(inv.Currency),
		"customer": inv.Customer, "payment_method": inv.PaymentMethod, "invoice": inv.ID, "status": "failed",
		"failure_code": inv.ErrorCode, "failure_message": "Your card was declined.", "outcome": map[string]any{"reason": inv.DeclineCode},
		"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "funding": "credit"}}})
	p.mu.Unlock()
	typ := map[string]string{Failed: "invoice.payment_failed", Succeeded: "invoice.paid", Cancelled: "invoice.voided"}[kind]
	status := map[string]string{Failed: "open", Succeeded: "paid", Cancelled: "void"}[kind]
	obj := map[string]any{"id": inv.ID, "object": "invoice", "customer": inv.Customer, "currency": strings.ToLower(inv.Currency),
		"amount_due": inv.Amount, "amount_remaining": inv.Amount, "attempt_count": inv.AttemptCount, "charge": charge, "status": status,
		"billing_reason": "subscription_cycle"}
	if kind == Pending {
		typ = "charge.pending"
		obj = map[string]any{"id": "py_sbx_" + inv.TransactionID, "object": "charge", "invoice": inv.ID, "status": "pending",
			"amount": inv.Amount, "currency": strings.ToLower(inv.Currency), "customer": inv.Customer}
	}
	return mustJSON(map[string]any{"id": id, "object": "event", "api_version": "2024-06-20", "created": time.Now().Unix(),
		"type": typ, "data": map[string]any{"object": obj}, "livemode": false}), id
}

func (p *Platform) recurly(kind string, inv Invoice) ([]byte, string) {
	id := p.next("rcn_sbx_")
	uuid := strings.ReplaceAll(p.next("uuid"), "_", "")
	status := map[string]string{Failed: "declined", Succeeded: "success", Pending: "processing"}[kind]
	major := fmt.Sprintf("%d.%02d", inv.Amount/100, inv.Amount%100)
	txs := []map[string]any{}
	for i := 0; i < inv.AttemptCount; i++ {
		txs = append(txs, map[string]any{"id": fmt.Sprintf("tx_%s_%d", inv.ID, i), "object": "transaction", "status": "declined"})
	}
	p.mu.Lock()
	p.transactions[uuid] = mustJSON(map[string]any{"id": "tx_" + uuid, "object": "transaction", "uuid": uuid, "status": status,
		"status_code": inv.DeclineCode, "status_message": "declined", "gateway_reference": inv.TransactionID, "amount": json.Number(major),
		"currency": inv.Currency, "invoice": map[string]any{"id": inv.ID, "object": "invoice"},
		"payment_method": map[string]any{"object": "credit_card", "card_type": "Visa", "gateway_token": inv.PaymentMethod,
			"gateway_attributes": map[string]any{"account_reference": inv.Customer}},
		"payment_gateway": map[string]any{"id": inv.GatewayAccountID, "type": "stripe"}})
	p.invoices[inv.ID] = mustJSON(map[string]any{"id": inv.ID, "object": "invoice", "state": "past_due", "total": json.Number(major),
		"currency": inv.Currency, "transactions": txs})
	p.mu.Unlock()
	objectType, eventType, ref := "payment", map[string]string{Failed: "failed", Succeeded: "succeeded", Pending: "processing"}[kind], uuid
	if kind == Cancelled {
		objectType, eventType, ref = "charge_invoice", "voided", inv.ID
	}
	return mustJSON(map[string]any{"id": id, "object_type": objectType, "site_id": "sandbox", "event_type": eventType,
		"event_time": time.Now().UTC().Format(time.RFC3339), "uuid": ref}), id
}

func (p *Platform) custom(kind string, inv Invoice) ([]byte, string) {
	id := p.next("msg_sbx_")
	typ := map[string]string{Failed: recovery.CustomPaymentFailed, Succeeded: recovery.CustomPaid, Pending: recovery.CustomPaymentPending, Cancelled: recovery.CustomVoided}[kind]
	status := map[string]string{Failed: "failure", Succeeded: "charged", Pending: "pending", Cancelled: "voided"}[kind]
	data := map[string]any{"merchant_reference_id": inv.ID, "amount_details": map[string]any{"order_amount": inv.Amount, "currency": inv.Currency},
		"connector_transaction_id": inv.TransactionID, "connector_customer_id": inv.Customer, "attempt_status": status,
		"retry_count": inv.AttemptCount, "payment_method_type": "card", "payment_method_sub_type": "credit",
		"payment_method_data": map[string]any{"primary_processor_payment_method_token": inv.PaymentMethod,
			"additional_payment_method_info": map[string]any{"card_network": "Visa", "card_type": "credit"}}}
	if kind == Failed {
		data["error"] = map[string]any{"code": inv.ErrorCode, "message": "declined", "network_decline_code": inv.DeclineCode}
	}
	return mustJSON(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data}), id
}

// Endpoint is where and with which credentials to send one connector's webhooks.
type Endpoint struct {
	URL      string // http://…/webhooks/revenue_recovery/{profile_id}/{connector_id}
	Platform string
	Secret   string // whsec_… (Stripe, custombilling), Recurly key, Chargebee Basic password
	Username string // Chargebee
}

// Sign sets the platform's authentication headers for body at t.
func Sign(h http.Header, e Endpoint, eventID string, body []byte, t time.Time) error {
	switch e.Platform {
	case recovery.Chargebee:
		h.Set("Authorization", recovery.BasicAuthorization(e.Username, e.Secret))
	case recovery.StripeBilling:
		h.Set("Stripe-Signature", recovery.SignStripe(e.Secret, t, body))
	case recovery.Recurly:
		h.Set("recurly-signature", recovery.SignRecurly(e.Secret, t, body))
	default:
		return recovery.StandardWebhookHeaders(h, e.Secret, eventID, t, body)
	}
	return nil
}

// Send builds, signs and POSTs one webhook, returning the status code and the body sent.
func (p *Platform) Send(ctx context.Context, e Endpoint, kind string, inv Invoice) (int, []byte, error) {
	body, eventID := p.Body(e.Platform, kind, inv)
	code, err := p.Post(ctx, e, eventID, body)
	return code, body, err
}

// Post signs and POSTs a given body (tests use it to resend, tamper or replay).
func (p *Platform) Post(ctx context.Context, e Endpoint, eventID string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := Sign(req.Header, e, eventID, body, time.Now()); err != nil {
		return 0, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// --- the platforms' APIs --------------------------------------------------------

// Handler serves the platforms' API endpoints orderflow calls, and GET / (record-backs).
func (p *Platform) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/invoices/{id}/record_payment", p.auth(basic, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form := map[string]string{}
		for k, v := range r.PostForm {
			form[k] = v[0]
		}
		p.recordBack(recovery.Chargebee, r.PathValue("id"), form)
		writeJSON(w, http.StatusOK, map[string]any{"invoice": map[string]any{"id": r.PathValue("id"), "status": "paid"}})
	}))
	mux.HandleFunc("PUT /invoices/{id}/mark_successful", p.auth(basic, func(w http.ResponseWriter, r *http.Request) {
		p.recordBack(recovery.Recurly, r.PathValue("id"), nil)
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "object": "invoice", "state": "paid"})
	}))
	mux.HandleFunc("POST /v1/invoices/{id}/pay", p.auth(bearer, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		p.recordBack(recovery.StripeBilling, r.PathValue("id"), map[string]string{"paid_out_of_band": r.PostForm.Get("paid_out_of_band")})
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "object": "invoice", "status": "paid"})
	}))
	mux.HandleFunc("GET /transactions/{ref}", p.auth(basic, p.serve(p.transactions, "uuid-")))
	mux.HandleFunc("GET /invoices/{ref}", p.auth(basic, p.serve(p.invoices, "")))
	mux.HandleFunc("GET /v1/charges/{ref}", p.auth(bearer, p.serve(p.charges, "")))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"record_backs": p.RecordBacks()})
	})
	return mux
}

const (
	basic  = "basic"
	bearer = "bearer"
)

func (p *Platform) auth(kind string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok := false
		if kind == basic {
			user, _, has := r.BasicAuth()
			ok = has && subtle.ConstantTimeCompare([]byte(user), []byte(p.apiKey)) == 1
		} else {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			ok = subtle.ConstantTimeCompare([]byte(tok), []byte(p.apiKey)) == 1
		}
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
			return
		}
		next(w, r)
	}
}

func (p *Platform) serve(objects map[string][]byte, prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, _ := strings.CutPrefix(r.PathValue("ref"), prefix)
		p.mu.Lock()
		body, ok := objects[ref]
		p.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"type": "not_found"}})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

func (p *Platform) recordBack(platform, invoiceID string, form map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recordBacks = append(p.recordBacks, RecordBack{Platform: platform, InvoiceID: invoiceID, Form: form, At: time.Now().UTC()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
