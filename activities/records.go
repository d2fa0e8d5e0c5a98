package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"orderflow/delivery"
	"orderflow/store"
)

// RecordStore writes delivery records; *store.Store implements it.
type RecordStore interface {
	WriteDeliveryRecord(ctx context.Context, w store.RecordWrite) error
}

// DefaultRecordRetention is how long a delivery record outlives its last write
// when the configuration says nothing.
const DefaultRecordRetention = 90 * 24 * time.Hour

// DeliveryRecords keeps the delivery_records collection: one record per
// event and destination, written by the delivery activities (and re-drives)
// around their POSTs. A nil *DeliveryRecords writes nothing.
type DeliveryRecords struct {
	Store     RecordStore
	Retention time.Duration
	Now       func() time.Time
}

func (d *DeliveryRecords) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// start creates the record as pending before the first POST; a later attempt
// of the same delivery only refreshes it.
func (d *DeliveryRecords) start(ctx context.Context, rec store.DeliveryRecord, resume bool) error {
	if d == nil {
		return nil
	}
	return d.Store.WriteDeliveryRecord(ctx, store.RecordWrite{Record: rec, Resume: resume, At: d.now().UTC(), Retention: d.retention()})
}

// park marks the record parked behind its endpoint, with why and the POSTs
// (if any) that made it park. Like finish, a failed write is logged.
func (d *DeliveryRecords) park(ctx context.Context, rec store.DeliveryRecord, reason string, attempts []delivery.Attempt) {
	if d == nil {
		return
	}
	w := store.RecordWrite{Record: rec, Status: store.RecordParked, ParkReason: reason, Attempts: len(attempts), At: d.now().UTC(), Retention: d.retention()}
	if n := len(attempts); n > 0 {
		w.LastCode, w.LastError, w.LastAttemptAt = attempts[n-1].StatusCode, attempts[n-1].Error, attempts[n-1].At
	}
	if err := d.Store.WriteDeliveryRecord(ctx, w); err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Error("writing the delivery record failed", "record", rec.ID, "error", err)
	}
}

// finish records what the POSTs of one delivery gave. A failed write is
// logged, not returned: the POST happened and must not be repeated only to
// record it.
func (d *DeliveryRecords) finish(ctx context.Context, rec store.DeliveryRecord, status string, attempts []delivery.Attempt, redriveID string) {
	if d == nil {
		return
	}
	w := store.RecordWrite{Record: rec, Status: status, Attempts: len(attempts), RedriveID: redriveID, At: d.now().UTC(), Retention: d.retention()}
	if n := len(attempts); n > 0 {
		last := attempts[n-1]
		w.LastCode, w.LastError, w.LastAttemptAt = last.StatusCode, last.Error, last.At
	}
	if err := d.Store.WriteDeliveryRecord(ctx, w); err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Error("writing the delivery record failed", "record", rec.ID, "error", err)
	}
}

func (d *DeliveryRecords) retention() time.Duration {
	if d.Retention > 0 {
		return d.Retention
	}
	return DefaultRecordRetention
}

// recordStatus is the record status a delivery's result gives: delivered on
// success; rejected for a final answer or a missing configuration; exhausted
// when the schedule gave up or the next try would fall past the activity's
// ScheduleToClose window; pending while another try is coming.
func recordStatus(ctx context.Context, err error, rejected []string, gaveUp string) string {
	if err == nil {
		return store.RecordDelivered
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return store.RecordPending
	}
	for _, t := range rejected {
		if appErr.Type() == t {
			return store.RecordRejected
		}
	}
	if gaveUp != "" && appErr.Type() == gaveUp {
		return store.RecordExhausted
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		window := info.ScheduleToCloseTimeout
		if window > 0 && !info.ScheduledTime.IsZero() && !time.Now().Add(appErr.NextRetryDelay()).Before(info.ScheduledTime.Add(window)) {
			return store.RecordExhausted
		}
	}
	return store.RecordPending
}
