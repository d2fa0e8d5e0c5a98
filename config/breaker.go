package config

import (
	"net/url"
	"time"

	"orderflow/delivery"
)

// Breaker configures the circuit breaker every outgoing webhook destination
// (a CRM webhook, a merchant profile) has, by id (docs/operations.md).
type Breaker struct {
	// FailureThreshold: this many 5xx, 408, 429, timeouts or transport
	// errors in a row open the endpoint, and its deliveries park.
	FailureThreshold int `yaml:"failure_threshold" env:"FAILURE_THRESHOLD"`
	// HalfOpenInterval: an open endpoint lets one probe through this often.
	HalfOpenInterval time.Duration `yaml:"half_open_interval" env:"HALF_OPEN_INTERVAL"`
	// DrainRatePerSecond: parked deliveries are released at most this fast
	// once their endpoint answers 2xx again or is re-enabled.
	DrainRatePerSecond float64 `yaml:"drain_rate_per_second" env:"DRAIN_RATE_PER_SECOND"`
	// DisableAfter: an endpoint failing this long is disabled.
	DisableAfter time.Duration `yaml:"disable_after" env:"DISABLE_AFTER"`
	// OperationsWebhookURL receives an operational event when an endpoint is
	// disabled; empty sends none (the metric and the log line remain). It may
	// carry a token, so it is never logged.
	OperationsWebhookURL string `yaml:"operations_webhook_url" env:"OPERATIONS_WEBHOOK_URL"`
}

// DefaultBreaker opens after 5 failures, probes every 5 minutes, drains 10
// deliveries a second and disables an endpoint failing for 5 days.
func DefaultBreaker() Breaker {
	d := delivery.DefaultBreakerSettings()
	return Breaker{FailureThreshold: d.FailureThreshold, HalfOpenInterval: d.HalfOpenInterval,
		DrainRatePerSecond: d.DrainRatePerSecond, DisableAfter: d.DisableAfter}
}

// Settings are the breaker's knobs as the sender's package takes them.
func (b Breaker) Settings() delivery.BreakerSettings {
	return delivery.BreakerSettings{FailureThreshold: b.FailureThreshold, HalfOpenInterval: b.HalfOpenInterval,
		DrainRatePerSecond: b.DrainRatePerSecond, DisableAfter: b.DisableAfter}
}

func (b Breaker) validate(bad func(key, msg string)) {
	s := b.Settings()
	if s.FailureThreshold <= 0 {
		bad("delivery.breaker.failure_threshold", "must be at least 1")
	}
	positive(bad, "delivery.breaker.half_open_interval", s.HalfOpenInterval)
	if s.DrainRatePerSecond <= 0 {
		bad("delivery.breaker.drain_rate_per_second", "must be above zero")
	}
	positive(bad, "delivery.breaker.disable_after", s.DisableAfter)
	if b.OperationsWebhookURL != "" {
		if u, err := url.Parse(b.OperationsWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("delivery.breaker.operations_webhook_url", "must be an http:// or https:// URL")
		}
	}
}
