package workflows

import (
	"errors"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
)

// RTOCancelInput names the order whose first RTO was observed.
type RTOCancelInput struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"` // the RTO-family status seen first
	Source  string `json:"source"` // who saw it: a courier or a push source
}

// RTOCancelResult is the outcome for each matching webhook.
type RTOCancelResult struct {
	// Claimed is false when another workflow chain already owned this first RTO.
	Claimed    bool              `json:"claimed"`
	Deliveries []DeliveryOutcome `json:"deliveries"`
}

// Delivery outcomes.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryRejected  = "rejected" // the receiver answered a final 4xx
	DeliveryFailed    = "failed"   // retries ran out, or the webhook was deleted meanwhile
)

// DeliveryOutcome is where one webhook's delivery stands.
type DeliveryOutcome struct {
	WebhookID  string `json:"webhook_id"`
	Status     string `json:"status"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
}

// RTOCancel stages, as the delivery_state query reports them.
const (
	StageClaiming    = "claiming"
	StageSkipped     = "skipped_already_claimed"
	StageMarketplace = "looking_up_marketplace"
	StageSelecting   = "selecting_webhooks"
	StageDelivering  = "delivering"
	StageDone        = "done"
)

// RTOCancelState is the answer of DeliveryStateQuery.
type RTOCancelState struct {
	OrderID     string            `json:"order_id"`
	Stage       string            `json:"stage"`
	Marketplace string            `json:"marketplace"`
	Deliveries  []DeliveryOutcome `json:"deliveries"`
}

// RTOCancel tells the CRM, exactly once, that an order reached RTO for the
// first time (the in-house TriggerRTOCancelWebhook goroutine, made durable). It claims the
// order, looks up its marketplace and selects the matching webhooks of
// order.rto (idempotent Mongo steps, run as local activities), then delivers
// each webhook in a retried activity of its own.
func RTOCancel(ctx workflow.Context, in RTOCancelInput) (RTOCancelResult, error) {
	w, err := newRTOCancel(ctx, in)
	if err != nil {
		return RTOCancelResult{}, err
	}
	return w.run(ctx)
}

type rtoCancel struct {
	in     RTOCancelInput
	steps  mongoSteps
	state  RTOCancelState
	logger log.Logger
}

func newRTOCancel(ctx workflow.Context, in RTOCancelInput) (*rtoCancel, error) {
	if in.OrderID == "" || !tracking.IsRTO(in.Status) {
		return nil, temporal.NewNonRetryableApplicationError("RTOCancel needs an order id and an RTO-family status", "InvalidInput", nil)
	}
	w := &rtoCancel{
		in:     in,
		state:  RTOCancelState{OrderID: in.OrderID, Stage: StageClaiming, Deliveries: []DeliveryOutcome{}},
		logger: log.With(workflow.GetLogger(ctx), "order_id", in.OrderID, "status", in.Status, "source", in.Source),
	}
	if err := workflow.SetQueryHandler(ctx, DeliveryStateQuery, func() (RTOCancelState, error) { return w.state, nil }); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *rtoCancel) run(ctx workflow.Context) (RTOCancelResult, error) {
	w.steps = newMongoSteps(ctx)
	order, won, err := w.claim(ctx)
	if err != nil || !won {
		return RTOCancelResult{}, err
	}
	w.state.Stage = StageMarketplace
	w.state.Marketplace = w.marketplaceName(ctx, order.MarketplaceID)

	w.state.Stage = StageSelecting
	conditionData := map[string]any{"tracking_status": w.in.Status, "order_id": w.in.OrderID}
	var webhookIDs []string
	err = w.steps.run(ctx, mongoStep, a.SelectWebhooks,
		activities.SelectWebhooksInput{Event: EventOrderRTO, Module: ModuleOrder, Data: conditionData}).Get(ctx, &webhookIDs)
	if err != nil {
		return RTOCancelResult{}, err
	}

	w.state.Stage = StageDelivering
	payloadData := map[string]any{
		"order_id":        w.in.OrderID,
		"customer":        order.Customer,
		"total_amt":       order.TotalAmt,
		"source":          w.state.Marketplace,
		"status":          tracking.RTO,
		"tracking_status": w.in.Status,
	}
	w.deliverAll(ctx, webhookIDs, payloadData)
	w.state.Stage = StageDone
	return RTOCancelResult{Claimed: true, Deliveries: w.state.Deliveries}, nil
}

func (w *rtoCancel) claim(ctx workflow.Context) (activities.OrderSnapshot, bool, error) {
	info := workflow.GetInfo(ctx)
	var res activities.ClaimResult
	err := w.steps.run(ctx, mongoStep, a.ClaimFirstRTO, activities.ClaimInput{
		OrderID:    w.in.OrderID,
		WorkflowID: info.WorkflowExecution.ID,
		ChainID:    info.FirstRunID,
		Status:     w.in.Status,
		ClaimedAt:  workflow.Now(ctx),
	}).Get(ctx, &res)
	if err != nil {
		return activities.OrderSnapshot{}, false, err
	}
	if !res.Won {
		w.logger.Info("first RTO already claimed by another workflow (or order missing); nothing to send")
		w.state.Stage = StageSkipped
	}
	return res.Order, res.Won, nil
}

// marketplaceName returns "" when the order has no marketplace or the lookup
// keeps failing: the CRM still hears of the RTO, with an empty order_source.
func (w *rtoCancel) marketplaceName(ctx workflow.Context, id string) string {
	if id == "" {
		return ""
	}
	var name string
	err := w.steps.run(ctx, marketplaceStep, a.LookupMarketplace,
		activities.LookupMarketplaceInput{MarketplaceID: id}).Get(ctx, &name)
	if err != nil {
		w.logger.Warn("marketplace lookup failed; sending an empty order_source", "marketplace_id", id, "error", err)
		return ""
	}
	return name
}

// deliverAll sends every matching webhook its own delivery, in parallel.
// Behind changeEndpointBreaker, a delivery whose endpoint is unhealthy parks
// (deliverParkable) instead of spending its attempts.
func (w *rtoCancel) deliverAll(ctx workflow.Context, webhookIDs []string, data map[string]any) {
	ctx = workflow.WithActivityOptions(ctx, webhookDelivery)
	if workflow.GetVersion(ctx, changeEndpointBreaker, workflow.DefaultVersion, 1) >= 1 {
		w.deliverAllParkable(ctx, webhookIDs, data)
		return
	}
	futures := make([]workflow.Future, len(webhookIDs))
	for i, id := range webhookIDs {
		w.state.Deliveries = append(w.state.Deliveries, DeliveryOutcome{WebhookID: id, Status: DeliveryPending})
		futures[i] = workflow.ExecuteActivity(ctx, a.DeliverWebhook, activities.DeliverInput{
			WebhookID:      id,
			Event:          EventOrderRTO,
			OrderID:        w.in.OrderID,
			WorkflowID:     workflow.GetInfo(ctx).WorkflowExecution.ID,
			IdempotencyKey: WebhookIdempotencyKey(w.in.OrderID, id),
			Data:           data,
		})
	}
	for i, f := range futures {
		var res activities.DeliverResult
		w.state.Deliveries[i] = deliveryOutcome(webhookIDs[i], res, f.Get(ctx, &res))
		if w.state.Deliveries[i].Status != DeliveryDelivered {
			w.logger.Warn("webhook delivery did not succeed", "webhook_id", webhookIDs[i], "outcome", w.state.Deliveries[i].Status, "error", w.state.Deliveries[i].Error)
		}
	}
}

// deliverAllParkable is deliverAll whose deliveries park behind an
// unhealthy endpoint, each in a goroutine of its own.
func (w *rtoCancel) deliverAllParkable(ctx workflow.Context, webhookIDs []string, data map[string]any) {
	rel := listenForReleases(ctx)
	wg := workflow.NewWaitGroup(ctx)
	for i, id := range webhookIDs {
		w.state.Deliveries = append(w.state.Deliveries, DeliveryOutcome{WebhookID: id, Status: DeliveryPending})
		in := w.deliverInput(ctx, id, data)
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			res, err := deliverParkable(ctx, in, rel, func(reason string) {
				w.state.Deliveries[i] = DeliveryOutcome{WebhookID: id, Status: DeliveryParked, Error: reason}
				w.logger.Warn("webhook delivery parked behind its endpoint", "webhook_id", id, "reason", reason)
			})
			w.state.Deliveries[i] = deliveryOutcome(id, res, err)
			if w.state.Deliveries[i].Status != DeliveryDelivered {
				w.logger.Warn("webhook delivery did not succeed", "webhook_id", id, "outcome", w.state.Deliveries[i].Status, "error", w.state.Deliveries[i].Error)
			}
		})
	}
	wg.Wait(ctx)
}

func (w *rtoCancel) deliverInput(ctx workflow.Context, webhookID string, data map[string]any) activities.DeliverInput {
	return activities.DeliverInput{
		WebhookID:      webhookID,
		Event:          EventOrderRTO,
		OrderID:        w.in.OrderID,
		WorkflowID:     workflow.GetInfo(ctx).WorkflowExecution.ID,
		IdempotencyKey: WebhookIdempotencyKey(w.in.OrderID, webhookID),
		Data:           data,
	}
}

func deliveryOutcome(webhookID string, res activities.DeliverResult, err error) DeliveryOutcome {
	out := DeliveryOutcome{WebhookID: webhookID, Status: DeliveryDelivered, StatusCode: res.StatusCode}
	if err == nil {
		return out
	}
	out.Status, out.Error = DeliveryFailed, err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeWebhookRejected {
		out.Status = DeliveryRejected
		_ = appErr.Details(&out.StatusCode)
	}
	return out
}
