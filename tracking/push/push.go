// Package push is what the push tracking sources share: the Source interface
// the HTTP edge serves each of them through, the Event a verified, parsed
// webhook becomes (the PushIngest workflow's input), its workflow ID, and the
// shared-token check. Each source lives in a package of its own under
// tracking/push (clickpost, fulfilment, shiprocket, delhivery) with its payload
// parser, its status table, its inbound key, token or signature check, its
// Ingest function that builds the Event, and the Source value (Push) that
// ties them together.
package push

import (
	"fmt"
	"time"
)

// Kinds of push event, decided from the payload by the source's Ingest.
const (
	KindStatus         = "status"          // a shipment status: goes through the status-update path
	KindCustomerReturn = "customer_return" // Clickpost is_rvp / code 101: recorded, never RTO
	KindTest           = "test"            // Clickpost's test-webhook payload: recorded only
	KindStock          = "stock"           // fulfilment SKU.CHANGE_STOCK
	KindIgnored        = "ignored"         // no canonical meaning: recorded only
)

// What became of a push event, as push_events records it.
const (
	OutcomeApplied        = "applied"         // matched an order and went through the status-update path
	OutcomeUnmatched      = "unmatched"       // no order has this waybill / order id / code
	OutcomeCustomerReturn = "customer_return" // a reverse pickup: recorded, never RTO
	OutcomeTest           = "test"            // Clickpost's test-webhook payload
	OutcomeStock          = "stock"           // SKU.CHANGE_STOCK
	OutcomeIgnored        = "ignored"         // a code, status or event with no canonical meaning
)

// Order fields an OrderRef can match on (the merchant's orders documents).
const (
	OrderByID             = "_id"
	OrderByAWB            = "awb"
	OrderByFulfilmentCode = "fulfilment_code"
)

// OrderRef is one way to find an event's order: an orders field and its value.
type OrderRef struct {
	Field string `json:"field"` // an OrderBy* field
	Value string `json:"value"`
}

// OrderRefs builds refs from field/value pairs, best first, skipping empty values.
func OrderRefs(pairs ...string) []OrderRef {
	var refs []OrderRef
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			refs = append(refs, OrderRef{Field: pairs[i], Value: pairs[i+1]})
		}
	}
	return refs
}

// Scan is one status an event reports, already canonical, with its own time.
type Scan struct {
	Status    string    `json:"status"`
	EventTime time.Time `json:"event_time"`
}

// StockLevel is the stock of a product in one warehouse area at a time, as a
// stock event reports it; ID keys it (StockLevelID).
type StockLevel struct {
	ID              string    `json:"id"`
	Account         string    `json:"account"`
	MerchantCode    string    `json:"merchant_code"`
	ProductCode     string    `json:"product_code"`
	WarehouseCode   string    `json:"warehouse_code"`
	WarehouseID     int64     `json:"warehouse_id"`
	WarehouseAreaID int64     `json:"warehouse_area_id"`
	SKUID           int64     `json:"sku_id"`
	StockID         int64     `json:"stock_id"`
	Quantity        int64     `json:"quantity"`
	RealQuantity    int64     `json:"real_quantity"`
	UpdatedAt       time.Time `json:"updated_at"` // the platform's time of this level: the newer one wins
	EventID         string    `json:"event_id"`   // the push event that reported it
}

// StockLevelID keys a level by account, merchant, product, warehouse and area.
func StockLevelID(account, merchant, product, warehouse string, area int64) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d", account, merchant, product, warehouse, area)
}

// Event is one verified, parsed push event: the PushIngest workflow's input.
type Event struct {
	EventID    string       `json:"event_id"` // also the workflow ID
	Source     string       `json:"source"`   // the Source's name: clickpost, fulfilment, shiprocket, delhivery
	Account    string       `json:"account"`
	Kind       string       `json:"kind"`
	Event      string       `json:"event"` // for the record: event name or code and description
	Waybill    string       `json:"waybill,omitempty"`
	OrderRefs  []OrderRef   `json:"order_refs,omitempty"`
	Scans      []Scan       `json:"scans,omitempty"`
	Stock      []StockLevel `json:"stock,omitempty"`
	EventTime  time.Time    `json:"event_time"`
	ReceivedAt time.Time    `json:"received_at"`
}

// NewestScan is the scan with the latest time; false when there is none.
func (e Event) NewestScan() (Scan, bool) {
	if len(e.Scans) == 0 {
		return Scan{}, false
	}
	newest := e.Scans[0]
	for _, s := range e.Scans[1:] {
		if s.EventTime.After(newest.EventTime) {
			newest = s
		}
	}
	return newest, true
}
