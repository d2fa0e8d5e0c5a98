package delivery

import (
	"context"
	"fmt"
	"net/http"
	"time"

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
	Name string
	// Kind labels the per-destination metrics (crm_webhook, merchant_webhook).
	Kind  string
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
	GaveUp    string // non-retryable: the schedule or its window is exhausted
}

// Metrics are the counters a channel feeds; nil fields are skipped.
type Metrics struct {
	// Outcomes counts deliveries (one per Deliver) with labels (event, outcome).
	Outcomes *prometheus.CounterVec
	// Latency observes every POST's latency in seconds.
	Latency prometheus.Observer
	// Destinations counts deliveries per destination with labels (kind,
	// destination_id, outcome): the destination's id, never its URL, which
	// can carry a token.
	Destinations *prometheus.CounterVec
	// DestinationLatency observes every POST's latency in seconds with
	// labels (kind, destination_id).
	DestinationLatency prometheus.ObserverVec
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
	if m.Retry != nil {
		ch.Retry = *m.Retry
	}
	outcome, err := ch.judge(m.Attempt, s.elapsed(m), x)
	ch.Metrics.observe(ch.Kind, m, outcome, x.attempts)
	if err != nil {
		return Result{}, err
	}
	return Result{StatusCode: x.last().StatusCode, Attempts: x.attempts}, nil
}

// elapsed is how long ago the delivery was first scheduled; zero when the
// message does not say, which leaves the schedule's window unchecked.
func (s *Sender) elapsed(m Message) time.Duration {
	if m.FirstScheduled.IsZero() {
		return 0
	}
	return s.now().Sub(m.FirstScheduled)
}

// judge turns what the POSTs gave into an outcome and the activity's error.
func (ch Channel) judge(attempt int, elapsed time.Duration, x exchange) (string, error) {
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
	delay, more := ch.Retry.Next(attempt, elapsed)
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

func (m Metrics) observe(kind string, msg Message, outcome string, attempts []Attempt) {
	for _, at := range attempts {
		if m.Latency != nil {
			m.Latency.Observe(at.Latency.Seconds())
		}
		if m.DestinationLatency != nil && msg.DestinationID != "" {
			m.DestinationLatency.WithLabelValues(kind, msg.DestinationID).Observe(at.Latency.Seconds())
		}
	}
	if m.Outcomes != nil {
		m.Outcomes.WithLabelValues(msg.Event, outcome).Inc()
	}
	if m.Destinations != nil && msg.DestinationID != "" {
		m.Destinations.WithLabelValues(kind, msg.DestinationID, outcome).Inc()
	}
}

// logError logs through the activity's logger; outside an activity (unit
// tests) there is none and the line is dropped.
func logError(ctx context.Context, msg string, keyvals ...any) {
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Error(msg, keyvals...)
	}
}
