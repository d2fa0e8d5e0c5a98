package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"orderflow/delivery"
)

// fakeCRM issues numbered tokens and answers POSTs with the scripted codes in turn.
type fakeCRM struct {
	tokensIssued atomic.Int32
	posts        atomic.Int32
	codes        []int
	tokenCode    int
	expiresIn    int
	lastAuth     atomic.Value
}

func (f *fakeCRM) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if f.tokenCode != 0 {
			w.WriteHeader(f.tokenCode)
			return
		}
		n := f.tokensIssued.Add(1)
		body := map[string]any{"access_token": "tok-" + strconv.Itoa(int(n))}
		if f.expiresIn > 0 {
			body["expires_in"] = f.expiresIn
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("POST /cancel", func(w http.ResponseWriter, r *http.Request) {
		i := int(f.posts.Add(1)) - 1
		f.lastAuth.Store(r.Header.Get("Authorization"))
		code := http.StatusOK
		if i < len(f.codes) {
			code = f.codes[i]
		}
		w.WriteHeader(code)
	})
	return mux
}

type crmFixture struct {
	crm    *fakeCRM
	sender *delivery.Sender
	tokens *Tokens
	base   string
}

func newCRMFixture(t *testing.T, f *fakeCRM, now func() time.Time) crmFixture {
	t.Helper()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	return crmFixture{
		crm:    f,
		sender: delivery.NewSender(delivery.Options{HTTPClient: srv.Client(), Timeout: 2 * time.Second}),
		tokens: NewTokens(srv.Client(), TokenOptions{Timeout: 2 * time.Second, DefaultTTL: time.Minute, Now: now}),
		base:   srv.URL,
	}
}

func (c crmFixture) deliver() (delivery.Result, error) {
	auth := &TokenAuth{ID: "a1", Version: 1, URL: c.base + "/token", Payload: map[string]any{"client_secret": "shh-its-SECRET"}, TokenPath: "access_token"}
	ch := delivery.Channel{Name: "CRM webhook", Retry: delivery.Backoff(time.Second, 2, time.Minute),
		Errors: delivery.ErrorTypes{Retryable: "Retryable", Rejected: "Rejected"}}
	return c.sender.Deliver(context.Background(), ch, delivery.Message{
		URL: c.base + "/cancel", Body: []byte(`{"order_id":"o1"}`), Auth: c.tokens.For(auth), Attempt: 1,
	})
}

func TestTokensAreCachedAcrossDeliveries(t *testing.T) {
	c := newCRMFixture(t, &fakeCRM{expiresIn: 3600}, nil)
	for i := 0; i < 3; i++ {
		if _, err := c.deliver(); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.crm.tokensIssued.Load(); got != 1 {
		t.Errorf("token fetched %d times, want 1 (cached)", got)
	}
	if got := c.crm.lastAuth.Load(); got != "Bearer tok-1" {
		t.Errorf("Authorization = %v", got)
	}
}

func TestTokensRenewBeforeExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCRMFixture(t, &fakeCRM{expiresIn: 120}, func() time.Time { return now })
	if _, err := c.deliver(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(100 * time.Second) // inside the 30 s safety margin of a 120 s token
	if _, err := c.deliver(); err != nil {
		t.Fatal(err)
	}
	if got := c.crm.tokensIssued.Load(); got != 2 {
		t.Errorf("tokens issued = %d, want 2", got)
	}
}

func TestTokensRefreshOnceOn401(t *testing.T) {
	c := newCRMFixture(t, &fakeCRM{codes: []int{401, 200}, expiresIn: 3600}, nil)
	res, err := c.deliver()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Attempts) != 2 || !res.Attempts[1].AuthRefreshed || c.crm.tokensIssued.Load() != 2 || c.crm.lastAuth.Load() != "Bearer tok-2" {
		t.Errorf("attempts %+v, %d tokens, last %v", res.Attempts, c.crm.tokensIssued.Load(), c.crm.lastAuth.Load())
	}
}

func TestTokenEndpointFailureIsRetryableAndSaysNoSecret(t *testing.T) {
	c := newCRMFixture(t, &fakeCRM{tokenCode: http.StatusServiceUnavailable}, nil)
	_, err := c.deliver()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.NonRetryable() || !strings.Contains(err.Error(), "auth endpoint answered 503") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("err = %v", err)
	}
	if c.crm.posts.Load() != 0 {
		t.Errorf("POSTed %d times without a token", c.crm.posts.Load())
	}
}
