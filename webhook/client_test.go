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
)

// fakeCRM issues numbered tokens and answers POSTs with the scripted codes in turn.
type fakeCRM struct {
	tokensIssued atomic.Int32
	posts        atomic.Int32
	codes        []int
	expiresIn    int
	lastAuth     atomic.Value
	lastKey      atomic.Value
}

func (f *fakeCRM) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
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
		f.lastKey.Store(r.Header.Get("Idempotency-Key"))
		code := http.StatusOK
		if i < len(f.codes) {
			code = f.codes[i]
		}
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(code)
	})
	return mux
}

func newTestClient(t *testing.T, f *fakeCRM, now func() time.Time) (*Client, string) {
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	c := NewClient(srv.Client(), ClientOptions{
		RequestTimeout: 2 * time.Second, TokenTimeout: 2 * time.Second, TokenDefaultTTL: time.Minute, Now: now,
	})
	return c, srv.URL
}

func request(base string) Request {
	return Request{
		URL:            base + "/cancel",
		Auth:           &TokenAuth{ID: "a1", Version: 1, URL: base + "/token", Payload: map[string]any{"client_secret": "shh"}, TokenPath: "access_token"},
		IdempotencyKey: "rto-cancel:o1:w1",
		Body:           map[string]any{"order_id": "o1"},
	}
}

func TestClientCachesTokenAndSendsIdempotencyKey(t *testing.T) {
	f := &fakeCRM{expiresIn: 3600}
	c, base := newTestClient(t, f, nil)
	for i := 0; i < 3; i++ {
		if _, err := c.Send(context.Background(), request(base)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.tokensIssued.Load(); got != 1 {
		t.Errorf("token fetched %d times, want 1 (cached)", got)
	}
	if got := f.lastAuth.Load(); got != "Bearer tok-1" {
		t.Errorf("Authorization = %v", got)
	}
	if got := f.lastKey.Load(); got != "rto-cancel:o1:w1" {
		t.Errorf("Idempotency-Key = %v", got)
	}
}

func TestClientRenewsExpiredToken(t *testing.T) {
	f := &fakeCRM{expiresIn: 120}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c, base := newTestClient(t, f, clock)
	if _, err := c.Send(context.Background(), request(base)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(100 * time.Second) // inside the 30 s safety margin of a 120 s token
	if _, err := c.Send(context.Background(), request(base)); err != nil {
		t.Fatal(err)
	}
	if got := f.tokensIssued.Load(); got != 2 {
		t.Errorf("tokens issued = %d, want 2", got)
	}
}

func TestClientRefreshesTokenOnceOn401(t *testing.T) {
	f := &fakeCRM{codes: []int{401, 200}}
	c, base := newTestClient(t, f, nil)
	attempts, err := c.Send(context.Background(), request(base))
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || attempts[0].StatusCode != 401 || !attempts[1].AuthRefreshed || attempts[1].StatusCode != 200 {
		t.Errorf("attempts = %+v", attempts)
	}
	if f.tokensIssued.Load() != 2 || f.lastAuth.Load() != "Bearer tok-2" {
		t.Errorf("want a fresh token on the retry, got %d issued, %v", f.tokensIssued.Load(), f.lastAuth.Load())
	}

	// A second 401 after the refresh is not refreshed again within this Send.
	f2 := &fakeCRM{codes: []int{401, 401}}
	c2, base2 := newTestClient(t, f2, nil)
	attempts, err = c2.Send(context.Background(), request(base2))
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Retryable || len(attempts) != 2 || f2.tokensIssued.Load() != 2 {
		t.Errorf("double 401: err=%v attempts=%d tokens=%d", err, len(attempts), f2.tokensIssued.Load())
	}
}

func TestClientClassifiesAnswers(t *testing.T) {
	cases := []struct {
		code       int
		retryable  bool
		retryAfter time.Duration
	}{
		{500, true, 0}, {503, true, 0}, {408, true, 0}, {429, true, 7 * time.Second},
		{400, false, 0}, {404, false, 0}, {422, false, 0}, {302, false, 0},
	}
	for _, tc := range cases {
		f := &fakeCRM{codes: []int{tc.code}}
		c, base := newTestClient(t, f, nil)
		_, err := c.Send(context.Background(), request(base))
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("%d: want DeliveryError, got %v", tc.code, err)
		}
		if de.Retryable != tc.retryable || de.RetryAfter != tc.retryAfter || de.StatusCode != tc.code {
			t.Errorf("%d: got %+v", tc.code, de)
		}
	}
}

func TestClientTimeoutIsRetryableAndHidesURL(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c := NewClient(srv.Client(), ClientOptions{RequestTimeout: 100 * time.Millisecond, TokenTimeout: time.Second, TokenDefaultTTL: time.Minute})
	attempts, err := c.Send(context.Background(), Request{URL: srv.URL + "/hook?key=super-secret-key", Body: map[string]any{}})
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Retryable {
		t.Fatalf("want retryable timeout, got %v", err)
	}
	if attempts[0].Error != "timeout" || strings.Contains(err.Error(), "super-secret-key") {
		t.Errorf("attempt %+v / err %v", attempts[0], err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := parseRetryAfter("12", now); got != 12*time.Second {
		t.Errorf("seconds: %v", got)
	}
	if got := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Errorf("date: %v", got)
	}
	if got := parseRetryAfter("soon", now); got != 0 {
		t.Errorf("garbage: %v", got)
	}
}
