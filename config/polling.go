package config

import (
	"math"
	"time"

	"orderflow/tracking"
)

// Polling chooses which orders a tracking sweep polls. Uniform (the default)
// polls every active order on every sweep; adaptive polls only the orders
// whose next poll is due, highest risk first, within the courier's budget of
// orders per sweep (docs/sweep.md#adaptive-polling).
type Polling struct {
	Mode string `yaml:"mode" env:"MODE"` // tracking.PollUniform or tracking.PollAdaptive
	// BackoffBase is a stable order's gap between polls right after its status
	// changed; it grows by (BackoffFactor − 1) × the time in the status, up to MaxGap.
	BackoffBase   time.Duration `yaml:"backoff_base" env:"BACKOFF_BASE"`
	BackoffFactor float64       `yaml:"backoff_factor" env:"BACKOFF_FACTOR"`
	MaxGap        time.Duration `yaml:"max_gap" env:"MAX_GAP"`
	// SafetyNet is the gap between polls of an order a PushCoveredSources source reported.
	SafetyNet time.Duration `yaml:"safety_net" env:"SAFETY_NET"`
	// PushCoveredSources are the push sources (push webhook names: clickpost,
	// fulfilment, shiprocket, delhivery) trusted to report every change of the orders they report.
	PushCoveredSources []string `yaml:"push_covered_sources" env:"PUSH_COVERED_SOURCES"`
}

// DefaultPolling polls uniformly; the adaptive defaults keep a stable order
// polled at least hourly and trust no push source (pushes are lossy: docs/sweep.md).
func DefaultPolling() Polling {
	return Polling{Mode: tracking.PollUniform, BackoffBase: 8 * time.Minute, BackoffFactor: 1.5,
		MaxGap: time.Hour, SafetyNet: 2 * time.Hour}
}

// Adaptive reports whether sweeps poll adaptively.
func (p Polling) Adaptive() bool { return p.Mode == tracking.PollAdaptive }

// Policy is the adaptive policy for sweeps every `every`.
func (p Polling) Policy(every time.Duration) tracking.PollingPolicy {
	return tracking.PollingPolicy{Every: every, BackoffBase: p.BackoffBase, BackoffFactor: p.BackoffFactor,
		MaxGap: p.MaxGap, SafetyNet: p.SafetyNet, PushCovered: p.PushCoveredSources}
}

// SweepBudget is the orders one sweep may poll through the courier: the poll
// activities its task queue's rate lets through in one sweep interval, each
// of BatchSize orders. The rate limit itself stays the queue's; the budget
// only decides which orders an adaptive sweep leaves for later.
func (c Courier) SweepBudget(maxPerCall int, every time.Duration) int {
	activities := math.Floor(c.ActivitiesPerSecond(maxPerCall) * every.Seconds())
	return max(int(activities), 1) * max(c.BatchSize, 1)
}

func (p Polling) validate(bad func(key, msg string)) {
	if p.Mode != tracking.PollUniform && p.Mode != tracking.PollAdaptive {
		bad("sweep.polling.mode", "must be uniform or adaptive")
	}
	positive(bad, "sweep.polling.backoff_base", p.BackoffBase)
	if p.BackoffFactor < 1 || math.IsNaN(p.BackoffFactor) || math.IsInf(p.BackoffFactor, 0) {
		bad("sweep.polling.backoff_factor", "must be at least 1 (1: no back-off)")
	}
	positive(bad, "sweep.polling.max_gap", p.MaxGap)
	if p.MaxGap < p.BackoffBase {
		bad("sweep.polling.max_gap", "must be at least sweep.polling.backoff_base")
	}
	positive(bad, "sweep.polling.safety_net", p.SafetyNet)
	for _, s := range p.PushCoveredSources {
		if s == "" {
			bad("sweep.polling.push_covered_sources", "must not hold an empty name")
		}
	}
}
