package activities

import (
	"context"

	"orderflow/store"
)

// PushStore is what the push-ingest activities need of MongoDB; *store.Store implements it.
type PushStore interface {
	FindOrder(ctx context.Context, refs []store.OrderRef) (string, bool, error)
	RecordPushEvent(ctx context.Context, ev store.PushEvent) error
	ApplyStockLevel(ctx context.Context, l store.StockLevel) (bool, error)
}

// FindPushOrderInput lists the ways to find the order of a push event, best first
// (Clickpost: waybill, then additional.order_id; fulfilment: order code).
type FindPushOrderInput struct {
	Refs []store.OrderRef `json:"refs"`
}

// FindPushOrderResult is the matched order, if any.
type FindPushOrderResult struct {
	OrderID string `json:"order_id"`
	Found   bool   `json:"found"`
}

// FindPushOrder resolves a push event's order.
func (a *Activities) FindPushOrder(ctx context.Context, in FindPushOrderInput) (FindPushOrderResult, error) {
	id, found, err := a.Push.FindOrder(ctx, in.Refs)
	if err != nil {
		return FindPushOrderResult{}, err
	}
	return FindPushOrderResult{OrderID: id, Found: found}, nil
}

// RecordPushEvent writes what became of a push event to push_events (idempotent by its ID).
func (a *Activities) RecordPushEvent(ctx context.Context, ev store.PushEvent) error {
	ev.RecordedAt = a.now().UTC()
	if err := a.Push.RecordPushEvent(ctx, ev); err != nil {
		return err
	}
	if a.Metrics != nil {
		a.Metrics.PushEvents.WithLabelValues(ev.Source, ev.Outcome).Inc()
	}
	return nil
}

// ApplyStockLevelsInput is the stock rows of one SKU.CHANGE_STOCK event.
type ApplyStockLevelsInput struct {
	Levels []store.StockLevel `json:"levels"`
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
		applied, err := a.Push.ApplyStockLevel(ctx, l)
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
