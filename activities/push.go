package activities

import (
	"context"
	"time"

	"orderflow/store"
	"orderflow/tracking/push"
)

// PushStore is what the push-ingest activities need of MongoDB; *store.Store implements it.
type PushStore interface {
	FindOrder(ctx context.Context, refs []store.OrderRef) (string, bool, error)
	RecordPushEvent(ctx context.Context, ev store.PushEvent) error
	ApplyStockLevel(ctx context.Context, l store.StockLevel) (bool, error)
	ReadOrder(ctx context.Context, orderID string) (store.OrderSnapshot, bool, error)
}

// FindPushOrderInput lists the ways to find the order of a push event, best first
// (Clickpost: waybill, then additional.order_id; fulfilment: order code).
type FindPushOrderInput struct {
	Refs []push.OrderRef `json:"refs"`
}

// FindPushOrderResult is the matched order, if any.
type FindPushOrderResult struct {
	OrderID string `json:"order_id"`
	Found   bool   `json:"found"`
}

// FindPushOrder resolves a push event's order.
func (a *Activities) FindPushOrder(ctx context.Context, in FindPushOrderInput) (FindPushOrderResult, error) {
	id, found, err := a.Push.FindOrder(ctx, storeOrderRefs(in.Refs))
	if err != nil {
		return FindPushOrderResult{}, err
	}
	return FindPushOrderResult{OrderID: id, Found: found}, nil
}

func storeOrderRefs(refs []push.OrderRef) []store.OrderRef {
	var out []store.OrderRef
	for _, r := range refs {
		out = append(out, store.OrderRef(r))
	}
	return out
}

// PushEventRecord is what became of one push event, for push_events. Its ID is
// the PushIngest workflow's ID, so recording it again is a no-op; the activity
// adds the time it was recorded.
type PushEventRecord struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Outcome    string          `json:"outcome"` // a push.Outcome* value
	Event      string          `json:"event"`   // fulfilment event name, or Clickpost's code and description
	Waybill    string          `json:"waybill,omitempty"`
	OrderRefs  []push.OrderRef `json:"order_refs,omitempty"`
	OrderID    string          `json:"order_id,omitempty"`
	Statuses   []string        `json:"statuses,omitempty"` // canonical, one per scan
	EventTime  time.Time       `json:"event_time"`
	ReceivedAt time.Time       `json:"received_at"`
}

// RecordPushEvent writes what became of a push event to push_events (idempotent by its ID).
func (a *Activities) RecordPushEvent(ctx context.Context, ev PushEventRecord) error {
	rec := store.PushEvent{
		ID: ev.ID, Source: ev.Source, Account: ev.Account, Outcome: ev.Outcome, Event: ev.Event,
		Waybill: ev.Waybill, OrderRefs: storeOrderRefs(ev.OrderRefs), OrderID: ev.OrderID, Statuses: ev.Statuses,
		EventTime: ev.EventTime, ReceivedAt: ev.ReceivedAt, RecordedAt: a.now().UTC(),
	}
	if err := a.Push.RecordPushEvent(ctx, rec); err != nil {
		return err
	}
	if a.Metrics != nil {
		a.Metrics.PushEvents.WithLabelValues(ev.Source, ev.Outcome).Inc()
	}
	return nil
}

// ApplyStockLevelsInput is the stock rows of one SKU.CHANGE_STOCK event.
type ApplyStockLevelsInput struct {
	Levels []push.StockLevel `json:"levels"`
}

// ApplyStockLevelsResult counts rows written and rows older than what is stored.
type ApplyStockLevelsResult struct {
	Applied int `json:"applied"`
	Stale   int `json:"stale"`
}

// ApplyStockLevels keeps the latest stock per product and warehouse area: a
// row older than the stored one changes nothing. Idempotent.
func (a *Activities) ApplyStockLevels(ctx context.Context, in ApplyStockLevelsInput) (ApplyStockLevelsResult, error) {
	var res ApplyStockLevelsResult
	for _, l := range in.Levels {
		applied, err := a.Push.ApplyStockLevel(ctx, store.StockLevel(l)) // same fields: a new one on either side stops the build
		if err != nil {
			return ApplyStockLevelsResult{}, err
		}
		if applied {
			res.Applied++
		} else {
			res.Stale++
		}
	}
	return res, nil
}

// ReadReturnOrderInput names the order of a customer return.
type ReadReturnOrderInput struct {
	OrderID string `json:"order_id"`
}

// ReadReturnOrderResult is what the order.return payload needs of the order.
type ReadReturnOrderResult struct {
	Found bool          `json:"found"`
	Order OrderSnapshot `json:"order"`
}

// ReadReturnOrder reads the order a customer return belongs to. Unlike
// ClaimFirstRTO it claims nothing: every return shipment is told once by the
// OrderReturn workflow's own ID.
func (a *Activities) ReadReturnOrder(ctx context.Context, in ReadReturnOrderInput) (ReadReturnOrderResult, error) {
	snap, found, err := a.Push.ReadOrder(ctx, in.OrderID)
	if err != nil {
		return ReadReturnOrderResult{}, err
	}
	return ReadReturnOrderResult{Found: found, Order: OrderSnapshot(snap)}, nil
}
