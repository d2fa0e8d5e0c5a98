package fulfilment

import (
	"time"

	"orderflow/tracking/push"
)

// Ingest turns a parsed event into the push.Event the PushIngest workflow
// takes; eventID is that workflow's ID, derived from the X-Event-Delivery id.
// The order code is matched against the order _id, then the order's
// fulfilment_code field. A stock change becomes one level per warehouse area.
func Ingest(ev Event, account, eventID string, receivedAt time.Time) push.Event {
	in := push.Event{
		EventID: eventID, Source: Source, Account: account, Event: ev.Name,
		ReceivedAt: receivedAt, EventTime: receivedAt, Kind: push.KindIgnored,
	}
	switch {
	case ev.Order != nil:
		oc := ev.Order
		in.Event = ev.Name + " " + oc.ToStatus
		in.EventTime, _ = ParseTime(oc.Order.UpdatedAt) // Parse checked it
		in.EventTime = in.EventTime.UTC()
		in.OrderRefs = push.OrderRefs(push.OrderByID, oc.Order.Code, push.OrderByFulfilmentCode, oc.Order.Code)
		if status, ok := Canonical(oc.ToStatus); ok {
			in.Kind = push.KindStatus
			in.Scans = []push.Scan{{Status: status, EventTime: in.EventTime}}
		}
	case ev.Stock != nil:
		in.Kind = push.KindStock
		in.Event = ev.Name + " " + ev.Stock.ProductCode
		in.Stock = stockLevels(ev.Stock, account, eventID)
	}
	return in
}

func stockLevels(sc *StockChange, account, eventID string) []push.StockLevel {
	var out []push.StockLevel
	for _, l := range sc.Levels() {
		out = append(out, push.StockLevel{
			ID:      push.StockLevelID(account, l.MerchantCode, l.ProductCode, l.WarehouseCode, l.WarehouseAreaID),
			Account: account, MerchantCode: l.MerchantCode, ProductCode: l.ProductCode, WarehouseCode: l.WarehouseCode,
			WarehouseID: l.WarehouseID, WarehouseAreaID: l.WarehouseAreaID, SKUID: l.SKUID, StockID: l.StockID,
			Quantity: l.Quantity, RealQuantity: l.RealQuantity, UpdatedAt: l.UpdatedAt, EventID: eventID,
		})
	}
	return out
}
