package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/sync/singleflight"
)

// ClientOptions bounds the client's calls.
type ClientOptions struct {
	RequestTimeout  time.Duration // one webhook POST
	TokenTimeout    time.Duration // one auth request
	TokenDefaultTTL time.Duration // token lifetime when the response has no expires_in
	Now             func() time.Time
}

// Client POSTs webhook payloads with token auth. Tokens are cached per auth
// configuration until shortly before they expire and refreshed once on a 401.
type Client struct {
	http *resty.Client
	opts ClientOptions

	mu     sync.Mutex
	tokens map[tokenKey]cachedToken
	fetch  singleflight.Group
}

type tokenKey struct {
	id      string
	version int64
}

type cachedToken struct {
	value   string
	expires time.Time
}

// tokenSafetyMargin renews a token this long before it expires, so a request
// in flight never carries one that lapses on the way.
const tokenSafetyMargin = 30 * time.Second

// NewClient makes a client; hc may be nil for a default transport.
func NewClient(hc *http.Client, opts ClientOptions) *Client {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var rc *resty.Client
	if hc != nil {
		rc = resty.NewWithClient(hc)
	} else {
		rc = resty.New()
	}
	rc.SetRedirectPolicy(resty.NoRedirectPolicy())
	return &Client{http: rc, opts: opts, tokens: map[tokenKey]cachedToken{}}
}

// Request is one delivery to send.
type Request struct {
	URL            string
	Auth           *TokenAuth // nil: no auth
	IdempotencyKey string
	Body           any
}

// Attempt is one HTTP POST as the delivery log records it. It never holds a token.
type Attempt struct {
	StatusCode    int
	Latency       time.Duration
	Error         string
	AuthRefreshed bool
}

// DeliveryError says why a delivery did not succeed and whether trying again may help.
type DeliveryError struct {
	StatusCode int
	Retryable  bool
	RetryAfter time.Duration // from a Retry-After header; zero when absent
	Reason     string
}

func (e *DeliveryError) Error() string { return e.Reason }

// Send POSTs req once, or twice when the first answer is a 401 and a fresh
// token is available. It returns every attempt made and a *DeliveryError
// unless the receiver answered 2xx.
func (c *Client) Send(ctx context.Context, req Request) ([]Attempt, error) {
	token, err := c.token(ctx, req.Auth, false)
	if err != nil {
		return nil, err
	}
	first, resp := c.post(ctx, req, token)
	attempts := []Attempt{first}
	if resp != nil && resp.StatusCode() == http.StatusUnauthorized && req.Auth != nil {
		if token, err = c.token(ctx, req.Auth, true); err != nil {
			return attempts, err
		}
		second, resp2 := c.post(ctx, req, token)
		second.AuthRefreshed = true
		attempts = append(attempts, second)
		resp = resp2
	}
	return attempts, classify(resp, attempts[len(attempts)-1])
}

func (c *Client) post(ctx context.Context, req Request, token string) (Attempt, *resty.Response) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	r := c.http.R().SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetHeader("Idempotency-Key", req.IdempotencyKey).
		SetBody(req.Body)
	if token != "" {
		r.SetAuthToken(token)
	}
	start := c.opts.Now()
	resp, err := r.Post(req.URL)
	a := Attempt{Latency: c.opts.Now().Sub(start)}
	if err != nil {
		a.Error = describe(err)
		return a, nil
	}
	a.StatusCode = resp.StatusCode()
	if a.StatusCode < 200 || a.StatusCode > 299 {
		a.Error = "receiver answered " + strconv.Itoa(a.StatusCode)
	}
	return a, resp
}

// classify turns the last answer into nil (2xx) or a DeliveryError:
// transport errors, timeouts, 5xx, 401, 408 and 429 are worth retrying; any
// other 4xx (and 3xx, which we never follow) is final.
func classify(resp *resty.Response, last Attempt) error {
	if resp == nil {
		return &DeliveryError{Retryable: true, Reason: last.Error}
	}
	code := resp.StatusCode()
	switch {
	case code >= 200 && code <= 299:
		return nil
	case code >= 500, code == http.StatusUnauthorized, code == http.StatusRequestTimeout:
		return &DeliveryError{StatusCode: code, Retryable: true, Reason: last.Error}
	case code == http.StatusTooManyRequests:
		return &DeliveryError{StatusCode: code, Retryable: true, Reason: last.Error,
			RetryAfter: parseRetryAfter(resp.Header().Get("Retry-After"), time.Now())}
	}
	return &DeliveryError{StatusCode: code, Retryable: false, Reason: last.Error}
}

// parseRetryAfter reads delta-seconds or an HTTP date; zero when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// token returns a cached token or fetches one; fresh forces a fetch (after a 401).
// Concurrent fetches for one auth share a single request.
func (c *Client) token(ctx context.Context, auth *TokenAuth, fresh bool) (string, error) {
	if auth == nil {
		return "", nil
	}
	key := tokenKey{auth.ID, auth.Version}
	c.mu.Lock()
	cached, ok := c.tokens[key]
	if fresh {
		delete(c.tokens, key)
	}
	c.mu.Unlock()
	if ok && !fresh && c.opts.Now().Before(cached.expires) {
		return cached.value, nil
	}
	v, err, _ := c.fetch.Do(fmt.Sprintf("%s/%d", key.id, key.version), func() (any, error) {
		return c.fetchToken(ctx, auth, key)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (c *Client) fetchToken(ctx context.Context, auth *TokenAuth, key tokenKey) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.TokenTimeout)
	defer cancel()
	resp, err := c.http.R().SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetBody(auth.Payload).
		Post(auth.URL)
	if err != nil {
		return "", &DeliveryError{Retryable: true, Reason: "auth request failed: " + describe(err)}
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		// A rejected login is retried too: credentials are often fixed by an
		// update of the auth config, which gets a new cache key.
		return "", &DeliveryError{Retryable: true, Reason: "auth endpoint answered " + strconv.Itoa(code)}
	}
	tok, ttl, err := ExtractToken(resp.Body(), auth.TokenPath)
	if err != nil {
		return "", &DeliveryError{Retryable: true, Reason: "auth response: " + err.Error()}
	}
	if ttl <= 0 {
		ttl = c.opts.TokenDefaultTTL
	}
	expires := c.opts.Now().Add(ttl)
	if ttl > 2*tokenSafetyMargin {
		expires = expires.Add(-tokenSafetyMargin)
	}
	c.mu.Lock()
	c.tokens[key] = cachedToken{value: tok, expires: expires}
	c.mu.Unlock()
	return tok, nil
}

// describe reports a transport error without its URL, whose query string may
// carry a credential.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return err.Error()
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
