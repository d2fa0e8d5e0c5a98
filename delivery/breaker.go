package delivery

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Breaker states of a destination (a CRM webhook or a merchant profile, by
// id, never by URL: fixing a typo in the URL keeps what was parked).
const (
	// BreakerClosed: deliveries go out.
	BreakerClosed = "closed"
	// BreakerOpen: deliveries park; one probe goes out each half-open interval.
	BreakerOpen = "open"
	// BreakerHalfOpen: an open endpoint whose probe is out (metrics and API only).
	BreakerHalfOpen = "half_open"
	// BreakerDisabled: deliveries park until an operator re-enables it.
	BreakerDisabled = "disabled"
)

// BreakerStates lists every state, in the order the metrics export them.
var BreakerStates = []string{BreakerClosed, BreakerOpen, BreakerHalfOpen, BreakerDisabled}

// Verdict is what one delivery's answer says about its endpoint's health.
type Verdict int

// Verdicts.
const (
	// Neutral: nothing about the endpoint's health — a 4xx other than 408,
	// 410 and 429 (the receiver is up and judged this one message), a 3xx,
	// or no POST at all (credentials or signing failed before it).
	Neutral Verdict = iota
	// Healthy: a 2xx.
	Healthy
	// Failing: a 5xx, 408, 429, a timeout or a transport error.
	Failing
	// Gone: a 410, which disables the endpoint at once.
	Gone
)

// Judge reads the endpoint's health from a delivery's POSTs: the last one
// decides (the first may be a 401 answered again with fresh credentials).
func Judge(attempts []Attempt) Verdict {
	if len(attempts) == 0 {
		return Neutral
	}
	return judgeCode(attempts[len(attempts)-1].StatusCode)
}

// judgeCode is Judge for one answer; 0 means no answer came (a timeout or a
// transport error).
func judgeCode(code int) Verdict {
	switch {
	case is2xx(code):
		return Healthy
	case code == 0, code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return Failing
	case code == http.StatusGone:
		return Gone
	}
	return Neutral
}

// BreakerSettings are the circuit breaker's knobs, the same for every destination.
type BreakerSettings struct {
	// FailureThreshold is how many failures in a row open an endpoint.
	FailureThreshold int
	// HalfOpenInterval is how often an open endpoint lets one probe through.
	HalfOpenInterval time.Duration
	// DrainRatePerSecond is how fast parked deliveries are released once the
	// endpoint answers 2xx again (or is re-enabled).
	DrainRatePerSecond float64
	// DisableAfter disables an endpoint that has been failing this long.
	DisableAfter time.Duration
}

// DefaultBreakerSettings are the settings when the configuration says nothing.
func DefaultBreakerSettings() BreakerSettings {
	return BreakerSettings{FailureThreshold: 5, HalfOpenInterval: 5 * time.Minute, DrainRatePerSecond: 10, DisableAfter: 5 * 24 * time.Hour}
}

// Validate names each setting of zero or below, with prefix before its
// name ("delivery.breaker." for the configuration).
func (s BreakerSettings) Validate(prefix string) error {
	var errs []error
	if s.FailureThreshold <= 0 {
		errs = append(errs, fmt.Errorf("%sfailure_threshold: must be at least 1", prefix))
	}
	if s.HalfOpenInterval <= 0 {
		errs = append(errs, fmt.Errorf("%shalf_open_interval: must be a positive duration such as 5m", prefix))
	}
	if s.DrainRatePerSecond <= 0 {
		errs = append(errs, fmt.Errorf("%sdrain_rate_per_second: must be above zero", prefix))
	}
	if s.DisableAfter <= 0 {
		errs = append(errs, fmt.Errorf("%sdisable_after: must be a positive duration such as 120h", prefix))
	}
	return errors.Join(errs...)
}

// Opens reports whether failures in a row open an endpoint.
func (s BreakerSettings) Opens(failures int) bool { return failures >= s.FailureThreshold }

// Expired reports whether an endpoint failing since since is to be disabled at now.
func (s BreakerSettings) Expired(since, now time.Time) bool {
	return !since.IsZero() && now.Sub(since) >= s.DisableAfter
}
