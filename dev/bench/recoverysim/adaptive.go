package recoverysim

import (
	"math/rand/v2"
	"strconv"
	"time"

	"orderflow/activities"
	"orderflow/recovery"
	"orderflow/store"
)

// adaptiveTimeZone is the simulated merchant's profile time zone: the decline
// model reads its hours and days in UTC, so the profile names UTC.
const adaptiveTimeZone = "UTC"

// adaptiveAlgorithm is orderflow's adaptive timing as the RevenueRecovery
// workflow and the PlanAdaptiveRetry activity run it: the cascading
// schedule's time (recovery.NextRetry), moved within a day and the
// recovery's window to the best slot of the merchant's past retries
// (recovery.PickSlot, recovery.AdaptiveMinSamples), then the jitter. The
// statistics are counted as the activity counts them — the settled retries
// of the last recovery.AdaptiveLookback, as recovery_attempts rows, by
// activities.CountRetries — and, like the worker's cache, recounted at most
// once per activities.AdaptiveStatsTTL.
type adaptiveAlgorithm struct {
	p   recovery.Policy
	loc *time.Location
	// rows are the simulated recovery_attempts: every settled retry, oldest first.
	rows      []store.RecoveryAttempt
	stats     recovery.SlotStats
	countedAt time.Time
	// moved counts the retries PickSlot moved off the cascading time.
	moved int
}

// Adaptive is orderflow's adaptive algorithm with the cascading defaults and jitter.
func Adaptive() Algorithm {
	loc, err := recovery.LoadTimeZone(adaptiveTimeZone)
	if err != nil {
		panic(err) // the tz database is compiled in (package recovery imports time/tzdata)
	}
	return &adaptiveAlgorithm{
		p:   recovery.Policy{Algorithm: recovery.Adaptive, Cascading: recovery.DefaultCascading, MaxJitter: 300 * time.Second, TimeZone: adaptiveTimeZone},
		loc: loc,
	}
}

func (a *adaptiveAlgorithm) Name() string        { return string(a.p.Algorithm) }
func (a *adaptiveAlgorithm) Span() time.Duration { return a.p.Span() }

// Next mirrors the workflow's schedule and adaptiveSlot.
func (a *adaptiveAlgorithm) Next(retriesDone int, last recovery.Decline, startedAt, now time.Time, rnd *rand.Rand) (time.Duration, recovery.Stop) {
	d, stop := recovery.NextRetry(a.p, retriesDone, last)
	if stop != recovery.Continue {
		return 0, stop
	}
	earliest := now.Add(d)
	latest := earliest.Add(recovery.AdaptiveWindow)
	if end := startedAt.Add(a.p.Span()); end.Before(latest) {
		latest = end
	}
	if latest.Before(earliest) {
		latest = earliest
	}
	choice := recovery.PickSlot(a.statsAt(now), last.Class, earliest, latest, a.loc, recovery.AdaptiveMinSamples)
	if choice.Adaptive {
		a.moved++
	}
	return choice.At.Add(jitter(a.p, rnd)).Sub(now), recovery.Continue
}

// Moved is how many retries PickSlot moved off the cascading time.
func (a *adaptiveAlgorithm) Moved() int { return a.moved }

// Observe records a settled retry as the charge activity records it: its
// outcome, when, and the class of the decline it retried.
func (a *adaptiveAlgorithm) Observe(at time.Time, retried recovery.DeclineClass, succeeded bool) {
	status := activities.PaymentFailed
	if succeeded {
		status = activities.PaymentSucceeded
	}
	a.rows = append(a.rows, store.RecoveryAttempt{IdempotencyKey: strconv.Itoa(len(a.rows)), Status: status,
		UpdatedAt: at, RetriedDeclineClass: string(retried)})
}

// statsAt are the statistics the worker's cache holds at now.
func (a *adaptiveAlgorithm) statsAt(now time.Time) recovery.SlotStats {
	if a.stats != nil && now.Sub(a.countedAt) < activities.AdaptiveStatsTTL {
		return a.stats
	}
	since := now.Add(-recovery.AdaptiveLookback)
	first := 0
	for first < len(a.rows) && a.rows[first].UpdatedAt.Before(since) {
		first++
	}
	a.rows = a.rows[first:] // rows arrive in time order: older ones never count again
	a.stats, a.countedAt = activities.CountRetries(a.rows, a.loc), now
	return a.stats
}
