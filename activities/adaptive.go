package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"orderflow/recovery"
	"orderflow/store"
)

// AdaptiveStatsTTL is how long a worker reuses a profile's statistics before
// counting them again: they move slowly (a day adds little to 90 days of
// retries), and an hour bounds both the reads and how stale a slot may be.
const AdaptiveStatsTTL = time.Hour

// PastRetries is what adaptive timing needs of MongoDB; *store.Store implements it.
type PastRetries interface {
	ProfileRetriesSince(ctx context.Context, profileID string, since time.Time) ([]store.RecoveryAttempt, error)
}

// AdaptiveRetryInput asks where in [Earliest, Latest] a profile's next
// retry after a decline of DeclineClass should go.
type AdaptiveRetryInput struct {
	ProfileID    string                `json:"profile_id"`
	TimeZone     string                `json:"time_zone"`
	DeclineClass recovery.DeclineClass `json:"decline_class"`
	Earliest     time.Time             `json:"earliest"`
	Latest       time.Time             `json:"latest"`
}

// adaptiveStats caches each profile's statistics in the worker process, per
// time zone, for AdaptiveStatsTTL. In-process rather than in Mongo: the
// counting is one indexed read per profile and hour, a worker restart only
// costs one more, and no collection needs expiring.
type adaptiveStats struct {
	mu      sync.Mutex
	entries map[string]cachedStats
}

type cachedStats struct {
	stats     recovery.SlotStats
	countedAt time.Time
}

// PlanAdaptiveRetry picks the slot of the window with the best success rate
// of the profile's past retries after the same class of decline, in the
// profile's time zone (recovery.PickSlot), or keeps Earliest while the data
// is thin. The statistics are counted here, never in workflow code, and the
// workflow receives only the choice and its explanation.
func (r *Recovery) PlanAdaptiveRetry(ctx context.Context, in AdaptiveRetryInput) (recovery.SlotChoice, error) {
	loc, err := recovery.LoadTimeZone(in.TimeZone)
	if err != nil {
		return recovery.SlotChoice{}, temporal.NewNonRetryableApplicationError("time zone "+in.TimeZone+" is unknown", ErrTypeRecoveryConfig, err)
	}
	stats, err := r.slotStats(ctx, in.ProfileID, loc)
	if err != nil {
		return recovery.SlotChoice{}, err
	}
	return recovery.PickSlot(stats, in.DeclineClass, in.Earliest, in.Latest, loc, recovery.AdaptiveMinSamples), nil
}

// slotStats are the profile's statistics in loc, from the cache while fresh.
func (r *Recovery) slotStats(ctx context.Context, profileID string, loc *time.Location) (recovery.SlotStats, error) {
	if r.PastRetries == nil {
		return recovery.SlotStats{}, nil
	}
	key := profileID + "|" + loc.String()
	now := r.now()
	r.adaptive.mu.Lock()
	cached, ok := r.adaptive.entries[key]
	r.adaptive.mu.Unlock()
	if ok && now.Sub(cached.countedAt) < AdaptiveStatsTTL {
		return cached.stats, nil
	}
	rows, err := r.PastRetries.ProfileRetriesSince(ctx, profileID, now.Add(-recovery.AdaptiveLookback))
	if err != nil {
		return nil, err
	}
	stats := CountRetries(rows, loc)
	r.adaptive.mu.Lock()
	if r.adaptive.entries == nil {
		r.adaptive.entries = map[string]cachedStats{}
	}
	r.adaptive.entries[key] = cachedStats{stats: stats, countedAt: now}
	r.adaptive.mu.Unlock()
	return stats, nil
}

// CountRetries counts settled retries (succeeded or declined) per decline
// class × hour × day in loc, at the time each outcome was recorded. A
// retry's class is the one recorded with it, else the decline of the
// retry before it in the same recovery; a retry with neither is not counted.
func CountRetries(rows []store.RecoveryAttempt, loc *time.Location) recovery.SlotStats {
	type retry struct {
		workflowID string
		attempt    int
	}
	declines := map[retry]recovery.DeclineClass{}
	for _, a := range rows {
		if a.Status == PaymentFailed {
			declines[retry{a.WorkflowID, a.Attempt}] = recovery.Classify(a.ErrorCode, a.DeclineCode, "").Class
		}
	}
	stats := recovery.SlotStats{}
	for _, a := range rows {
		if a.Status != PaymentSucceeded && a.Status != PaymentFailed {
			continue
		}
		class := recovery.DeclineClass(a.RetriedDeclineClass)
		if class == "" {
			class = declines[retry{a.WorkflowID, a.Attempt - 1}]
		}
		if class == "" {
			continue
		}
		stats.Add(class, a.UpdatedAt, loc, a.Status == PaymentSucceeded)
	}
	return stats
}
