package recovery

import (
	"errors"
	"fmt"
	"time"
)

// Algorithm is a business profile's revenue_recovery_retry_algorithm_type.
type Algorithm string

// The algorithms of Hyperswitch.
const (
	// Monitoring records billing events and never retries.
	Monitoring Algorithm = "monitoring"
	// Cascading retries on a fixed schedule.
	Cascading Algorithm = "cascading"
	// Smart waits according to the decline and stops on hard declines.
	Smart Algorithm = "smart"
)

// ValidAlgorithm reports whether a is one of the algorithms.
func ValidAlgorithm(a Algorithm) bool {
	return a == Monitoring || a == Cascading || a == Smart || a == Adaptive
}

// Frequency is a (delay, count) pair: count retries, each delay after the previous.
type Frequency struct {
	Delay time.Duration `json:"delay" bson:"delay"`
	Count int           `json:"count" bson:"count"`
}

// CascadingSchedule is Hyperswitch's pt_mapping_pcr_retries.
type CascadingSchedule struct {
	StartAfter  time.Duration `json:"start_after" bson:"start_after"`
	Frequencies []Frequency   `json:"frequencies" bson:"frequencies"`
}

// DefaultCascading is Hyperswitch's default: start_after 60 s, then
// (3h,2), (6h,3), (9h,3), (12h,3), (18h,3) — 14 retries over ~141 h.
var DefaultCascading = CascadingSchedule{
	StartAfter: 60 * time.Second,
	Frequencies: []Frequency{
		{3 * time.Hour, 2}, {6 * time.Hour, 3}, {9 * time.Hour, 3}, {12 * time.Hour, 3}, {18 * time.Hour, 3},
	},
}

// Validate refuses schedules that could never retry or would spin.
func (s CascadingSchedule) Validate() error {
	if s.StartAfter < 0 {
		return errors.New("start_after must not be negative")
	}
	if len(s.Frequencies) == 0 {
		return errors.New("frequencies must list at least one (delay, count)")
	}
	for i, f := range s.Frequencies {
		if f.Delay < time.Second || f.Count < 1 {
			return fmt.Errorf("frequencies[%d]: delay must be at least 1s and count at least 1", i)
		}
	}
	return nil
}

// Delay is the wait before the retry numbered n, as Hyperswitch's lookup:
// n = 0 waits start_after; otherwise the (delay, count) pairs are walked and the
// first whose running count reaches n wins. ok is false past the schedule.
// Hyperswitch's CALCULATE task starts at n = 1, so the first retry waits the
// first frequency (3 h by default) and at most 14 fit.
func (s CascadingSchedule) Delay(n int) (time.Duration, bool) {
	if n <= 0 {
		return s.StartAfter, true
	}
	running := 0
	for _, f := range s.Frequencies {
		running += f.Count
		if n <= running {
			return f.Delay, true
		}
	}
	return 0, false
}

// Retries is how many retries the schedule holds after start.
func (s CascadingSchedule) Retries() int {
	n := 0
	for _, f := range s.Frequencies {
		n += f.Count
	}
	return n
}

// Policy is everything a scheduler needs to know of the profile and the billing connector.
type Policy struct {
	Algorithm Algorithm         `json:"algorithm"`
	Cascading CascadingSchedule `json:"cascading"`
	// MaxRetryCount caps our own retries (feature_metadata.revenue_recovery.max_retry_count); 0 = the schedule's own end.
	MaxRetryCount int `json:"max_retry_count"`
	// MaxJitter adds 1..MaxJitter of random delay (Hyperswitch's max_random_schedule_delay_in_seconds, 300 s).
	MaxJitter time.Duration `json:"max_jitter"`
	// SmartScale multiplies the smart scheduler's delays (1 in production; demos shrink hours to seconds).
	SmartScale float64 `json:"smart_scale,omitempty"`
	// TimeZone is the IANA zone adaptive timing reads hours and days in ("" is DefaultTimeZone).
	TimeZone string `json:"time_zone,omitempty"`
}

// Stop says why no retry follows.
type Stop string

// Reasons to stop retrying.
const (
	Continue     Stop = ""
	Exhausted    Stop = "exhausted"
	HardDeclined Stop = "hard_declined"
	NoRetries    Stop = "monitoring"
)

// NextRetry decides the wait before our next retry, given how many we have made
// (retriesDone) and the decline of the last attempt (our own or the platform's).
// A hard decline stops whatever the algorithm; max_retry_count caps them all.
// Adaptive waits as cascading does here; the workflow then moves the retry
// to the best slot of the window after it (PickSlot).
// The wait excludes jitter (added by the workflow from its deterministic random).
func NextRetry(p Policy, retriesDone int, last Decline) (time.Duration, Stop) {
	if p.Algorithm == Monitoring {
		return 0, NoRetries
	}
	if last.Class == Hard {
		return 0, HardDeclined
	}
	limit := p.MaxRetryCount
	if limit == 0 && p.Algorithm == Smart {
		limit = SmartDefaultMaxRetries
	}
	if limit > 0 && retriesDone >= limit {
		return 0, Exhausted
	}
	if p.Algorithm == Smart {
		return smartDelay(p, retriesDone, last), Continue
	}
	d, ok := p.Cascading.Delay(retriesDone + 1)
	if !ok {
		return 0, Exhausted
	}
	return d, Continue
}

// smartDelay is decline-aware: transient failures come back soon; insufficient
// funds waits for money to arrive (a day, doubling to three); other soft
// declines wait six hours, growing with each retry. Without max_retry_count it
// follows Stripe's recommended 8 tries within 2 weeks (see NextRetry's cap).
func smartDelay(p Policy, retriesDone int, last Decline) time.Duration {
	var d time.Duration
	switch last.Class {
	case Transient:
		d = time.Hour
	case InsufficientFunds:
		d = 24 * time.Hour << min(retriesDone, 2)
		d = min(d, 72*time.Hour)
	default:
		d = 6*time.Hour + time.Duration(retriesDone)*6*time.Hour
		d = min(d, 48*time.Hour)
	}
	if p.SmartScale > 0 {
		d = time.Duration(float64(d) * p.SmartScale)
	}
	return max(d, time.Second)
}

// SmartDefaultMaxRetries applies when a smart profile's connector sets no max_retry_count.
const SmartDefaultMaxRetries = 8
