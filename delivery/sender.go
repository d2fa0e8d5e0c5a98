package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Options bound a Sender's calls.
type Options struct {
	// HTTPClient carries the POSTs; nil means a default transport. The
	// sender never follows its redirects: a signed or authorised body goes
	// only where it was configured to go.
	HTTPClient *http.Client
	// Timeout bounds one POST, from dialling to the end of the answer.
	Timeout time.Duration
	// Now is the clock for latencies and signature timestamps.
	Now func() time.Time
}

// Sender POSTs outgoing webhooks. It is safe for concurrent use.
type Sender struct {
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
}

// defaultTimeout bounds a POST when Options.Timeout is zero.
const defaultTimeout = 30 * time.Second

// NewSender makes a sender.
func NewSender(opts Options) *Sender {
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sender{http: hc, timeout: opts.Timeout, now: opts.Now}
}

// Auth puts a receiver's credentials on a POST. fresh asks for new ones: the
// sender asks once more after a 401. Its errors must not carry the credentials.
type Auth interface {
	Authorize(ctx context.Context, h http.Header, fresh bool) error
}

// Log writes a delivery's attempts to the receiver's own collection. The
// sender calls it once per Deliver, after the POSTs, with every POST made.
type Log interface {
	Record(ctx context.Context, attempts []Attempt) error
}

// LogFunc adapts a function to Log.
type LogFunc func(ctx context.Context, attempts []Attempt) error

// Record calls f.
func (f LogFunc) Record(ctx context.Context, attempts []Attempt) error { return f(ctx, attempts) }

// Message is one webhook to deliver.
type Message struct {
	URL string
	// Event names what happened (order.rto, payment_succeeded): a metric label.
	Event string
	// ID identifies the message to the receiver (Standard Webhooks' webhook-id).
	ID string
	// Body is sent unchanged on every attempt; signatures cover these bytes.
	Body []byte
	// IdempotencyKey goes in the Idempotency-Key header when set.
	IdempotencyKey string
	Auth           Auth     // nil: no credentials
	Signers        []Signer // signature headers, in order
	Log            Log      // nil: attempts are not kept
	// Attempt is the activity attempt making this delivery, from 1: it picks
	// the retry delay and goes in every Attempt.
	Attempt int
	// FirstScheduled is when the delivery's first attempt was scheduled: the
	// schedule's window counts from it. Zero leaves the window unchecked.
	FirstScheduled time.Time
	// Retry is the destination's own schedule (a CRM webhook's or a merchant
	// profile's); nil follows the channel's.
	Retry *Schedule
	// DestinationID names the receiver in the per-destination metrics (a CRM
	// webhook id or a merchant profile id), never its URL.
	DestinationID string
}

// Attempt is one POST as a delivery log records it. It never holds a
// secret, a token, a signature or the URL.
type Attempt struct {
	Try           int // the activity attempt that made this POST
	StatusCode    int // 0 when no answer came
	Latency       time.Duration
	Error         string // why it was not a 2xx, safe to log
	AuthRefreshed bool   // sent with credentials renewed after a 401
	At            time.Time
}

// OK reports a 2xx answer.
func (a Attempt) OK() bool { return is2xx(a.StatusCode) }

func is2xx(code int) bool { return code >= 200 && code <= 299 }

// exchange is what the POSTs of one delivery gave.
type exchange struct {
	attempts   []Attempt
	retryAfter time.Duration // the last answer's Retry-After
	prepErr    error         // credentials or signing failed before a POST
}

func (x exchange) last() Attempt { return x.attempts[len(x.attempts)-1] }

// send POSTs m once, or twice when the first answer is a 401 and fresh
// credentials are available.
func (s *Sender) send(ctx context.Context, m Message) exchange {
	first, retryAfter, err := s.post(ctx, m, false)
	if err != nil {
		return exchange{prepErr: err}
	}
	x := exchange{attempts: []Attempt{first}, retryAfter: retryAfter}
	if m.Auth == nil || first.StatusCode != http.StatusUnauthorized {
		return x
	}
	second, retryAfter, err := s.post(ctx, m, true)
	if err != nil {
		x.prepErr = err
		return x
	}
	second.AuthRefreshed = true
	x.attempts = append(x.attempts, second)
	x.retryAfter = retryAfter
	return x
}

// post makes one POST. A non-nil error means nothing was sent.
func (s *Sender) post(ctx context.Context, m Message, freshAuth bool) (Attempt, time.Duration, error) {
	h, err := s.headers(ctx, m, freshAuth)
	if err != nil {
		return Attempt{}, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Attempt{}, 0, errors.New("invalid webhook URL")
	}
	req.Header = h
	start := s.now()
	resp, err := s.http.Do(req)
	at := Attempt{Try: m.Attempt, At: start.UTC()}
	if err != nil {
		at.Latency, at.Error = s.now().Sub(start), Describe(err)
		return at, 0, nil
	}
	// Drain a little so the connection can be reused; the body is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	at.Latency, at.StatusCode = s.now().Sub(start), resp.StatusCode
	if !at.OK() {
		at.Error = "receiver answered " + strconv.Itoa(resp.StatusCode)
	}
	return at, parseRetryAfter(resp.Header.Get("Retry-After"), s.now()), nil
}

func (s *Sender) headers(ctx context.Context, m Message, freshAuth bool) (http.Header, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if m.IdempotencyKey != "" {
		h.Set("Idempotency-Key", m.IdempotencyKey)
	}
	at := s.now()
	for _, sg := range m.Signers {
		if err := sg.Sign(h, m.ID, at, m.Body); err != nil {
			return nil, err
		}
	}
	if m.Auth != nil {
		if err := m.Auth.Authorize(ctx, h, freshAuth); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Describe reports a transport error without its URL, whose query string may
// carry a credential.
func Describe(err error) string {
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
