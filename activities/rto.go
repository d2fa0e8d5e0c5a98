package activities

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"orderflow/delivery"
	"orderflow/store"
	"orderflow/webhook"
)

// Error types a workflow's retry policy treats as final.
const (
	// ErrTypeWebhookRejected: the receiver answered a final 4xx.
	ErrTypeWebhookRejected = "WebhookRejected"
	// ErrTypeWebhookConfig: the webhook, its payload or its auth no longer exists.
	ErrTypeWebhookConfig = "WebhookConfigMissing"
	// ErrTypeWebhookRetryable: 5xx, 401, 408, 429, a timeout or a transport error; retried.
	ErrTypeWebhookRetryable = "WebhookRetryable"
	// ErrTypeWebhookGaveUp: the next try would start past the webhook's retry window.
	ErrTypeWebhookGaveUp = "WebhookRetryWindowExhausted"
)

// ClaimInput asks to own an order's first RTO.
type ClaimInput struct {
	OrderID    string    `json:"order_id"`
	WorkflowID string    `json:"workflow_id"`
	ChainID    string    `json:"chain_id"`
	Status     string    `json:"status"`
	ClaimedAt  time.Time `json:"claimed_at"`
}

// ClaimResult says whether the claim was won and, if so, what the order holds.
type ClaimResult struct {
	Won   bool          `json:"won"`
	Order OrderSnapshot `json:"order"`
}

// OrderSnapshot is what RTOCancel needs of an order to build the CRM payload.
type OrderSnapshot struct {
	OrderID        string         `json:"order_id"`
	MarketplaceID  string         `json:"marketplace_id"`
	Customer       map[string]any `json:"customer"`
	TotalAmt       any            `json:"total_amt"`
	AWB            string         `json:"awb"`
	Courier        string         `json:"courier"`
	TrackingStatus string         `json:"tracking_status"`
}

// ClaimFirstRTO is RTOCancel's first step: the durable, idempotent record that
// this workflow chain, and no other, acts on the order's first RTO.
func (a *Activities) ClaimFirstRTO(ctx context.Context, in ClaimInput) (ClaimResult, error) {
	snap, won, err := a.Store.ClaimFirstRTO(ctx, store.RTOClaim{
		OrderID: in.OrderID, WorkflowID: in.WorkflowID, ChainID: in.ChainID, Status: in.Status, ClaimedAt: in.ClaimedAt,
	})
	if err != nil {
		return ClaimResult{}, err
	}
	if a.Metrics != nil {
		outcome := "lost"
		if won {
			outcome = "won"
		}
		a.Metrics.FirstRTOClaims.WithLabelValues(outcome).Inc()
	}
	return ClaimResult{Won: won, Order: OrderSnapshot(snap)}, nil
}

// LookupMarketplaceInput names the marketplace of an order.
type LookupMarketplaceInput struct {
	MarketplaceID string `json:"marketplace_id"`
}

// LookupMarketplace returns the marketplace's name ("" when it does not exist),
// bounded by MarketplaceLookupTimeout as the in-house CRM webhook code bounded it.
func (a *Activities) LookupMarketplace(ctx context.Context, in LookupMarketplaceInput) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.MarketplaceLookupTimeout)
	defer cancel()
	return a.Store.MarketplaceName(ctx, in.MarketplaceID)
}

// SelectWebhooksInput is an event and the data its conditions see (the webhook system's updatedData).
type SelectWebhooksInput struct {
	Event  string         `json:"event"`
	Module string         `json:"module"`
	Data   map[string]any `json:"data"`
}

// SelectWebhooks returns the ids of the active webhooks of the event whose conditions match.
func (a *Activities) SelectWebhooks(ctx context.Context, in SelectWebhooksInput) ([]string, error) {
	targets, err := a.Store.WebhooksForEvent(ctx, in.Event, in.Module)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, t := range targets {
		if webhook.Match(t.Conditions, in.Data) {
			ids = append(ids, t.Webhook.ID.Hex())
		}
	}
	return ids, nil
}

// DeliveryHeartbeatInterval is how often DeliverWebhook reports it is alive;
// the workflow's heartbeat timeout for it must be a few times longer.
const DeliveryHeartbeatInterval = 3 * time.Second

// DeliverInput is one webhook delivery for one order.
type DeliverInput struct {
	WebhookID      string         `json:"webhook_id"`
	Event          string         `json:"event"`
	OrderID        string         `json:"order_id"`
	WorkflowID     string         `json:"workflow_id"`
	IdempotencyKey string         `json:"idempotency_key"`
	Data           map[string]any `json:"data"` // the webhook system's buildingData
	// Parking is set by a workflow that parks the delivery behind an
	// unhealthy endpoint (the endpoint breaker).
	Parking
}

// DeliverResult is the receiver's 2xx answer, or, for a parkable delivery,
// that it parked: why, when to look again and what it spent meanwhile.
type DeliverResult struct {
	StatusCode int `json:"status_code"`
	ParkOutcome
}

// CRMWebhookRetry is the CRM webhook's default retry schedule: exponential
// back-off from a second, doubling, capped at ten minutes, for as long as the
// workflow's ScheduleToClose allows (three days). A webhook's own retry
// settings replace any part of it (CRMWebhookSchedule).
var CRMWebhookRetry = delivery.Backoff(time.Second, 2, 10*time.Minute)

// CRMWebhookMaxWindow is the longest retry window a CRM webhook may set: the
// delivery activity's ScheduleToClose (workflows/options.go), which ends
// every delivery whatever its schedule says.
const CRMWebhookMaxWindow = 72 * time.Hour

// CRMWebhookSchedule is the schedule a CRM webhook's deliveries follow: the
// default with whatever the webhook's retry settings override. Without a
// window of its own, the activity's ScheduleToClose (three days) bounds it.
func CRMWebhookSchedule(h store.Webhook) delivery.Schedule {
	s := CRMWebhookRetry
	r := h.Retry
	if r == nil {
		return s
	}
	if r.InitialIntervalSeconds != nil {
		s.Initial = seconds(*r.InitialIntervalSeconds)
	}
	if r.MaximumIntervalSeconds != nil {
		s.Max = seconds(*r.MaximumIntervalSeconds)
	}
	if r.BackoffCoefficient != nil {
		s.Coefficient = *r.BackoffCoefficient
	}
	if r.WindowSeconds != nil {
		s.Window = seconds(*r.WindowSeconds)
	}
	return s
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// crmChannel is the CRM as a receiver: a final 4xx stops, a 429 waits its
// Retry-After. Each message carries its webhook's own schedule.
func (a *Activities) crmChannel() delivery.Channel {
	ch := delivery.Channel{
		Name:             "CRM webhook",
		Kind:             store.KindCRMWebhook,
		Retry:            CRMWebhookRetry,
		HonourRetryAfter: true,
		Errors:           delivery.ErrorTypes{Retryable: ErrTypeWebhookRetryable, Rejected: ErrTypeWebhookRejected, GaveUp: ErrTypeWebhookGaveUp},
	}
	if a.Metrics != nil {
		ch.Metrics = delivery.Metrics{Outcomes: a.Metrics.WebhookDeliveries, Latency: a.Metrics.WebhookLatency,
			Destinations: a.Metrics.DestinationDeliveries, DestinationLatency: a.Metrics.DestinationLatency}
	}
	return ch
}

// DeliverWebhook builds the webhook's payload from the data, authenticates and
// POSTs it with the idempotency key through the shared sender, which logs
// every attempt to webhook_deliveries. The delivery's record in
// delivery_records (keyed by the idempotency key) is created before the first
// POST and updated after each attempt's POSTs. A final 4xx is a non-retryable
// ErrTypeWebhookRejected; 5xx, timeouts, 401 and 429 are retryable on the
// webhook's schedule (CRMWebhookSchedule), 429 after its Retry-After; once the
// next try would start past the webhook's retry window, a non-retryable
// ErrTypeWebhookGaveUp.
func (a *Activities) DeliverWebhook(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	defer keepHeartbeating(ctx, DeliveryHeartbeatInterval)()
	rec := crmRecord(in)
	info := activity.GetInfo(ctx)
	attempt := int(info.Attempt)
	var probe bool
	if in.Parkable && a.Endpoints != nil {
		// Asked first, so a delivery that parks again stays parked in its
		// record (the park write creates the record when it is the first).
		v, err := a.Endpoints.admit(ctx, store.KindCRMWebhook, in.WebhookID, in.Released)
		if err != nil {
			return DeliverResult{}, err
		}
		if v.park {
			return DeliverResult{ParkOutcome: a.Endpoints.park(ctx, a.Records, rec, v, attempt-1, nil)}, nil
		}
		probe = v.probe
	}
	if err := a.Records.start(ctx, rec, in.Resumed); err != nil {
		return DeliverResult{}, err
	}
	var attempts []delivery.Attempt
	res, err := a.deliverCRM(ctx, crmSend{
		WebhookID: in.WebhookID, Event: in.Event, IdempotencyKey: in.IdempotencyKey, Data: in.Data,
		Attempt: attempt + in.AttemptsBefore, FirstScheduled: info.ScheduledTime.Add(-in.WindowUsed),
		Log: func(ctx context.Context, ats []delivery.Attempt) error {
			attempts = ats
			return a.Store.RecordDeliveries(ctx, deliveryRecords(in, ats))
		},
	})
	if a.Endpoints != nil && len(attempts) > 0 {
		v := a.Endpoints.observe(ctx, store.KindCRMWebhook, in.WebhookID, attempts, probe)
		if in.Parkable && v.park {
			return DeliverResult{ParkOutcome: a.Endpoints.park(ctx, a.Records, rec, v, attemptsSpent(attempt, probe), attempts)}, nil
		}
	}
	a.Records.finish(ctx, rec, recordStatus(ctx, err, []string{ErrTypeWebhookRejected, ErrTypeWebhookConfig}, ErrTypeWebhookGaveUp), attempts, "")
	if err != nil {
		return DeliverResult{}, err
	}
	return DeliverResult{StatusCode: res.StatusCode}, nil
}

// crmRecord is the delivery record of one (order, webhook) delivery: the
// payload's input data, so a re-drive can build it through the webhook's
// mapping of the day.
func crmRecord(in DeliverInput) store.DeliveryRecord {
	return store.DeliveryRecord{
		ID: in.IdempotencyKey, Kind: store.KindCRMWebhook, DestinationID: in.WebhookID, Event: in.Event,
		OrderID: in.OrderID, WorkflowID: in.WorkflowID, IdempotencyKey: in.IdempotencyKey, Data: in.Data,
	}
}

// crmSend is one CRM delivery as the sender makes it, from a workflow or a re-drive.
type crmSend struct {
	WebhookID      string
	Event          string
	IdempotencyKey string
	Data           map[string]any
	Attempt        int
	// FirstScheduled is when the delivery was first scheduled: the webhook's
	// retry window counts from it. Zero (a re-drive, a test) leaves it unchecked.
	FirstScheduled time.Time
	Log            delivery.LogFunc
}

// crmMessage builds a CRM webhook's POST from its current configuration: URL,
// payload mapping, token auth and retry schedule.
func (a *Activities) crmMessage(ctx context.Context, s crmSend) (delivery.Message, error) {
	cfg, err := a.Store.DeliveryConfig(ctx, s.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return delivery.Message{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeWebhookConfig, nil)
	}
	if err != nil {
		return delivery.Message{}, err
	}
	body, err := json.Marshal(cfg.Payload.Mapping.Build(s.Data))
	if err != nil {
		return delivery.Message{}, temporal.NewNonRetryableApplicationError("the payload cannot be encoded as JSON", ErrTypeWebhookConfig, nil)
	}
	retry := CRMWebhookSchedule(cfg.Webhook)
	msg := delivery.Message{
		URL: cfg.Webhook.URL, Event: s.Event, Body: body, IdempotencyKey: s.IdempotencyKey, Attempt: s.Attempt,
		FirstScheduled: s.FirstScheduled, Retry: &retry, DestinationID: s.WebhookID,
	}
	if s.Log != nil {
		msg.Log = s.Log
	}
	if cfg.Auth != nil {
		msg.Auth = a.Tokens.For(cfg.Auth.TokenAuth())
	}
	return msg, nil
}

// deliverCRM builds and sends one CRM delivery on the CRM channel.
func (a *Activities) deliverCRM(ctx context.Context, s crmSend) (delivery.Result, error) {
	msg, err := a.crmMessage(ctx, s)
	if err != nil {
		return delivery.Result{}, err
	}
	return a.Webhooks.Deliver(ctx, a.crmChannel(), msg)
}

// deliveryRecords are the attempts as webhook_deliveries stores them.
func deliveryRecords(in DeliverInput, attempts []delivery.Attempt) []store.Delivery {
	out := make([]store.Delivery, len(attempts))
	for i, at := range attempts {
		out[i] = store.Delivery{
			WebhookID: in.WebhookID, Event: in.Event, OrderID: in.OrderID, WorkflowID: in.WorkflowID,
			IdempotencyKey: in.IdempotencyKey, Attempt: int32(at.Try), StatusCode: at.StatusCode,
			LatencyMS: at.Latency.Milliseconds(), OK: at.OK(), Error: at.Error, AuthRefreshed: at.AuthRefreshed,
			CreatedAt: at.At,
		}
	}
	return out
}
