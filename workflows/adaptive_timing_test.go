package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"orderflow/activities"
	"orderflow/recovery"
	"orderflow/store"
)

// seededRetries are a profile's past retries as the store would list them.
type seededRetries struct {
	mu    sync.Mutex
	rows  []store.RecoveryAttempt
	reads int
}

func (s *seededRetries) ProfileRetriesSince(_ context.Context, profileID string, _ time.Time) ([]store.RecoveryAttempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if profileID != testProfileID {
		return nil, nil
	}
	return s.rows, nil
}

// seed adds n retries after a decline of class, made at local (a time in
// the profile's zone), ok of them successful.
func (s *seededRetries) seed(class recovery.DeclineClass, local time.Time, n, ok int) {
	for i := range n {
		status := activities.PaymentFailed
		if i < ok {
			status = activities.PaymentSucceeded
		}
		s.rows = append(s.rows, store.RecoveryAttempt{WorkflowID: "past", Attempt: len(s.rows) + 1, ProfileID: testProfileID,
			Status: status, UpdatedAt: local.UTC(), RetriedDeclineClass: string(class)})
	}
}

// adaptiveFixture is a recovery under the adaptive algorithm in India's time
// zone whose first failure arrives at 10:00 IST on 30 April; the cascading
// schedule would retry at 13:00 IST.
func adaptiveFixture(t *testing.T) (*recoveryFixture, *seededRetries, *time.Location) {
	t.Helper()
	ist, err := recovery.LoadTimeZone("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	f := newRecoveryFixture(t)
	past := &seededRetries{}
	f.acts.PastRetries = past
	f.env.SetStartTime(time.Date(2026, time.April, 30, 10, 0, 0, 0, ist))
	f.in.Policy = recovery.Policy{Algorithm: recovery.Adaptive, TimeZone: "Asia/Kolkata", MaxRetryCount: 5,
		Cascading: recovery.CascadingSchedule{StartAfter: time.Minute, Frequencies: []recovery.Frequency{{Delay: 3 * time.Hour, Count: 5}}}}
	f.signalAt(0, failure("ev_1")) // insufficient_funds
	return f, past, ist
}

// ourRetries are the recovery's own attempts in its state.
func ourRetries(v RecoveryView) []RecoveryAttemptRecord {
	var out []RecoveryAttemptRecord
	for _, a := range v.State.Attempts {
		if a.TriggeredBy == recovery.Internal {
			out = append(out, a)
		}
	}
	return out
}

// With enough past retries after insufficient funds, the retry waits for
// the best slot of the day after the cascading time (09:00 on the 1st,
// payday), and the query says why.
func TestAdaptiveRecoveryRetriesAtTheBestSlot(t *testing.T) {
	f, past, ist := adaptiveFixture(t)
	past.seed(recovery.InsufficientFunds, time.Date(2026, time.March, 1, 9, 0, 0, 0, ist), 212, 87)   // 41 %
	past.seed(recovery.InsufficientFunds, time.Date(2026, time.March, 30, 15, 0, 0, 0, ist), 100, 30) // 30 %
	past.seed(recovery.Soft, time.Date(2026, time.March, 30, 14, 0, 0, 0, ist), 100, 95)              // other class
	var waiting RecoveryView
	f.env.RegisterDelayedCallback(func() { waiting = f.query() }, time.Minute)
	res := f.run()

	want := time.Date(2026, time.May, 1, 9, 0, 0, 0, ist)
	choice := waiting.State.RetryTiming
	if choice == nil || !choice.Adaptive || !choice.At.Equal(want) || waiting.State.NextRetryAt == nil || !waiting.State.NextRetryAt.Equal(want) {
		t.Fatalf("while waiting: timing %+v, next retry %v; want %v", choice, waiting.State.NextRetryAt, want)
	}
	if choice.Explanation != "slot 09:00 IST, day 1: 41 % of 212 past attempts" || choice.Class != string(recovery.InsufficientFunds) {
		t.Errorf("explanation %q (class %q)", choice.Explanation, choice.Class)
	}
	if res.Status != RecoverySucceededInternal || res.RetryCount != 1 {
		t.Fatalf("result %+v", res)
	}
	retries := ourRetries(f.query())
	if len(retries) != 1 || !retries[0].At.Equal(want) {
		t.Errorf("our retries %+v, want one at %v", retries, want)
	}
	for _, a := range f.store.attempts {
		if a.RetriedDeclineClass != string(recovery.InsufficientFunds) {
			t.Errorf("attempt recorded with retried_decline_class %q", a.RetriedDeclineClass)
		}
	}
}

// Below the threshold in every slot of the window, the retry keeps the
// cascading schedule's time and the query says it did.
func TestAdaptiveRecoveryFallsBackToCascadingWithThinData(t *testing.T) {
	f, past, ist := adaptiveFixture(t)
	past.seed(recovery.InsufficientFunds, time.Date(2026, time.March, 1, 9, 0, 0, 0, ist), recovery.AdaptiveMinSamples-1, recovery.AdaptiveMinSamples-1)
	var waiting RecoveryView
	f.env.RegisterDelayedCallback(func() { waiting = f.query() }, time.Minute)
	res := f.run()

	want := time.Date(2026, time.April, 30, 13, 0, 0, 0, ist)
	choice := waiting.State.RetryTiming
	if choice == nil || choice.Adaptive || !choice.At.Equal(want) || !strings.HasPrefix(choice.Explanation, "cascading schedule:") {
		t.Fatalf("while waiting: timing %+v; want the cascading time %v", choice, want)
	}
	retries := ourRetries(f.query())
	if res.Status != RecoverySucceededInternal || len(retries) != 1 || !retries[0].At.Equal(want) {
		t.Errorf("result %+v, retries %+v; want one at %v", res, retries, want)
	}
}
