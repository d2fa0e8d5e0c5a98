// Package merchant is the sandbox merchant receiver of revenue recovery
// webhooks: it verifies X-Webhook-Signature-512 (hex HMAC-SHA512 of the body)
// and the Standard Webhooks headers with the profile's key, records what it
// got and shows it at GET /. Failures can be scripted. Development and tests only.
package merchant

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"orderflow/delivery"
	"orderflow/recovery"
)

// Received is one webhook POST as the merchant saw it.
type Received struct {
	At                 time.Time      `json:"at"`
	EventID            string         `json:"event_id"`
	EventType          string         `json:"event_type"`
	WebhookID          string         `json:"webhook_id"`
	Signature512OK     bool           `json:"signature_512_ok"`
	StandardWebhooksOK bool           `json:"standard_webhooks_ok"`
	StatusCode         int            `json:"status_code"`
	Body               map[string]any `json:"body"`
	Raw                []byte         `json:"-"`
}

// Verified reports whether both signatures checked out.
func (r Received) Verified() bool { return r.Signature512OK && r.StandardWebhooksOK }

// Merchant is the receiver's state.
type Merchant struct {
	key string

	mu       sync.Mutex
	received []Received
	forced   []int
}

// New makes a receiver verifying with key (the profile's payment_response_hash_key).
func New(key string) *Merchant { return &Merchant{key: key} }

// FailNext makes the next POSTs answer these codes, in order.
func (m *Merchant) FailNext(codes ...int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forced = append(m.forced, codes...)
}

// Received returns every POST, in order.
func (m *Merchant) Received() []Received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Received(nil), m.received...)
}

// Accepted returns the POSTs answered 2xx with both signatures valid.
func (m *Merchant) Accepted() []Received {
	var out []Received
	for _, r := range m.Received() {
		if r.StatusCode == http.StatusOK && r.Verified() {
			out = append(out, r)
		}
	}
	return out
}

// Handler serves POST /webhooks (the receiver) and GET / (what it got).
func (m *Merchant) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks", m.receive)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"received": m.Received()})
	})
	return mux
}

func (m *Merchant) receive(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rec := Received{At: time.Now().UTC(), Raw: raw, WebhookID: r.Header.Get("webhook-id")}
	rec.Signature512OK = delivery.VerifySHA512Hex(m.key, raw, r.Header.Get(delivery.HeaderSignature512))
	rec.StandardWebhooksOK = recovery.VerifyStandardWebhooks(r.Header, raw, []string{m.key}, time.Now(), recovery.StandardWebhooksTolerance) == nil
	_ = json.Unmarshal(raw, &rec.Body)
	rec.EventID, _ = rec.Body["event_id"].(string)
	rec.EventType, _ = rec.Body["event_type"].(string)

	m.mu.Lock()
	rec.StatusCode = http.StatusOK
	switch {
	case len(m.forced) > 0:
		rec.StatusCode, m.forced = m.forced[0], m.forced[1:]
	case !rec.Verified():
		rec.StatusCode = http.StatusUnauthorized
	}
	m.received = append(m.received, rec)
	m.mu.Unlock()
	w.WriteHeader(rec.StatusCode)
}
