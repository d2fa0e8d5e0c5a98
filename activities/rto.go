package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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
// bounded by MarketplaceLookupTimeout as in seed 000.
func (a *Activities) LookupMarketplace(ctx context.Context, in LookupMarketplaceInput) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.MarketplaceLookupTimeout)
	defer cancel()
	return a.Store.MarketplaceName(ctx, in.MarketplaceID)
}

// SelectWebhooksInput is an event and the data its conditions see (seed 000's updatedData).
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
	Data           map[string]any `json:"data"` // seed 000's buildingData
}

// DeliverResult is the receiver's 2xx answer.
type DeliverResult struct {
	StatusCode int `json:"status_code"`
}

// DeliverWebhook builds the webhook's payload from the data, authenticates and
// POSTs it with the idempotency key, logging every attempt. A final 4xx is a
// non-retryable ErrTypeWebhookRejected; 5xx, timeouts, 401 and 429 are
// retryable, 429 after its Retry-After.
func (a *Activities) DeliverWebhook(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	defer keepHeartbeating(ctx, DeliveryHeartbeatInterval)()
	cfg, err := a.Store.DeliveryConfig(ctx, in.WebhookID)
	if errors.Is(err, store.ErrNotFound) {
		return DeliverResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeWebhookConfig, nil)
	}
	if err != nil {
		return DeliverResult{}, err
	}
	req := webhook.Request{
		URL:            cfg.Webhook.URL,
		IdempotencyKey: in.IdempotencyKey,
		Body:           cfg.Payload.Mapping.Build(in.Data),
	}
	if cfg.Auth != nil {
		req.Auth = cfg.Auth.TokenAuth()
	}
	attempts, sendErr := a.Webhooks.Send(ctx, req)
	if err := a.Store.RecordDeliveries(ctx, a.deliveryRecords(ctx, in, attempts)); err != nil {
		// The POST happened: losing its log line must not make us POST again
		// only to log it, so this is logged and not returned.
		activity.GetLogger(ctx).Error("recording webhook deliveries failed", "webhook_id", in.WebhookID, "order_id", in.OrderID, "error", err)
	}
	a.countDeliveries(in.Event, attempts, sendErr)
	if sendErr == nil {
		return DeliverResult{StatusCode: attempts[len(attempts)-1].StatusCode}, nil
	}
	return DeliverResult{}, toActivityError(sendErr)
}

func (a *Activities) deliveryRecords(ctx context.Context, in DeliverInput, attempts []webhook.Attempt) []store.Delivery {
	attemptNo := activity.GetInfo(ctx).Attempt
	out := make([]store.Delivery, len(attempts))
	for i, at := range attempts {
		out[i] = store.Delivery{
			WebhookID: in.WebhookID, Event: in.Event, OrderID: in.OrderID, WorkflowID: in.WorkflowID,
			IdempotencyKey: in.IdempotencyKey, Attempt: attemptNo, StatusCode: at.StatusCode,
			LatencyMS: at.Latency.Milliseconds(), OK: at.StatusCode >= 200 && at.StatusCode <= 299,
			Error: at.Error, AuthRefreshed: at.AuthRefreshed, CreatedAt: a.now().UTC(),
		}
	}
	return out
}

func (a *Activities) countDeliveries(event string, attempts []webhook.Attempt, err error) {
	if a.Metrics == nil {
		return
	}
	for _, at := range attempts {
		a.Metrics.WebhookLatency.Observe(at.Latency.Seconds())
	}
	var de *webhook.DeliveryError
	switch {
	case err == nil:
		a.Metrics.WebhookDeliveries.WithLabelValues(event, "delivered").Inc()
	case errors.As(err, &de) && !de.Retryable:
		a.Metrics.WebhookDeliveries.WithLabelValues(event, "rejected").Inc()
	default:
		a.Metrics.WebhookDeliveries.WithLabelValues(event, "retryable").Inc()
	}
}

// toActivityError tells Temporal's retry policy what to do with a failed delivery.
func toActivityError(err error) error {
	var de *webhook.DeliveryError
	if !errors.As(err, &de) {
		return err
	}
	if !de.Retryable {
		return temporal.NewNonRetryableApplicationError(de.Reason, ErrTypeWebhookRejected, nil, de.StatusCode)
	}
	return temporal.NewApplicationErrorWithOptions(de.Reason, ErrTypeWebhookRetryable,
		temporal.ApplicationErrorOptions{NextRetryDelay: de.RetryAfter, Details: []any{de.StatusCode}})
}
