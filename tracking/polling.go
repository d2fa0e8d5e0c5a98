package tracking

import (
	"slices"
	"time"
)

// Poll modes of the tracking sweep (sweep.polling.mode).
const (
	// PollUniform polls every active order on every sweep, in _id order.
	PollUniform = "uniform"
	// PollAdaptive polls only the orders whose next poll is due, highest risk
	// first, and stops at the courier's budget of orders per sweep.
	PollAdaptive = "adaptive"
)

// Risk ranks an order for adaptive polling: when a sweep's budget is short,
// higher ranks are polled first. The values are stored on the order
// (poll_risk), so they only ever grow new members, never change meaning.
type Risk int

// Risk ranks, lowest first.
const (
	// RiskSafetyNet: a push source that reports reliably covers the order;
	// polling only catches what it might have missed.
	RiskSafetyNet Risk = 0
	// RiskStable: nothing about to happen (in transit, booked, on its way back).
	RiskStable Risk = 1
	// RiskOutForDelivery: delivered or failed today.
	RiskOutForDelivery Risk = 2
	// RiskFailedAttempt: a delivery attempt failed before (the order was in
	// NDR once): the reattempt decides between delivery and RTO.
	RiskFailedAttempt Risk = 3
	// RiskNDR: undelivered now; the next scan is a reattempt or an RTO, and
	// the first RTO is what the CRM must hear about.
	RiskNDR Risk = 4
)

// Risks lists the ranks highest first: the order a short budget is spent in.
var Risks = []Risk{RiskNDR, RiskFailedAttempt, RiskOutForDelivery, RiskStable, RiskSafetyNet}

// PollingPolicy decides, for adaptive polling, when an order is next polled
// and how it ranks when a sweep's budget is short. It reads only the order's
// own state, so the poll that records a status and the push that reports one
// both write the same answer.
type PollingPolicy struct {
	// Every is the sweep interval: an order a push reported within it is not polled.
	Every time.Duration
	// BackoffBase is the gap after a stable order's status changed; the gap
	// then grows by (BackoffFactor − 1) × the time spent in the status, which
	// is exponential back-off by BackoffFactor per poll, up to MaxGap.
	BackoffBase   time.Duration
	BackoffFactor float64
	MaxGap        time.Duration
	// SafetyNet is the gap between polls of an order a reliable push source covers.
	SafetyNet time.Duration
	// PushCovered lists the push sources that report every status change reliably.
	PushCovered []string
}

// OrderPollState is what the policy reads of an order.
type OrderPollState struct {
	Status      string
	StatusSince time.Time // when the order entered Status (tracking_status_at); zero: unknown
	// FailedAttempt: a delivery attempt failed before (tracking_timestamps.ndr is set).
	FailedAttempt bool
	PushedAt      time.Time // when a push last reported the order; zero: never
	PushSource    string    // the push source that last reported it
}

// PollPlan is the policy's answer: poll the order at the first sweep at or
// after At; Risk ranks it when the budget is short.
type PollPlan struct {
	At   time.Time
	Risk Risk
}

// Plan is the order's next poll, decided at now: a push-covered order is
// polled as a safety net only; an urgent one (NDR, out for delivery, a failed
// attempt) every sweep; any other backs off with the time in its status. In
// every case an order a push reported within the last interval waits out
// that interval.
func (p PollingPolicy) Plan(o OrderPollState, now time.Time) PollPlan {
	plan := PollPlan{At: p.backoff(o, now), Risk: RiskStable}
	if risk, urgent := urgentRisk(o); urgent {
		plan = PollPlan{At: now, Risk: risk}
	}
	if p.pushCovered(o) {
		plan = PollPlan{At: p.safetyNet(o, now), Risk: RiskSafetyNet}
	}
	if skip := p.afterPush(o); skip.After(plan.At) {
		plan.At = skip
	}
	return plan
}

// FirstPlan is the first plan of an order adaptive polling has never
// planned, decided at now from its stored state as a poll would: an order
// stored in NDR ranks with NDR at once. One never tracked (no status yet) is
// due now: nothing is known of it.
func (p PollingPolicy) FirstPlan(o OrderPollState, now time.Time) PollPlan {
	plan := p.Plan(o, now)
	if o.Status == "" {
		plan.At = now
	}
	return plan
}

// urgentRisk is the rule for orders polled every sweep: NDR, out for
// delivery, or a status after a failed delivery attempt (short of a terminal
// one, which leaves the active set anyway).
func urgentRisk(o OrderPollState) (Risk, bool) {
	switch {
	case o.Status == NDR:
		return RiskNDR, true
	case o.FailedAttempt && !IsRTO(o.Status) && !IsReturn(o.Status):
		return RiskFailedAttempt, true
	case o.Status == OutForDelivery:
		return RiskOutForDelivery, true
	}
	return RiskStable, false
}

// backoff is the rule for stable orders: the gap starts at BackoffBase when
// the status changes and grows with the time spent in it, up to MaxGap.
// Polls after a gap g come at t, t + g·f, t + g·f², …; the next gap after time T
// in the status is then base + (f − 1)·T, so the order's own status time is
// all the state the back-off needs. The answer is rounded down by half a
// sweep: a sweep polls an order some time after it starts, and a gap of one
// interval must mean the next sweep, not the one after.
func (p PollingPolicy) backoff(o OrderPollState, now time.Time) time.Time {
	inStatus := time.Duration(0)
	if !o.StatusSince.IsZero() && o.StatusSince.Before(now) {
		inStatus = now.Sub(o.StatusSince)
	}
	gap := p.BackoffBase + time.Duration(max(p.BackoffFactor-1, 0)*float64(inStatus))
	if p.MaxGap > 0 && gap > p.MaxGap {
		gap = p.MaxGap
	}
	return p.roundToSweep(now.Add(gap))
}

// pushCovered is the rule for orders a reliable push source reported: their
// polls are a safety net for a push that got lost.
func (p PollingPolicy) pushCovered(o OrderPollState) bool {
	return !o.PushedAt.IsZero() && slices.Contains(p.PushCovered, o.PushSource)
}

// safetyNet is a push-covered order's next poll: SafetyNet after its last
// push or now, whichever is later.
func (p PollingPolicy) safetyNet(o OrderPollState, now time.Time) time.Time {
	from := now
	if o.PushedAt.After(now) {
		from = o.PushedAt
	}
	return p.roundToSweep(from.Add(p.SafetyNet))
}

// afterPush is the rule for an order a push reported: no poll within one
// sweep interval of the push (zero when it never had one).
func (p PollingPolicy) afterPush(o OrderPollState) time.Time {
	if o.PushedAt.IsZero() {
		return time.Time{}
	}
	return o.PushedAt.Add(p.Every)
}

func (p PollingPolicy) roundToSweep(t time.Time) time.Time {
	return t.Add(-p.Every / 2)
}
