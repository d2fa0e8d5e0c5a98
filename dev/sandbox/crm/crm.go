// Package crm is the sandbox CRM: an OAuth-style client-credentials token
// endpoint and the cancel-order endpoint the RTO webhook calls, recording everything it
// receives and showing it at GET /. Tests and `make run` use it in place of the
// merchant's real CRM; failures can be scripted.
package crm

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Paths served.
const (
	TokenPath  = "/oauth/token"
	CancelPath = "/api/orders/cancel"
)

// Received is one call to the cancel-order endpoint. The bearer token itself is
// never kept: only whether it was valid.
type Received struct {
	At             time.Time      `json:"at"`
	IdempotencyKey string         `json:"idempotency_key"`
	Authorized     bool           `json:"authorized"`
	StatusCode     int            `json:"status_code"`
	Body           map[string]any `json:"body"`
}

// CRM is the sandbox server's state.
type CRM struct {
	clientID, clientSecret string
	tokenTTL               time.Duration

	mu         sync.Mutex
	tokens     map[string]bool
	received   []Received
	forced     []int // status codes to answer next, in order, before normal service
	tokenCalls int
	issued     []string
}

// New makes a CRM accepting these client credentials; tokens live tokenTTL.
func New(clientID, clientSecret string, tokenTTL time.Duration) *CRM {
	return &CRM{clientID: clientID, clientSecret: clientSecret, tokenTTL: tokenTTL, tokens: map[string]bool{}}
}

// FailNext makes the next cancel-order calls answer these codes, in order.
func (c *CRM) FailNext(codes ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forced = append(c.forced, codes...)
}

// RevokeTokens invalidates every issued token, so the next call gets a 401.
func (c *CRM) RevokeTokens() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = map[string]bool{}
}

// Received returns every cancel-order call so far.
func (c *CRM) Received() []Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Received(nil), c.received...)
}

// Accepted returns the cancel-order calls answered 2xx.
func (c *CRM) Accepted() []Received {
	var out []Received
	for _, r := range c.Received() {
		if r.StatusCode >= 200 && r.StatusCode <= 299 {
			out = append(out, r)
		}
	}
	return out
}

// IssuedTokens returns every token handed out, so tests can check none leaks.
func (c *CRM) IssuedTokens() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.issued...)
}

// TokenCalls counts successful token requests.
func (c *CRM) TokenCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenCalls
}

// Handler serves the token endpoint, the cancel-order endpoint, GET / (a page
// of received calls) and GET /received (the same as JSON).
func (c *CRM) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TokenPath, c.token)
	mux.HandleFunc("POST "+CancelPath, c.cancel)
	mux.HandleFunc("GET /received", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.Received())
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, c.Received())
	})
	return mux
}

func (c *CRM) token(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		GrantType    string `json:"grant_type"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.GrantType != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if !equal(req.ClientID, c.clientID) || !equal(req.ClientSecret, c.clientSecret) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := newToken()
	c.mu.Lock()
	c.tokens[tok] = true
	c.issued = append(c.issued, tok)
	c.tokenCalls++
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(c.tokenTTL.Seconds()),
	})
}

func (c *CRM) cancel(w http.ResponseWriter, r *http.Request) {
	rec := Received{At: time.Now().UTC(), IdempotencyKey: r.Header.Get("Idempotency-Key")}
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&rec.Body)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")

	c.mu.Lock()
	rec.Authorized = c.tokens[tok]
	switch {
	case len(c.forced) > 0:
		rec.StatusCode, c.forced = c.forced[0], c.forced[1:]
	case !rec.Authorized:
		rec.StatusCode = http.StatusUnauthorized
	case rec.Body == nil:
		rec.StatusCode = http.StatusBadRequest
	default:
		rec.StatusCode = http.StatusOK
	}
	c.received = append(c.received, rec)
	c.mu.Unlock()

	writeJSON(w, rec.StatusCode, map[string]any{"ok": rec.StatusCode == http.StatusOK})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

var page = template.Must(template.New("crm").Parse(`<!doctype html>
<title>Sandbox CRM</title>
<meta http-equiv="refresh" content="5">
<h1>Sandbox CRM: cancel-order calls received</h1>
<table border="1" cellpadding="4">
<tr><th>at</th><th>status</th><th>authorized</th><th>idempotency key</th><th>body</th></tr>
{{range .}}<tr><td>{{.At.Format "15:04:05"}}</td><td>{{.StatusCode}}</td><td>{{.Authorized}}</td><td>{{.IdempotencyKey}}</td><td>{{printf "%v" .Body}}</td></tr>
{{else}}<tr><td colspan="5">nothing yet</td></tr>{{end}}
</table>`))
