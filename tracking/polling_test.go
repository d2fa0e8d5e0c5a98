package tracking

import (
	"slices"
	"testing"
	"time"
)

var (
	pollNow    = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	testPolicy = PollingPolicy{Every: 8 * time.Minute, BackoffBase: 8 * time.Minute, BackoffFactor: 1.5,
		MaxGap: time.Hour, SafetyNet: 2 * time.Hour, PushCovered: []string{"fulfilment"}}
)

// dueAtNextSweep: the first sweep after a poll at pollNow (one interval later) polls it.
func dueAtNextSweep(p PollPlan) bool { return !p.At.After(pollNow.Add(testPolicy.Every)) }

func TestNDRIsPolledEverySweep(t *testing.T) {
	p := testPolicy.Plan(OrderPollState{Status: NDR, StatusSince: pollNow.Add(-48 * time.Hour)}, pollNow)
	if !p.At.Equal(pollNow) || p.Risk != RiskNDR {
		t.Errorf("an order two days in NDR: %+v, want due now at risk %d", p, RiskNDR)
	}
}

func TestOutForDeliveryIsPolledEverySweep(t *testing.T) {
	p := testPolicy.Plan(OrderPollState{Status: OutForDelivery, StatusSince: pollNow.Add(-6 * time.Hour)}, pollNow)
	if !p.At.Equal(pollNow) || p.Risk != RiskOutForDelivery {
		t.Errorf("an order out for delivery since the morning: %+v, want due now at risk %d", p, RiskOutForDelivery)
	}
}

func TestFailedAttemptIsPolledEverySweep(t *testing.T) {
	p := testPolicy.Plan(OrderPollState{Status: InTransit, StatusSince: pollNow.Add(-24 * time.Hour), FailedAttempt: true}, pollNow)
	if !p.At.Equal(pollNow) || p.Risk != RiskFailedAttempt {
		t.Errorf("an order back in transit after a failed attempt: %+v, want due now at risk %d", p, RiskFailedAttempt)
	}
	// On its way back to the seller the failed attempt no longer decides anything.
	if p := testPolicy.Plan(OrderPollState{Status: RTOInTransit, StatusSince: pollNow.Add(-24 * time.Hour), FailedAttempt: true}, pollNow); p.Risk != RiskStable {
		t.Errorf("an RTO in transit after a failed attempt: %+v, want the stable back-off", p)
	}
}

// An order never planned is planned from its stored state as a poll would
// plan it; one never tracked is due at once.
func TestNeverPlannedOrderIsPlannedFromItsStoredState(t *testing.T) {
	for _, o := range []OrderPollState{
		{Status: NDR, StatusSince: pollNow.Add(-48 * time.Hour)},
		{Status: InTransit, StatusSince: pollNow.Add(-2 * time.Hour)},
		{Status: InTransit, StatusSince: pollNow.Add(-time.Hour), PushedAt: pollNow.Add(-time.Hour), PushSource: "fulfilment"},
	} {
		if got, want := testPolicy.FirstPlan(o, pollNow), testPolicy.Plan(o, pollNow); got != want {
			t.Errorf("%+v: first plan %+v, want a poll's %+v", o, got, want)
		}
	}
	if p := testPolicy.FirstPlan(OrderPollState{}, pollNow); !p.At.Equal(pollNow) || p.Risk != RiskStable {
		t.Errorf("an order never tracked: %+v, want due now at risk %d", p, RiskStable)
	}
}

func TestStableInTransitBacksOffUpToTheMaxGap(t *testing.T) {
	var gaps []time.Duration
	for _, inStatus := range []time.Duration{0, 16 * time.Minute, time.Hour, 2 * time.Hour, 72 * time.Hour} {
		p := testPolicy.Plan(OrderPollState{Status: InTransit, StatusSince: pollNow.Add(-inStatus)}, pollNow)
		if p.Risk != RiskStable {
			t.Fatalf("in transit for %v: risk %d", inStatus, p.Risk)
		}
		gaps = append(gaps, p.At.Sub(pollNow))
	}
	// base + (factor − 1) × time in status, less half a sweep, capped at the max gap less half a sweep.
	half := testPolicy.Every / 2
	want := []time.Duration{8*time.Minute - half, 16*time.Minute - half, 38*time.Minute - half, time.Hour - half, time.Hour - half}
	if !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
	if !dueAtNextSweep(testPolicy.Plan(OrderPollState{Status: InTransit, StatusSince: pollNow}, pollNow)) {
		t.Error("an order whose status just changed must be polled at the next sweep")
	}
}

func TestOrderAPushReportedWithinTheIntervalIsSkipped(t *testing.T) {
	pushed := pollNow.Add(-3 * time.Minute)
	p := testPolicy.Plan(OrderPollState{Status: NDR, PushedAt: pushed, PushSource: "clickpost"}, pollNow)
	if want := pushed.Add(testPolicy.Every); !p.At.Equal(want) || p.Risk != RiskNDR {
		t.Errorf("NDR pushed 3 min ago: %+v, want not before %v, still at risk %d", p, want, RiskNDR)
	}
	// A push older than the interval no longer holds the poll back.
	if p := testPolicy.Plan(OrderPollState{Status: NDR, PushedAt: pollNow.Add(-time.Hour), PushSource: "clickpost"}, pollNow); !p.At.Equal(pollNow) {
		t.Errorf("NDR pushed an hour ago: %+v, want due now", p)
	}
}

func TestPushCoveredOrderIsPolledAsASafetyNetOnly(t *testing.T) {
	pushed := pollNow.Add(-time.Minute)
	for _, status := range []string{NDR, OutForDelivery, InTransit} {
		p := testPolicy.Plan(OrderPollState{Status: status, PushedAt: pushed, PushSource: "fulfilment"}, pollNow)
		if want := pollNow.Add(testPolicy.SafetyNet - testPolicy.Every/2); !p.At.Equal(want) || p.Risk != RiskSafetyNet {
			t.Errorf("%s reported by a covering push source: %+v, want %v at risk %d", status, p, want, RiskSafetyNet)
		}
	}
	// A source not listed as covering is only the recent-push rule.
	if p := testPolicy.Plan(OrderPollState{Status: NDR, PushedAt: pushed, PushSource: "clickpost"}, pollNow); p.Risk != RiskNDR {
		t.Errorf("a push from an uncovered source: %+v", p)
	}
}

// When a sweep's budget is short it is spent tier by tier in Risks' order:
// that order must rank every rule's risk, highest first.
func TestShortBudgetIsSpentOnTheHighestRiskFirst(t *testing.T) {
	want := []Risk{RiskNDR, RiskFailedAttempt, RiskOutForDelivery, RiskStable, RiskSafetyNet}
	if !slices.Equal(Risks, want) {
		t.Fatalf("Risks = %v, want %v", Risks, want)
	}
	if !slices.IsSortedFunc(Risks, func(a, b Risk) int { return int(b - a) }) {
		t.Errorf("Risks %v are not highest first", Risks)
	}
}
