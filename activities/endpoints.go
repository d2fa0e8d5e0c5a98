package activities

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"orderflow/delivery"
	"orderflow/observability"
	"orderflow/store"
)

// EndpointStore is what the circuit breaker needs of MongoDB; *store.Store implements it.
type EndpointStore interface {
	EndpointHealthByID(ctx context.Context, kind, destinationID string) (store.EndpointHealth, error)
	RecordEndpointFailure(ctx context.Context, f store.EndpointFailure) (store.EndpointHealth, string, error)
	DisableEndpoint(ctx context.Context, kind, destinationID, reason string, at time.Time) (store.EndpointHealth, string, error)
	RecordEndpointSuccess(ctx context.Context, kind, destinationID string, at time.Time) (string, error)
	ClaimEndpointProbe(ctx context.Context, kind, destinationID string, interval time.Duration, at time.Time) (bool, error)
	FinishEndpointDrain(ctx context.Context, kind, destinationID string, at time.Time) error
	ParkedDeliveries(ctx context.Context, kind, destinationID string, after store.ParkedCursor, limit int64) ([]store.DeliveryRecord, error)
}

// EndpointDrainWorkflowType is the workflow that releases a destination's
// parked deliveries (workflows.EndpointDrain); activities start it by name.
const EndpointDrainWorkflowType = "EndpointDrain"

// EndpointDrainWorkflowID is the one drain a destination has at a time.
func EndpointDrainWorkflowID(kind, destinationID string) string {
	return "endpoint-drain:" + kind + ":" + destinationID
}

// DisabledRecheck is how long a delivery parked behind a disabled endpoint
// waits before it looks again: re-enabling releases it at once (the drain
// signals it), so this only bounds how long a lost signal could hold it.
const DisabledRecheck = 24 * time.Hour

// drainingRecheckFactor stretches the timer of a delivery parked behind a
// drain: the drain signals it when its turn comes, so the timer only bounds a
// lost signal. At one half-open interval every parked delivery would wake,
// find the drain still running and park again, all at once: a herd of
// activities competing with the drain they wait for.
const drainingRecheckFactor = 10

// Park reasons, as delivery records and metrics name them.
const (
	ParkOpen     = "open"     // the endpoint failed N times in a row; a probe goes out each half-open interval
	ParkDisabled = "disabled" // answered 410, or failed longer than disable_after; waits for re-enabling
	ParkDraining = "draining" // the endpoint recovered and older parked deliveries go first
)

// Endpoints is every destination's circuit breaker: it decides whether a
// delivery may POST now, learns from each answer, starts a destination's
// drain when it recovers and tells operations when one is disabled.
type Endpoints struct {
	Store    EndpointStore
	Settings delivery.BreakerSettings
	// Temporal starts drains; nil (unit tests) starts none.
	Temporal  client.Client
	TaskQueue string
	// Sender and OperationsURL post the operational event of a disabled
	// endpoint; an empty URL posts none.
	Sender        *delivery.Sender
	OperationsURL string
	Metrics       *observability.Metrics
	Now           func() time.Time
}

func (e *Endpoints) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

// verdict is the breaker's word on one delivery: go ahead (possibly as the
// probe of an open endpoint), or park for a while and why.
type verdict struct {
	park   bool
	reason string
	detail string // the disabled reason, for the record
	wait   time.Duration
	probe  bool
}

// admit decides whether a delivery to the destination may POST now.
// released says the drain let this one through.
func (e *Endpoints) admit(ctx context.Context, kind, id string, released bool) (verdict, error) {
	h, err := e.Store.EndpointHealthByID(ctx, kind, id)
	if errors.Is(err, store.ErrNotFound) {
		return verdict{}, nil
	}
	if err != nil {
		return verdict{}, err
	}
	now := e.now()
	switch h.State {
	case store.EndpointDisabled:
		return verdict{park: true, reason: ParkDisabled, detail: h.DisabledReason, wait: DisabledRecheck}, nil
	case store.EndpointOpen:
		won, err := e.Store.ClaimEndpointProbe(ctx, kind, id, e.Settings.HalfOpenInterval, now)
		if err != nil {
			return verdict{}, err
		}
		if won {
			return verdict{probe: true}, nil
		}
		wait := h.NextProbeAt.Sub(now)
		if wait <= 0 {
			wait = e.Settings.HalfOpenInterval
		}
		return verdict{park: true, reason: ParkOpen, wait: wait}, nil
	}
	if h.Draining && !released {
		e.startDrain(ctx, kind, id)
		return verdict{park: true, reason: ParkDraining, wait: drainingRecheckFactor * e.Settings.HalfOpenInterval}, nil
	}
	return verdict{}, nil
}

// observe learns from a delivery's POSTs and says whether the delivery is
// to park after them: its endpoint just opened, stays open after a failed
// probe, or is disabled. Errors are logged, not returned: the POST happened.
func (e *Endpoints) observe(ctx context.Context, kind, id string, attempts []delivery.Attempt, probe bool) verdict {
	v, err := e.learn(ctx, kind, id, attempts, probe)
	if err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Error("updating the endpoint's health failed", "kind", kind, "destination_id", id, "error", err)
	}
	return v
}

func (e *Endpoints) learn(ctx context.Context, kind, id string, attempts []delivery.Attempt, probe bool) (verdict, error) {
	now := e.now()
	switch delivery.Judge(attempts) {
	case delivery.Healthy:
		tr, err := e.Store.RecordEndpointSuccess(ctx, kind, id, now)
		if err != nil {
			return verdict{}, err
		}
		if tr == store.TransitionClosed {
			e.startDrain(ctx, kind, id)
		}
		return verdict{}, nil
	case delivery.Gone:
		h, tr, err := e.Store.DisableEndpoint(ctx, kind, id, "answered 410 Gone", now)
		if err != nil {
			return verdict{}, err
		}
		if tr == store.TransitionDisabled {
			e.disabled(ctx, h, "gone")
		}
		return verdict{park: true, reason: ParkDisabled, detail: h.DisabledReason, wait: DisabledRecheck}, nil
	case delivery.Failing:
		last := attempts[len(attempts)-1]
		h, tr, err := e.Store.RecordEndpointFailure(ctx, store.EndpointFailure{
			Kind: kind, DestinationID: id, StatusCode: last.StatusCode, Error: last.Error, At: now,
			Threshold: e.Settings.FailureThreshold, HalfOpen: e.Settings.HalfOpenInterval, DisableAfter: e.Settings.DisableAfter,
		})
		if err != nil {
			return verdict{}, err
		}
		switch {
		case tr == store.TransitionDisabled:
			e.disabled(ctx, h, "failing")
		case h.State == store.EndpointOpen:
		}
		switch h.State {
		case store.EndpointDisabled:
			return verdict{park: true, reason: ParkDisabled, detail: h.DisabledReason, wait: DisabledRecheck}, nil
		case store.EndpointOpen:
			wait := h.NextProbeAt.Sub(now)
			if wait <= 0 {
				wait = e.Settings.HalfOpenInterval
			}
			return verdict{park: true, reason: ParkOpen, wait: wait}, nil
		}
	}
	if probe { // a neutral answer to a probe: still open, the next probe decides
	}
	return verdict{}, nil
}

// startDrain starts the destination's drain unless one is running.
func (e *Endpoints) startDrain(ctx context.Context, kind, id string) {
	if e.Temporal == nil {
		return
	}
	if err := StartEndpointDrain(ctx, e.Temporal, e.TaskQueue, EndpointDrainInput{
		Kind: kind, DestinationID: id, RatePerSecond: e.Settings.DrainRatePerSecond,
	}); err != nil && activity.IsActivity(ctx) {
		// A parked delivery that wakes while the endpoint drains starts it again.
		activity.GetLogger(ctx).Error("starting the endpoint's drain failed", "kind", kind, "destination_id", id, "error", err)
	}
}

// StartEndpointDrain starts a destination's drain, or leaves the running one be.
func StartEndpointDrain(ctx context.Context, c client.Client, taskQueue string, in EndpointDrainInput) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: EndpointDrainWorkflowID(in.Kind, in.DestinationID), TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, EndpointDrainWorkflowType, in)
	return err
}

// OperationalEvent is what the operations webhook receives when an endpoint
// is disabled: ids and the reason, never the endpoint's URL or a secret.
type OperationalEvent struct {
	Event         string    `json:"event"` // endpoint.disabled
	Kind          string    `json:"kind"`
	DestinationID string    `json:"destination_id"`
	Reason        string    `json:"reason"`
	DisabledAt    time.Time `json:"disabled_at"`
}

// opsChannel is the operations webhook as a receiver: one POST, best effort.
var opsChannel = delivery.Channel{Name: "operations webhook", Kind: "operations_webhook", Retry: delivery.Delays(),
	Errors: delivery.ErrorTypes{Retryable: "OperationsWebhookRetryable", Rejected: "OperationsWebhookRejected", GaveUp: "OperationsWebhookGaveUp"}}

// disabled emits the operational event of an endpoint this call disabled:
// a log line, a metric and a POST to the operations webhook.
func (e *Endpoints) disabled(ctx context.Context, h store.EndpointHealth, label string) {
	if e.Metrics != nil {
		e.Metrics.EndpointsDisabled.WithLabelValues(h.Kind, h.DestinationID, label).Inc()
	}
	if activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("endpoint disabled: its deliveries park until it is re-enabled",
			"kind", h.Kind, "destination_id", h.DestinationID, "reason", h.DisabledReason)
	}
	if e.OperationsURL == "" || e.Sender == nil {
		return
	}
	ev := OperationalEvent{Event: "endpoint.disabled", Kind: h.Kind, DestinationID: h.DestinationID, Reason: h.DisabledReason, DisabledAt: h.DisabledAt}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	_, err = e.Sender.Deliver(ctx, opsChannel, delivery.Message{URL: e.OperationsURL, Event: ev.Event,
		ID: ev.Event + ":" + h.ID + ":" + h.DisabledAt.Format(time.RFC3339Nano), Body: body, Attempt: 1})
	if err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Error("the operations webhook did not accept the endpoint.disabled event",
			"kind", h.Kind, "destination_id", h.DestinationID, "error", err)
	}
}

func (e *Endpoints) parked(kind, id, reason string) {
	if e.Metrics != nil {
		e.Metrics.ParkedDeliveries.WithLabelValues(kind, id, reason).Inc()
	}
}

// EndpointDrainInput is one destination's drain, and across continue-as-new
// how far it got.
type EndpointDrainInput struct {
	Kind          string  `json:"kind"`
	DestinationID string  `json:"destination_id"`
	RatePerSecond float64 `json:"rate_per_second"`
	// Cursor: the last released record's parking time and id.
	AfterParkedAt time.Time `json:"after_parked_at,omitzero"`
	AfterID       string    `json:"after_id,omitempty"`
	Released      int       `json:"released,omitempty"`
}

// ParkedPageInput asks for the next parked deliveries of a destination.
type ParkedPageInput struct {
	Kind          string    `json:"kind"`
	DestinationID string    `json:"destination_id"`
	AfterParkedAt time.Time `json:"after_parked_at,omitzero"`
	AfterID       string    `json:"after_id,omitempty"`
	Limit         int       `json:"limit"`
}

// ParkedDelivery is one parked delivery to release: its record and the
// workflow waiting on it.
type ParkedDelivery struct {
	RecordID   string    `json:"record_id"`
	WorkflowID string    `json:"workflow_id"`
	ParkedAt   time.Time `json:"parked_at"`
}

// ParkedPage is the next parked deliveries, oldest first, and whether the
// endpoint is still closed (a drain stops when it opens again).
type ParkedPage struct {
	Closed     bool             `json:"closed"`
	Deliveries []ParkedDelivery `json:"deliveries"`
}

// ListParkedDeliveries returns the next page of a destination's parked
// deliveries after the cursor, oldest parking first.
func (e *Endpoints) ListParkedDeliveries(ctx context.Context, in ParkedPageInput) (ParkedPage, error) {
	h, err := e.Store.EndpointHealthByID(ctx, in.Kind, in.DestinationID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return ParkedPage{}, err
	}
	if h.State != store.EndpointClosed {
		return ParkedPage{Closed: false, Deliveries: []ParkedDelivery{}}, nil
	}
	recs, err := e.Store.ParkedDeliveries(ctx, in.Kind, in.DestinationID, store.ParkedCursor{ParkedAt: in.AfterParkedAt, ID: in.AfterID}, int64(in.Limit))
	if err != nil {
		return ParkedPage{}, err
	}
	page := ParkedPage{Closed: true, Deliveries: make([]ParkedDelivery, len(recs))}
	for i, r := range recs {
		page.Deliveries[i] = ParkedDelivery{RecordID: r.ID, WorkflowID: r.WorkflowID, ParkedAt: r.ParkedAt}
	}
	return page, nil
}

// FinishDrainInput names the destination whose drain is done.
type FinishDrainInput struct {
	Kind          string `json:"kind"`
	DestinationID string `json:"destination_id"`
}

// FinishEndpointDrain ends a destination's drain: new deliveries go straight out.
func (e *Endpoints) FinishEndpointDrain(ctx context.Context, in FinishDrainInput) error {
	return e.Store.FinishEndpointDrain(ctx, in.Kind, in.DestinationID, e.now())
}
