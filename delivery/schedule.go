package delivery

import (
	"math"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Schedule is when a failed delivery is tried again. Temporal's activity
// retry runs the retries; the schedule decides each wait, which the sender
// hands back as the error's NextRetryDelay. It has one of two shapes:
//
//   - a list of delays (Delays set): the wait after failed attempt n is
//     Delays[n-1], and after the last one the delivery gives up;
//   - exponential back-off (Delays empty): Initial × Coefficient^(n-1),
//     capped at Max, without end (the activity's ScheduleToClose bounds it).
//
// Window, when set, ends either shape early: no try is scheduled that would
// start later than Window after the delivery was first scheduled.
type Schedule struct {
	Delays      []time.Duration
	Initial     time.Duration
	Coefficient float64
	Max         time.Duration
	Window      time.Duration
}

// Backoff is an endless exponential schedule, computed the way Temporal's
// retry policy computes its intervals.
func Backoff(initial time.Duration, coefficient float64, max time.Duration) Schedule {
	return Schedule{Initial: initial, Coefficient: coefficient, Max: max}
}

// Delays is a schedule that waits each delay in turn, then gives up.
func Delays(d ...time.Duration) Schedule {
	return Schedule{Delays: append([]time.Duration(nil), d...)}
}

// After returns the wait after failed attempt n (counted from 1), and false
// when the schedule has no more tries.
func (s Schedule) After(n int) (time.Duration, bool) {
	if n < 1 {
		n = 1
	}
	if len(s.Delays) > 0 {
		if n > len(s.Delays) {
			return 0, false
		}
		return s.Delays[n-1], true
	}
	d := float64(s.Initial) * math.Pow(s.Coefficient, float64(n-1))
	if s.Max > 0 && (d > float64(s.Max) || math.IsInf(d, 0) || math.IsNaN(d)) {
		return s.Max, true
	}
	if d >= math.MaxInt64 {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(d), true
}

// WithWindow is s bounded by a retry window.
func (s Schedule) WithWindow(w time.Duration) Schedule {
	s.Window = w
	return s
}

// Next is After bounded by the window: the wait after failed attempt n of a
// delivery first scheduled elapsed ago, and false when the schedule has no
// more tries or the next one would start past the window.
func (s Schedule) Next(n int, elapsed time.Duration) (time.Duration, bool) {
	d, more := s.After(n)
	if !more || s.Window <= 0 {
		return d, more
	}
	return d, elapsed+d <= s.Window
}

// RetryPolicy is the activity retry policy that runs s. Failures the sender
// never sees (a worker dying, a heartbeat or start-to-close timeout) retry
// on its intervals; for a list, on the first delay. Giving up on a list is
// the sender's non-retryable error, so the policy sets no attempt limit.
func (s Schedule) RetryPolicy(nonRetryableErrorTypes ...string) *temporal.RetryPolicy {
	p := &temporal.RetryPolicy{
		InitialInterval:        s.Initial,
		BackoffCoefficient:     s.Coefficient,
		MaximumInterval:        s.Max,
		NonRetryableErrorTypes: nonRetryableErrorTypes,
	}
	if len(s.Delays) > 0 {
		p.InitialInterval, p.BackoffCoefficient, p.MaximumInterval = s.Delays[0], 1, 0
	}
	return p
}
