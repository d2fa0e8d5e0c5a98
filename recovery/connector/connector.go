// Package connector speaks to the outside services of revenue recovery over
// HTTP with resty: the payment processor (Stripe PaymentIntents, off-session)
// and the billing platforms' APIs (record-back, and fetching what thin
// webhooks leave out), sending the calls each recovery.Platform describes.
// No Temporal, no Mongo; errors say whether a retry can help.
package connector

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-resty/resty/v2"
)

// Client holds one resty client shared by every call.
type Client struct {
	http *resty.Client
}

// New makes a client whose every request is bounded by timeout.
func New(timeout time.Duration) *Client {
	// Warnings off: resty warns about Basic auth over http, which only the loopback sandbox uses.
	rc := resty.New().SetTimeout(timeout).SetRedirectPolicy(resty.NoRedirectPolicy()).SetDisableWarn(true)
	return &Client{http: rc}
}

// HTTPError is a failed call. Retryable for transport errors, timeouts, 5xx
// and 429; a final answer for any other status. Message never holds a credential.
type HTTPError struct {
	Op         string
	StatusCode int
	Retryable  bool
	Message    string
}

func (e *HTTPError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("%s: %s", e.Op, e.Message)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Op, e.StatusCode, e.Message)
}

// IsRetryable reports whether err may succeed if tried again.
func IsRetryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable
	}
	return err != nil
}

func transportError(op string, err error) error {
	// resty's error names the URL, never the headers; keep only the kind.
	return &HTTPError{Op: op, Retryable: true, Message: "transport error: " + errKind(err)}
}

func errKind(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "connection failed"
}
