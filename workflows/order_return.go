package workflows

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
)

// EventOrderReturn is the webhook event of a customer return: one per return
// shipment, delivered only to the webhooks subscribed to it.
const EventOrderReturn = "order.return"

const orderReturnPrefix = "order-return:"

// OrderReturnWorkflowID is the one workflow ID a return shipment of an order
// can have: Temporal refuses a second one, so the shipment is told once.
func OrderReturnWorkflowID(orderID, returnAWB string) string {
	return orderReturnPrefix + orderID + ":" + returnAWB
}

// OrderReturnIdempotencyKey is sent with every POST of one (return shipment,
// webhook) delivery: distinct from the order's RTO key, the same on every retry.
func OrderReturnIdempotencyKey(orderID, returnAWB, webhookID string) string {
	return OrderReturnWorkflowID(orderID, returnAWB) + ":" + webhookID
}

// OrderReturnInput names a customer return shipment of an order.
type OrderReturnInput struct {
	OrderID   string `json:"order_id"`
	ReturnAWB string `json:"return_awb"`
	Status    string `json:"status"` // return or returned: the status the first report of the shipment carried
	Source    string `json:"source"` // the push source that reported it
}

// OrderReturnResult is the outcome for each subscribed webhook.
type OrderReturnResult struct {
	// Found is false when the order no longer exists: nothing is sent.
	Found      bool              `json:"found"`
	Deliveries []DeliveryOutcome `json:"deliveries"`
}

// OrderReturn tells the webhooks subscribed to order.return, once per return
// shipment, that a customer is returning an order. It reads the order (no
// claim: a return is never an order's first RTO and decides nothing about
// one), looks up its marketplace, selects the order.return webhooks whose
// conditions match and delivers each in a retried activity of its own, with
// RTOCancel's delivery activity and retry schedule.
func OrderReturn(ctx workflow.Context, in OrderReturnInput) (OrderReturnResult, error) {
	if in.OrderID == "" || in.ReturnAWB == "" || !tracking.IsReturn(in.Status) {
		return OrderReturnResult{}, temporal.NewNonRetryableApplicationError(
			"OrderReturn needs an order id, a return AWB and a return status", "InvalidInput", nil)
	}
	logger := log.With(workflow.GetLogger(ctx), "order_id", in.OrderID, "return_awb", in.ReturnAWB, "source", in.Source)
	steps := newMongoSteps(ctx)
	var read activities.ReadReturnOrderResult
	if err := steps.run(ctx, mongoStep, a.ReadReturnOrder,
		activities.ReadReturnOrderInput{OrderID: in.OrderID}).Get(ctx, &read); err != nil {
		return OrderReturnResult{}, err
	}
	if !read.Found {
		logger.Info("order of the customer return no longer exists; nothing to send")
		return OrderReturnResult{Deliveries: []DeliveryOutcome{}}, nil
	}
	order := read.Order
	marketplace := (&rtoCancel{steps: steps, logger: logger}).marketplaceName(ctx, order.MarketplaceID)

	var webhookIDs []string
	err := steps.run(ctx, mongoStep, a.SelectWebhooks, activities.SelectWebhooksInput{
		Event: EventOrderReturn, Module: ModuleOrder,
		Data: map[string]any{"tracking_status": in.Status, "order_id": in.OrderID, "return_awb": in.ReturnAWB},
	}).Get(ctx, &webhookIDs)
	if err != nil {
		return OrderReturnResult{}, err
	}
	data := map[string]any{
		"order_id":        in.OrderID,
		"customer":        order.Customer,
		"total_amt":       order.TotalAmt,
		"source":          marketplace,
		"status":          tracking.Return,
		"tracking_status": in.Status,
		"awb":             order.AWB,
		"return_awb":      in.ReturnAWB,
		"courier":         in.Source,
	}
	return OrderReturnResult{Found: true, Deliveries: deliverReturn(ctx, logger, in, webhookIDs, data)}, nil
}

// deliverReturn sends every subscribed webhook its own delivery, in parallel.
func deliverReturn(ctx workflow.Context, logger log.Logger, in OrderReturnInput, webhookIDs []string, data map[string]any) []DeliveryOutcome {
	ctx = workflow.WithActivityOptions(ctx, webhookDelivery)
	futures := make([]workflow.Future, len(webhookIDs))
	for i, id := range webhookIDs {
		futures[i] = workflow.ExecuteActivity(ctx, a.DeliverWebhook, activities.DeliverInput{
			WebhookID:      id,
			Event:          EventOrderReturn,
			OrderID:        in.OrderID,
			WorkflowID:     workflow.GetInfo(ctx).WorkflowExecution.ID,
			IdempotencyKey: OrderReturnIdempotencyKey(in.OrderID, in.ReturnAWB, id),
			Data:           data,
		})
	}
	out := make([]DeliveryOutcome, len(webhookIDs))
	for i, f := range futures {
		var res activities.DeliverResult
		err := f.Get(ctx, &res)
		out[i] = deliveryOutcome(webhookIDs[i], res, err)
		if out[i].Status != DeliveryDelivered {
			logger.Warn("order.return delivery did not succeed", "webhook_id", webhookIDs[i], "outcome", out[i].Status, "error", out[i].Error)
		}
	}
	return out
}
