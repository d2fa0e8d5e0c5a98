package delivery

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Outcomes of a delivery, as the counters label them.
const (
	Delivered = "delivered" // a 2xx
	Retryable = "retryable" // failed; the schedule has another try
	Rejected  = "rejected"  // a final 4xx: trying again would get the same answer
	GivenUp   = "given_up"  // failed, and the schedule has no more tries
)

// Channel is one kind of receiver: how its answers are judged, when it is
// tried again, the error types its workflow's retry policy knows and the
// counters it feeds.
type Channel struct {
	// Name says whose webhook this is in errors ("merchant webhook").
	Name  string
	Retry Schedule
	// RetryEveryFailure retries every non-2xx answer, as Hyperswitch does with
	// merchant webhooks. Without it, a 4xx other than 401, 408 and 429 (and a
	// 3xx, never followed) is final.
	RetryEveryFailure bool
	// HonourRetryAfter lets a 429's Retry-After replace the schedule's wait.
	HonourRetryAfter bool
	Errors           ErrorTypes
	Metrics          Metrics
}

// ErrorTypes are the Temporal application error types of a channel's failures.
type ErrorTypes struct {
	Retryable string // retried after the schedule's delay
	Rejected  string // non-retryable: a final 4xx
	GaveUp    string // non-retryable: the schedule is exhausted
}

// Metrics are the counters a channel feeds; nil fields are skipped.
type Metrics struct {
	// Outcomes counts deliveries (one per Deliver) with labels (event, outcome).
	Outcomes *prometheus.CounterVec
	// Latency observes every POST's latency in seconds.
	Latency prometheus.Observer
}

// Result is a delivered webhook: the receiver's 2xx and every POST made.
type Result struct {
	StatusCode int
	Attempts   []Attempt
}

// Deliver POSTs m to a receiver of ch, logs every POST through m.Log,
// counts the outcome and returns the error Temporal's retry acts on: nil on
// a 2xx; a ch.Errors.Retryable error whose NextRetryDelay is the schedule's
// wait (or a 429's Retry-After); a non-retryable ch.Errors.Rejected for a
// final 4xx, whose details hold the status code; a non-retryable
// ch.Errors.GaveUp once the schedule has no more tries.
func (s *Sender) Deliver(ctx context.Context, ch Channel, m Message) (Result, error) {
	x := s.send(ctx, m)
	if m.Log != nil && len(x.attempts) > 0 {
		if err := m.Log.Record(ctx, x.attempts); err != nil {
			// The POST happened: losing its log line must not make us POST
			// again only to log it, so this is logged and not returned.
			logError(ctx, "recording webhook attempts failed", "channel", ch.Name, "event", m.Event, "error", err)
		}
	}
	outcome, err := ch.judge(m.Attempt, x)
	ch.Metrics.observe(m.Event, outcome, x.attempts)
	if err != nil {
		return Result{}, err
	}
	return Result{StatusCode: x.last().StatusCode, Attempts: x.attempts}, nil
}

// judge turns what the POSTs gave into an outcome and the activity's error.
func (ch Channel) judge(attempt int, x exchange) (string, error) {
	var code int
	var reason string
	switch {
	case x.prepErr != nil:
		reason = x.prepErr.Error()
	case x.last().OK():
		return Delivered, nil
	default:
		code, reason = x.last().StatusCode, x.last().Error
	}
	if x.prepErr == nil && ch.final(code) {
		return Rejected, temporal.NewNonRetryableApplicationError(reason, ch.Errors.Rejected, nil, code)
	}
	delay, more := ch.Retry.After(attempt)
	if !more {
		return GivenUp, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s not accepted after %d attempts: %s", ch.Name, attempt, reason), ch.Errors.GaveUp, nil, code)
	}
	if ch.HonourRetryAfter && x.prepErr == nil && x.retryAfter > 0 && code == http.StatusTooManyRequests {
		delay = x.retryAfter
	}
	return Retryable, temporal.NewApplicationErrorWithOptions(reason, ch.Errors.Retryable,
		temporal.ApplicationErrorOptions{NextRetryDelay: delay, Details: []any{code}})
}

// final reports an answer that trying again would not change: a 3xx (never
// followed) or a 4xx other than 401 (credentials may be renewed), 408 and
// 429. No answer (code 0) and 5xx are never final.
func (ch Channel) final(code int) bool {
	if ch.RetryEveryFailure || code == 0 || code >= 500 {
		return false
	}
	switch code {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return true
}

func (m Metrics) observe(event, outcome string, attempts []Attempt) {
	if m.Latency != nil {
		for _, at := range attempts {
			m.Latency.Observe(at.Latency.Seconds())
		}
	}
	if m.Outcomes != nil {
		m.Outcomes.WithLabelValues(event, outcome).Inc()
	}
}

// logError logs through the activity's logger; outside an activity (unit
// tests) there is none and the line is dropped.
func logError(ctx context.Context, msg string, keyvals ...any) {
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Error(msg, keyvals...)
	}
}
