package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"orderflow/delivery"
	"orderflow/store"
)

// Parking is what a parkable delivery's activity is told by its workflow
// (the endpoint breaker's parking loop, workflows/endpoint_breaker.go). Both
// delivery inputs embed it, so its JSON fields sit flat in each input.
type Parking struct {
	// Parkable lets the delivery park behind an unhealthy endpoint;
	// workflows set it only behind their patch, so runs started before it
	// never see a parked result.
	Parkable bool `json:"parkable,omitempty"`
	// Resumed: the delivery parked before and goes on now; Released: the
	// endpoint's drain let it through (older parked deliveries went first).
	Resumed  bool `json:"resumed,omitempty"`
	Released bool `json:"released,omitempty"`
	// AttemptsBefore and WindowUsed are what the delivery spent before it
	// last parked: its schedule goes on from there, and the time parked
	// counts against neither.
	AttemptsBefore int           `json:"attempts_before,omitempty"`
	WindowUsed     time.Duration `json:"window_used,omitempty"`
}

// ParkOutcome says a parkable delivery parked: why, when to look again and
// what it spent meanwhile. Both delivery results embed it.
type ParkOutcome struct {
	Parked     bool          `json:"parked,omitempty"`
	ParkReason string        `json:"park_reason,omitempty"`
	RecheckIn  time.Duration `json:"recheck_in,omitempty"`
	// AttemptsSpent and WindowSpent are this activity's share, for the next
	// run's AttemptsBefore and WindowUsed. A probe's POST spends no attempt.
	AttemptsSpent int           `json:"attempts_spent,omitempty"`
	WindowSpent   time.Duration `json:"window_spent,omitempty"`
}

// park records that a delivery waits behind its endpoint and tells the
// workflow when to look again. spent is the attempts this activity used
// (not the one that found the endpoint shut, nor a probe).
func (e *Endpoints) park(ctx context.Context, records *DeliveryRecords, rec store.DeliveryRecord, v verdict, spent int, attempts []delivery.Attempt) ParkOutcome {
	reason := v.reason
	if v.detail != "" {
		reason += ": " + v.detail
	}
	records.park(ctx, rec, reason, attempts)
	e.parked(rec.Kind, rec.DestinationID, v.reason)
	res := ParkOutcome{Parked: true, ParkReason: reason, RecheckIn: v.wait, AttemptsSpent: max(spent, 0)}
	if activity.IsActivity(ctx) {
		res.WindowSpent = max(time.Since(activity.GetInfo(ctx).ScheduledTime), 0)
	}
	return res
}

// attemptsSpent is what an activity's attempt spent of its delivery's
// schedule: a probe's POST is not counted.
func attemptsSpent(attempt int, probe bool) int {
	if probe {
		return attempt - 1
	}
	return attempt
}
