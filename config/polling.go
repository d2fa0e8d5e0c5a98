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
	// BudgetShare is the share of the courier's rate over one sweep interval an
	// adaptive sweep hands out (0 < share ≤ 1): below 1, a sweep's polls finish
	// inside its interval even when its reads and batches take their time, so
	// the Schedule does not skip the next sweep.
	BudgetShare float64 `yaml:"budget_share" env:"BUDGET_SHARE"`
}

// DefaultPolling polls uniformly; the adaptive defaults keep a stable order
// polled at least hourly and trust no push source (pushes are lossy: docs/sweep.md).
func DefaultPolling() Polling {
	return Polling{Mode: tracking.PollUniform, BackoffBase: 8 * time.Minute, BackoffFactor: 1.5,
		MaxGap: time.Hour, SafetyNet: 2 * time.Hour, BudgetShare: 0.9}
}

// Adaptive reports whether sweeps poll adaptively.
func (p Polling) Adaptive() bool { return p.Mode == tracking.PollAdaptive }

// Policy is the adaptive policy for sweeps every `every`.
func (p Polling) Policy(every time.Duration) tracking.PollingPolicy {
	return tracking.PollingPolicy{Every: every, BackoffBase: p.BackoffBase, BackoffFactor: p.BackoffFactor,
		MaxGap: p.MaxGap, SafetyNet: p.SafetyNet, PushCovered: p.PushCoveredSources}
}

// SweepBudget is the orders one sweep may poll through the courier: share
// (sweep.polling.budget_share; 1 for the whole) of the poll activities its
// task queue's rate lets through in one sweep interval, each of BatchSize
// orders. The share applies to activities, not orders: a partial batch costs
// a whole activity of the rate. The rate limit itself stays the queue's; the
// budget only decides which orders an adaptive sweep leaves for later.
func (c Courier) SweepBudget(maxPerCall int, every time.Duration, share float64) int {
	activities := math.Floor(c.ActivitiesPerSecond(maxPerCall) * every.Seconds() * share)
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
	if !(p.BudgetShare > 0 && p.BudgetShare <= 1) { // NaN fails too
		bad("sweep.polling.budget_share", "must be more than 0 and at most 1 (the share of the courier's rate per sweep interval)")
	}
	for _, s := range p.PushCoveredSources {
		if s == "" {
			bad("sweep.polling.push_covered_sources", "must not hold an empty name")
		}
	}
}
