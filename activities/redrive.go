package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"orderflow/delivery"
	"orderflow/store"
)

// RedriveStore is what the re-drive activities need of MongoDB; *store.Store implements it.
type RedriveStore interface {
	DeliveryRecord(ctx context.Context, id string) (store.DeliveryRecord, error)
	DeliveryRecordPage(ctx context.Context, f store.RecordFilter, after string, limit int64) ([]string, error)
	OpenRedriveAudit(ctx context.Context, a store.RedriveAudit) error
	RecordRedriveOutcome(ctx context.Context, o store.RedriveOutcome) error
	CloseRedriveAudit(ctx context.Context, id string, totals map[string]int, at time.Time) error
}

// Redrive holds the re-drive and test-event activities. It sends through the
// same builders as the delivery activities: CRM for CRM webhooks, Merchant
// for merchant webhooks.
type Redrive struct {
	Store    RedriveStore
	CRM      *Activities
	Merchant *Recovery
	Records  *DeliveryRecords
	Now      func() time.Time
}

func (r *Redrive) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// RedriveFilter selects the delivery records a re-drive sends: IDs, or a Kind
// and DestinationID narrowed by the rest.
type RedriveFilter struct {
	IDs           []string  `json:"ids,omitempty"`
	Kind          string    `json:"kind,omitempty"`
	DestinationID string    `json:"destination_id,omitempty"`
	Statuses      []string  `json:"statuses,omitempty"`
	From          time.Time `json:"from,omitzero"`
	To            time.Time `json:"to,omitzero"`
	OrderIDs      []string  `json:"order_ids,omitempty"`
	InvoiceIDs    []string  `json:"invoice_ids,omitempty"`
}

// StoreFilter is f as the store reads it.
func (f RedriveFilter) StoreFilter() store.RecordFilter { return store.RecordFilter(f) }

// OpenRedriveAuditInput is who asked for a re-drive, why and for what.
type OpenRedriveAuditInput struct {
	RedriveID     string        `json:"redrive_id"`
	ActorKind     string        `json:"actor_kind"`
	ActorID       string        `json:"actor_id"`
	Reason        string        `json:"reason"`
	Force         bool          `json:"force"`
	Filter        RedriveFilter `json:"filter"`
	RatePerSecond float64       `json:"rate_per_second"`
	RequestedAt   time.Time     `json:"requested_at"`
}

// OpenRedriveAudit writes the re-drive's audit record (once, whatever the retries).
func (r *Redrive) OpenRedriveAudit(ctx context.Context, in OpenRedriveAuditInput) error {
	return r.Store.OpenRedriveAudit(ctx, store.RedriveAudit{
		ID: in.RedriveID, Actor: store.RedriveActor{Kind: in.ActorKind, ID: in.ActorID}, Reason: in.Reason, Force: in.Force,
		Filter: in.Filter.StoreFilter(), RatePerSecond: in.RatePerSecond, Status: store.RedriveRunning, RequestedAt: in.RequestedAt,
	})
}

// RedrivePageInput asks for the next page of a re-drive's records.
type RedrivePageInput struct {
	Filter RedriveFilter `json:"filter"`
	After  string        `json:"after"`
	Limit  int           `json:"limit"`
}

// ListRedrivePage returns the ids of the next page of records, after the cursor.
func (r *Redrive) ListRedrivePage(ctx context.Context, in RedrivePageInput) ([]string, error) {
	return r.Store.DeliveryRecordPage(ctx, in.Filter.StoreFilter(), in.After, int64(in.Limit))
}

// RedriveDeliveryInput is one delivery to send again.
type RedriveDeliveryInput struct {
	RedriveID string `json:"redrive_id"`
	RecordID  string `json:"record_id"`
	Force     bool   `json:"force"`
}

// Outcomes of one delivery in a re-drive.
const (
	RedriveDelivered = "delivered" // the receiver answered 2xx
	RedriveRejected  = "rejected"  // a final answer, or the destination's configuration is gone
	RedriveFailed    = "failed"    // no 2xx, and trying again may help: re-drive it again later
	RedriveRefused   = "refused"   // it already got a 2xx and the re-drive is not forced
	RedriveMissing   = "missing"   // the record expired or was removed meanwhile
)

// RedriveDeliveryResult is what the re-drive did with the delivery.
type RedriveDeliveryResult struct {
	Outcome    string `json:"outcome"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
}

// RedriveDelivery sends one recorded delivery again, once: its original data
// under its original idempotency key or event id, through the destination's
// current URL, mapping, auth and signing key. A delivery that already got a
// 2xx is refused unless forced. The POST is logged like any other attempt,
// the record follows the outcome and the outcome is audited.
func (r *Redrive) RedriveDelivery(ctx context.Context, in RedriveDeliveryInput) (RedriveDeliveryResult, error) {
	rec, err := r.Store.DeliveryRecord(ctx, in.RecordID)
	if errors.Is(err, store.ErrNotFound) {
		return r.audit(ctx, in, RedriveDeliveryResult{Outcome: RedriveMissing})
	}
	if err != nil {
		return RedriveDeliveryResult{}, err
	}
	if rec.Status == store.RecordDelivered && rec.LastRedriveID == in.RedriveID {
		// This re-drive sent it already (the activity is retried after the POST).
		return r.audit(ctx, in, RedriveDeliveryResult{Outcome: RedriveDelivered, StatusCode: rec.LastStatusCode})
	}
	if rec.Status == store.RecordDelivered && !in.Force {
		return r.audit(ctx, in, RedriveDeliveryResult{Outcome: RedriveRefused, Error: "already delivered; a re-drive must be forced with a reason"})
	}
	var attempts []delivery.Attempt
	var sendErr error
	switch rec.Kind {
	case store.KindCRMWebhook:
		_, sendErr = r.CRM.deliverCRM(ctx, crmSend{
			WebhookID: rec.DestinationID, Event: rec.Event, IdempotencyKey: rec.IdempotencyKey, Data: rec.Data, Attempt: 1,
			Log: func(ctx context.Context, ats []delivery.Attempt) error {
				attempts = ats
				return r.CRM.Store.RecordDeliveries(ctx, deliveryRecords(DeliverInput{
					WebhookID: rec.DestinationID, Event: rec.Event, OrderID: rec.OrderID, WorkflowID: in.RedriveID, IdempotencyKey: rec.IdempotencyKey,
				}, ats))
			},
		})
	case store.KindMerchantWebhook:
		wh := RecoveryWebhookInput{ProfileID: rec.DestinationID, InvoiceID: rec.InvoiceID, WorkflowID: in.RedriveID,
			EventID: rec.EventID, EventType: rec.Event, Body: rec.Body}
		_, sendErr = r.Merchant.deliverMerchant(ctx, wh, 1, func(ctx context.Context, ats []delivery.Attempt) error {
			attempts = ats
			return r.Merchant.recordWebhookAttempts(ctx, wh, ats)
		})
	default:
		return r.audit(ctx, in, RedriveDeliveryResult{Outcome: RedriveRejected, Error: "unknown delivery kind " + rec.Kind})
	}
	res := redriveResult(sendErr, attempts)
	r.Records.finish(ctx, rec, redriveRecordStatus(res.Outcome), attempts, in.RedriveID)
	return r.audit(ctx, in, res)
}

// redriveResult judges one re-drive send.
func redriveResult(err error, attempts []delivery.Attempt) RedriveDeliveryResult {
	var res RedriveDeliveryResult
	if n := len(attempts); n > 0 {
		res.StatusCode = attempts[n-1].StatusCode
	}
	if err == nil {
		res.Outcome = RedriveDelivered
		return res
	}
	res.Outcome, res.Error = RedriveFailed, err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		res.Error = appErr.Message()
		switch appErr.Type() {
		case ErrTypeWebhookRejected, ErrTypeWebhookConfig, ErrTypeRecoveryConfig:
			res.Outcome = RedriveRejected
		}
	}
	return res
}

// redriveRecordStatus is the record's status after a re-drive's outcome; ""
// leaves it as it was (a failed re-drive does not change why it failed before).
func redriveRecordStatus(outcome string) string {
	switch outcome {
	case RedriveDelivered:
		return store.RecordDelivered
	case RedriveRejected:
		return store.RecordRejected
	}
	return ""
}

// audit writes the outcome of one delivery of a re-drive and returns it.
func (r *Redrive) audit(ctx context.Context, in RedriveDeliveryInput, res RedriveDeliveryResult) (RedriveDeliveryResult, error) {
	err := r.Store.RecordRedriveOutcome(ctx, store.RedriveOutcome{
		RedriveID: in.RedriveID, RecordID: in.RecordID, Outcome: res.Outcome, StatusCode: res.StatusCode, Error: res.Error, At: r.now().UTC(),
	})
	if err != nil {
		return RedriveDeliveryResult{}, err
	}
	return res, nil
}

// CloseRedriveAuditInput is a finished re-drive's totals by outcome.
type CloseRedriveAuditInput struct {
	RedriveID string         `json:"redrive_id"`
	Totals    map[string]int `json:"totals"`
}

// CloseRedriveAudit marks the re-drive's audit completed with its totals.
func (r *Redrive) CloseRedriveAudit(ctx context.Context, in CloseRedriveAuditInput) error {
	return r.Store.CloseRedriveAudit(ctx, in.RedriveID, in.Totals, r.now().UTC())
}
