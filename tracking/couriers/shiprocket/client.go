// Package shiprocket is the Shiprocket poll client and its status table:
// login token cached for its lifetime, bulk track/awbs of up to 50 AWBs,
// mapping on shipment_status codes.
package shiprocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// Paths under the base URL.
const (
	LoginPath = "/v1/external/auth/login"
	TrackPath = "/v1/external/courier/track/awbs"
)

// MaxAWBs is the most AWBs one bulk call takes.
const MaxAWBs = 50

// DefaultTokenLifetime is how long a login token is used (Shiprocket's live 10 days; renew a day early).
const DefaultTokenLifetime = 9 * 24 * time.Hour

// Options configure a Client.
type Options struct {
	BaseURL  string
	Email    string
	Password string
	Timeout  time.Duration
	// LimitBackoff is the wait after a 429 without Retry-After.
	LimitBackoff  time.Duration
	TokenLifetime time.Duration
	Now           func() time.Time
}

// Client tracks Shiprocket AWBs; safe for concurrent use.
type Client struct {
	r        *resty.Client
	email    string
	password string
	backoff  time.Duration
	lifetime time.Duration
	now      func() time.Time

	token couriers.TokenCache
}

// New builds a client; it logs in lazily.
func New(o Options) *Client {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	life := o.TokenLifetime
	if life <= 0 {
		life = DefaultTokenLifetime
	}
	return &Client{
		r:     resty.New().SetBaseURL(strings.TrimRight(o.BaseURL, "/")).SetTimeout(o.Timeout).SetHeader("Accept", "application/json"),
		email: o.Email, password: o.Password, backoff: o.LimitBackoff, lifetime: life, now: now,
	}
}

// Logins counts the logins made.
func (c *Client) Logins() int { return c.token.Logins() }

var errUnauthorized = errors.New("shiprocket: unauthorized")

var _ couriers.Poller = (*Client)(nil)

// API is the courier API this client calls (couriers.Poller).
func (c *Client) API() string { return tracking.APIShiprocket }

// MaxPerCall is MaxAWBs (couriers.Poller).
func (c *Client) MaxPerCall() int { return MaxAWBs }

// Track asks for up to MaxAWBs AWBs in one call.
func (c *Client) Track(ctx context.Context, awbs []string) ([]couriers.Shipment, error) {
	if len(awbs) == 0 {
		return nil, nil
	}
	if len(awbs) > MaxAWBs {
		return nil, fmt.Errorf("shiprocket: %d AWBs in one call, at most %d", len(awbs), MaxAWBs)
	}
	out, err := c.track(ctx, awbs)
	if errors.Is(err, errUnauthorized) {
		c.token.Forget()
		out, err = c.track(ctx, awbs)
	}
	return out, err
}

func (c *Client) track(ctx context.Context, awbs []string) ([]couriers.Shipment, error) {
	tok, err := c.token.Token(ctx, c.now(), c.login)
	if err != nil {
		return nil, err
	}
	resp, err := c.r.R().SetContext(ctx).SetAuthToken(tok).SetBody(map[string]any{"awbs": awbs}).Post(TrackPath)
	if err != nil {
		return nil, fmt.Errorf("shiprocket: track: %w", err)
	}
	if err := c.checkStatus(resp, "track"); err != nil {
		return nil, err
	}
	return Parse(resp.Body(), awbs)
}

func (c *Client) checkStatus(resp *resty.Response, what string) error {
	switch code := resp.StatusCode(); {
	case code == http.StatusUnauthorized && what == "track":
		return errUnauthorized
	case code == http.StatusTooManyRequests:
		wait := couriers.RetryAfter(resp.Header(), c.now(), c.backoff, time.Second)
		return &couriers.RateLimitedError{Courier: tracking.APIShiprocket, StatusCode: code, Wait: wait}
	case code != http.StatusOK:
		return fmt.Errorf("shiprocket: %s: HTTP %d", what, code)
	}
	return nil
}

type trackingData struct {
	TrackStatus    int       `json:"track_status"`
	ShipmentStatus flexInt   `json:"shipment_status"`
	IsReturn       flexBool  `json:"is_return"`
	Error          string    `json:"error"`
	ShipmentTrack  []trackEl `json:"shipment_track"`
	Activities     []struct {
		Date string `json:"date"`
	} `json:"shipment_track_activities"`
}

type trackEl struct {
	AWBCode          string   `json:"awb_code"`
	CurrentStatus    string   `json:"current_status"`
	CurrentTimestamp string   `json:"current_timestamp"`
	IsReturn         flexBool `json:"is_return"`
}

// Parse reads a track/awbs body: a map keyed by AWB whose value is
// {"tracking_data":{…}}, or {} for an unknown AWB; an invalid AWB has
// track_status 0 and an error string. Unknown and missing AWBs give Found=false.
func Parse(body []byte, asked []string) ([]couriers.Shipment, error) {
	var m map[string]struct {
		TrackingData *trackingData `json:"tracking_data"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("shiprocket: unreadable body: %w", err)
	}
	out := make([]couriers.Shipment, len(asked))
	for i, awb := range asked {
		out[i] = couriers.Shipment{AWB: awb}
		td := m[awb].TrackingData
		if td == nil || td.TrackStatus == 0 || td.ShipmentStatus == 0 {
			continue
		}
		isReturn := bool(td.IsReturn)
		label := ""
		var at time.Time
		for _, st := range td.ShipmentTrack {
			isReturn = isReturn || bool(st.IsReturn)
			if label == "" {
				label = st.CurrentStatus
			}
			if t, ok := couriers.ParseIST(st.CurrentTimestamp); ok && t.After(at) {
				at = t
			}
		}
		for _, a := range td.Activities {
			if t, ok := couriers.ParseIST(a.Date); ok && t.After(at) {
				at = t
			}
		}
		raw := strconv.Itoa(int(td.ShipmentStatus)) + "/" + label
		if isReturn {
			raw += "/return"
		}
		out[i] = couriers.Shipment{AWB: awb, Found: true, Raw: raw, Mapping: Map(int(td.ShipmentStatus), isReturn), EventTime: at}
	}
	return out, nil
}

// login logs in for a new token (TokenCache calls it when there is none or
// it expired).
func (c *Client) login(ctx context.Context) (string, time.Time, error) {
	var out struct {
		Token string `json:"token"`
	}
	resp, err := c.r.R().SetContext(ctx).SetBody(map[string]string{"email": c.email, "password": c.password}).
		Post(LoginPath)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("shiprocket: login: %w", err)
	}
	if err := c.checkStatus(resp, "login"); err != nil {
		return "", time.Time{}, err
	}
	if err := json.Unmarshal(resp.Body(), &out); err != nil || out.Token == "" {
		return "", time.Time{}, errors.New("shiprocket: login: no token in the answer")
	}
	return out.Token, c.now().Add(c.lifetime), nil
}

// flexInt reads a number that may arrive as a JSON string.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexInt(n)
	return nil
}

// flexBool reads is_return, which arrives as a bool, a number or a string.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(b), `"`)) {
	case "true", "1", "yes":
		*f = true
	default:
		*f = false
	}
	return nil
}
