// Package delhiveryb2b is the Delhivery B2B (LTL) poll client and its status
// table: one login whose JWT is cached for its lifetime (logins are limited to
// 100 / 5 min and wrong credentials lock the user), then one LR per lrn/track call.
package delhiveryb2b

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// Paths under the base URL.
const (
	LoginPath = "/ums/login"
	TrackPath = "/lrn/track"
)

// MaxLRs is the most LRs one lrn/track call takes.
const MaxLRs = 1

// DefaultTokenLifetime is the JWT's lifetime when it carries no exp claim (24 h).
const DefaultTokenLifetime = 24 * time.Hour

// Options configure a Client.
type Options struct {
	BaseURL  string
	Username string
	Password string
	Timeout  time.Duration
	// LimitBackoff is the wait after a 403/429 without Retry-After.
	LimitBackoff time.Duration
	Now          func() time.Time
}

// Client tracks B2B LRs. It is safe for concurrent use; all calls share one JWT.
type Client struct {
	r        *resty.Client
	user     string
	password string
	backoff  time.Duration
	now      func() time.Time

	jwt couriers.TokenCache
}

// New builds a client; it logs in lazily, on the first Track.
func New(o Options) *Client {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Client{
		r:    resty.New().SetBaseURL(strings.TrimRight(o.BaseURL, "/")).SetTimeout(o.Timeout).SetHeader("Accept", "application/json"),
		user: o.Username, password: o.Password, backoff: o.LimitBackoff, now: now,
	}
}

// Logins counts the logins this client made (the cache keeps it at one per JWT lifetime).
func (c *Client) Logins() int { return c.jwt.Logins() }

// errUnauthorized is a 401 on track: the cached JWT is dropped and one fresh login tried.
var errUnauthorized = errors.New("delhivery_b2b: unauthorized")

type trackResponse struct {
	Success bool `json:"success"`
	Data    *struct {
		LRNum  string `json:"lrnum"`
		Status string `json:"status"`
		WBNs   []struct {
			Status        string `json:"status"`
			WBN           string `json:"wbn"`
			ScanTimestamp string `json:"scan_timestamp"`
		} `json:"wbns"`
	} `json:"data"`
}

var _ couriers.Poller = (*Client)(nil)

// API is the courier API this client calls (couriers.Poller).
func (c *Client) API() string { return tracking.APIDelhiveryB2B }

// MaxPerCall is MaxLRs (couriers.Poller).
func (c *Client) MaxPerCall() int { return MaxLRs }

// Track asks for each LR in a call of its own, in order, and stops at the
// first error with the shipments read so far. An unknown LR gives Found=false.
func (c *Client) Track(ctx context.Context, lrs []string) ([]couriers.Shipment, error) {
	out := make([]couriers.Shipment, 0, len(lrs))
	for _, lr := range lrs {
		s, err := c.trackLR(ctx, lr)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// trackLR asks for one LR, logging in once more after a 401.
func (c *Client) trackLR(ctx context.Context, lr string) (couriers.Shipment, error) {
	s, err := c.track(ctx, lr)
	if errors.Is(err, errUnauthorized) {
		c.jwt.Forget()
		s, err = c.track(ctx, lr)
	}
	return s, err
}

func (c *Client) track(ctx context.Context, lr string) (couriers.Shipment, error) {
	jwt, err := c.jwt.Token(ctx, c.now(), c.login)
	if err != nil {
		return couriers.Shipment{}, err
	}
	resp, err := c.r.R().SetContext(ctx).SetAuthToken(jwt).SetQueryParam("lrnum", lr).Get(TrackPath)
	if err != nil {
		return couriers.Shipment{}, fmt.Errorf("delhivery_b2b: track: %w", err)
	}
	switch code := resp.StatusCode(); {
	case code == http.StatusUnauthorized:
		return couriers.Shipment{}, errUnauthorized
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		wait := couriers.RetryAfter(resp.Header(), c.now(), c.backoff, c.backoff)
		return couriers.Shipment{}, &couriers.RateLimitedError{Courier: tracking.APIDelhiveryB2B, StatusCode: code, Wait: wait}
	case code == http.StatusNotFound:
		return couriers.Shipment{AWB: lr}, nil
	case code != http.StatusOK:
		return couriers.Shipment{}, fmt.Errorf("delhivery_b2b: track: HTTP %d", code)
	}
	return Parse(resp.Body(), lr)
}

// Parse reads an lrn/track body (shape unverified: docs/couriers.md). success:false
// or no data means the LR is unknown.
func Parse(body []byte, lr string) (couriers.Shipment, error) {
	var r trackResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return couriers.Shipment{}, fmt.Errorf("delhivery_b2b: unreadable body: %w", err)
	}
	if !r.Success || r.Data == nil || r.Data.Status == "" {
		return couriers.Shipment{AWB: lr}, nil
	}
	var at time.Time
	for _, w := range r.Data.WBNs {
		if t, ok := couriers.ParseIST(w.ScanTimestamp); ok && t.After(at) {
			at = t
		}
	}
	return couriers.Shipment{AWB: lr, Found: true, Raw: r.Data.Status, Mapping: Map(r.Data.Status), EventTime: at}, nil
}

// login logs in for a new JWT (TokenCache calls it when there is none or it
// is about to expire).
func (c *Client) login(ctx context.Context) (string, time.Time, error) {
	var out struct {
		Data struct {
			JWT string `json:"jwt"`
		} `json:"data"`
		JWT string `json:"jwt"`
	}
	resp, err := c.r.R().SetContext(ctx).SetBody(map[string]string{"username": c.user, "password": c.password}).
		Post(LoginPath)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("delhivery_b2b: login: %w", err)
	}
	switch code := resp.StatusCode(); {
	case code == http.StatusTooManyRequests || code == http.StatusForbidden:
		wait := couriers.RetryAfter(resp.Header(), c.now(), c.backoff, c.backoff)
		return "", time.Time{}, &couriers.RateLimitedError{Courier: tracking.APIDelhiveryB2B, StatusCode: code, Wait: wait}
	case code != http.StatusOK:
		return "", time.Time{}, fmt.Errorf("delhivery_b2b: login: HTTP %d", code)
	}
	// Decoded by hand: resty decodes a result only for a JSON Content-Type, which not every gateway sends.
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		return "", time.Time{}, errors.New("delhivery_b2b: login: unreadable answer")
	}
	jwt := out.Data.JWT
	if jwt == "" {
		jwt = out.JWT
	}
	if jwt == "" {
		return "", time.Time{}, errors.New("delhivery_b2b: login: no jwt in the answer")
	}
	// Renew a minute early so a call never carries a token that expires in flight.
	return jwt, jwtExpiry(jwt, c.now().Add(DefaultTokenLifetime)).Add(-time.Minute), nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it (we are its
// holder, not its audience); def when it has none.
func jwtExpiry(jwt string, def time.Time) time.Time {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return def
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return def
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return def
	}
	return time.Unix(claims.Exp, 0)
}
