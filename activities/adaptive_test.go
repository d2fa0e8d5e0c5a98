package activities

import (
	"context"
	"testing"
	"time"

	"orderflow/recovery"
	"orderflow/store"
)

type countingRetries struct {
	rows  []store.RecoveryAttempt
	reads int
}

func (c *countingRetries) ProfileRetriesSince(context.Context, string, time.Time) ([]store.RecoveryAttempt, error) {
	c.reads++
	return c.rows, nil
}

// A retry's class is the one recorded with it, else the decline of the
// recovery's retry before it; unsettled retries and retries of unknown class
// are not counted.
func TestCountRetriesClassesEachRetryByTheDeclineItFollowed(t *testing.T) {
	utc := time.UTC
	at := time.Date(2026, time.March, 1, 9, 30, 0, 0, utc)
	rows := []store.RecoveryAttempt{
		{WorkflowID: "wf1", Attempt: 1, Status: PaymentFailed, DeclineCode: "insufficient_funds", UpdatedAt: at}, // class unknown: not counted
		{WorkflowID: "wf1", Attempt: 2, Status: PaymentSucceeded, UpdatedAt: at},                                 // follows insufficient_funds
		{WorkflowID: "wf2", Attempt: 1, Status: PaymentFailed, ErrorCode: "card_declined", UpdatedAt: at, RetriedDeclineClass: "transient"},
		{WorkflowID: "wf2", Attempt: 2, Status: PaymentProcessing, UpdatedAt: at, RetriedDeclineClass: "soft"}, // unsettled
	}
	stats := CountRetries(rows, utc)
	if got := stats[recovery.SlotKey{Class: recovery.InsufficientFunds, Hour: 9, Day: 1}]; got != (recovery.SlotCount{Attempts: 1, Successes: 1}) {
		t.Errorf("insufficient_funds cell %+v", got)
	}
	if got := stats[recovery.SlotKey{Class: recovery.Transient, Hour: 9, Day: 1}]; got != (recovery.SlotCount{Attempts: 1}) {
		t.Errorf("transient cell %+v", got)
	}
	if len(stats) != 2 {
		t.Errorf("stats %+v, want two cells", stats)
	}
}

// The statistics are read once per profile and zone for AdaptiveStatsTTL.
func TestPlanAdaptiveRetryCachesTheStatistics(t *testing.T) {
	now := time.Date(2026, time.April, 30, 4, 30, 0, 0, time.UTC)
	past := &countingRetries{}
	r := &Recovery{PastRetries: past, Now: func() time.Time { return now }}
	in := AdaptiveRetryInput{ProfileID: "p1", DeclineClass: recovery.Soft, Earliest: now, Latest: now.Add(recovery.AdaptiveWindow)}
	for range 2 {
		got, err := r.PlanAdaptiveRetry(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Adaptive || !got.At.Equal(now) {
			t.Errorf("with no statistics: %+v", got)
		}
	}
	if past.reads != 1 {
		t.Errorf("%d reads within the TTL, want 1", past.reads)
	}
	now = now.Add(AdaptiveStatsTTL)
	if _, err := r.PlanAdaptiveRetry(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if past.reads != 2 {
		t.Errorf("%d reads after the TTL, want 2", past.reads)
	}
	in.TimeZone = "Mars/Olympus_Mons"
	if _, err := r.PlanAdaptiveRetry(context.Background(), in); err == nil {
		t.Error("an unknown time zone planned a retry")
	}
}
