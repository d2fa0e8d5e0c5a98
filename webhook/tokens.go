package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"orderflow/delivery"
)

// TokenOptions bound the auth requests.
type TokenOptions struct {
	Timeout    time.Duration // one auth request
	DefaultTTL time.Duration // token lifetime when the response has no expires_in
	Now        func() time.Time
}

// Tokens fetches and caches token-auth bearer tokens, one per auth
// configuration version, until shortly before they expire. It is safe for
// concurrent use; concurrent fetches for one auth share a single request.
type Tokens struct {
	http *http.Client
	opts TokenOptions

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

// maxAuthResponse bounds how much of an auth response is read.
const maxAuthResponse = 1 << 20

// NewTokens makes a token cache; hc may be nil for a default transport.
func NewTokens(hc *http.Client, opts TokenOptions) *Tokens {
	if hc == nil {
		hc = &http.Client{}
	}
	copied := *hc
	copied.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Tokens{http: &copied, opts: opts, tokens: map[tokenKey]cachedToken{}}
}

// For is the delivery.Auth that puts auth's bearer token on a POST and
// fetches a fresh one when the receiver answered 401.
func (t *Tokens) For(auth *TokenAuth) delivery.Auth { return bearer{t, auth} }

type bearer struct {
	tokens *Tokens
	auth   *TokenAuth
}

// Authorize sets "Authorization: Bearer <token>".
func (b bearer) Authorize(ctx context.Context, h http.Header, fresh bool) error {
	tok, err := b.tokens.token(ctx, b.auth, fresh)
	if err != nil {
		return err
	}
	h.Set("Authorization", "Bearer "+tok)
	return nil
}

// token returns a cached token or fetches one; fresh forces a fetch (after a 401).
func (t *Tokens) token(ctx context.Context, auth *TokenAuth, fresh bool) (string, error) {
	key := tokenKey{auth.ID, auth.Version}
	t.mu.Lock()
	cached, ok := t.tokens[key]
	if fresh {
		delete(t.tokens, key)
	}
	t.mu.Unlock()
	if ok && !fresh && t.opts.Now().Before(cached.expires) {
		return cached.value, nil
	}
	v, err, _ := t.fetch.Do(fmt.Sprintf("%s/%d", key.id, key.version), func() (any, error) {
		return t.fetchToken(ctx, auth, key)
	})
	if err != nil {
		return "", err
	}
	tok, isString := v.(string)
	if !isString {
		return "", errors.New("auth: internal error")
	}
	return tok, nil
}

// fetchToken POSTs the auth payload and caches the token. Its errors say what
// went wrong without the payload, the response or the URL. A rejected login
// is retried like any other failure: credentials are often fixed by an update
// of the auth config, which gets a new cache key.
func (t *Tokens) fetchToken(ctx context.Context, auth *TokenAuth, key tokenKey) (string, error) {
	body, err := json.Marshal(auth.Payload)
	if err != nil {
		return "", errors.New("auth payload is not JSON")
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, auth.URL, bytes.NewReader(body))
	if err != nil {
		return "", errors.New("auth URL is invalid")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.http.Do(req)
	if err != nil {
		return "", errors.New("auth request failed: " + delivery.Describe(err))
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthResponse))
	if err != nil {
		return "", errors.New("auth request failed: " + delivery.Describe(err))
	}
	if code := resp.StatusCode; code < 200 || code > 299 {
		return "", errors.New("auth endpoint answered " + strconv.Itoa(code))
	}
	tok, ttl, err := ExtractToken(raw, auth.TokenPath)
	if err != nil {
		return "", errors.New("auth response: " + err.Error())
	}
	t.store(key, tok, ttl)
	return tok, nil
}

func (t *Tokens) store(key tokenKey, tok string, ttl time.Duration) {
	if ttl <= 0 {
		ttl = t.opts.DefaultTTL
	}
	expires := t.opts.Now().Add(ttl)
	if ttl > 2*tokenSafetyMargin {
		expires = expires.Add(-tokenSafetyMargin)
	}
	t.mu.Lock()
	t.tokens[key] = cachedToken{value: tok, expires: expires}
	t.mu.Unlock()
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
