// Package tracking is orderflow's one tracking home. This package holds what
// needs no I/O, so workflows may import it: the canonical shipment statuses
// every source maps to (docs/couriers.md), the observation the status-update path applies to
// orders whether it came from a poll or a push, and the trackers with the
// courier APIs they call. Courier poll clients live in tracking/couriers/<api>
// behind couriers.Poller; push sources in tracking/push/<source>.
package tracking

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Canonical statuses. The strings are the contract: webhook conditions match on them.
const (
	Pending        = "pending"
	Booked         = "booked"
	PickedUp       = "picked up"
	InTransit      = "in transit"
	OutForDelivery = "out for delivery"
	Delivered      = "delivered"
	NDR            = "ndr"
	RTO            = "rto"
	RTOInTransit   = "rto in transit"
	RTODelivered   = "rto delivered"
	Cancelled      = "cancelled"
	Lost           = "lost"
	Damaged        = "damaged"
	// Return is a customer return in progress (a reverse pickup the customer
	// asked for), Returned that return delivered back to the seller. Neither
	// is ever RTO.
	Return   = "return"
	Returned = "returned"
)

// Canonical lists every canonical status.
var Canonical = []string{Pending, Booked, PickedUp, InTransit, OutForDelivery, Delivered, NDR,
	RTO, RTOInTransit, RTODelivered, Cancelled, Lost, Damaged, Return, Returned}

// IsCanonical reports whether s is one of the canonical statuses.
func IsCanonical(s string) bool { return slices.Contains(Canonical, s) }

// IsRTO reports whether s is in the RTO family: reaching any of them for the
// first time is the order's first RTO (an order may jump straight to rto delivered).
func IsRTO(s string) bool { return s == RTO || s == RTOInTransit || s == RTODelivered }

// IsReturn reports whether s is a customer-return status: never RTO.
func IsReturn(s string) bool { return s == Return || s == Returned }

// ReturnStatus is what a return shipment's status, read with the forward
// table, means for the order: delivered (back to the seller) is returned;
// any other step of the journey is return; cancelled, lost, damaged, the RTO
// family and "" change nothing (""), since a return is never RTO and a
// return that fails does not undo the delivery.
func ReturnStatus(forward string) string {
	switch forward {
	case Delivered:
		return Returned
	case Pending, Booked, PickedUp, InTransit, OutForDelivery, NDR, Return:
		return Return
	case Returned:
		return Returned
	}
	return ""
}

// NotReplacedBy lists the statuses an order keeps whatever the time of an
// observation of next. The status-update path is newest-wins by event time,
// except that a customer return moves only forward: once an order is in
// return or returned, no forward or RTO-family status replaces it (the
// forward shipment ended in delivery; a later forward report re-reads it, e.g.
// a poll stamped with its own time), and returned is not replaced by return.
func NotReplacedBy(next string) []string {
	switch next {
	case Returned:
		return nil
	case Return:
		return []string{Returned}
	}
	return []string{Return, Returned}
}

// MayReplace reports whether an observation of next, newer than the order's
// current status, moves the order to it (NotReplacedBy's rule).
func MayReplace(current, next string) bool {
	return current != next && !slices.Contains(NotReplacedBy(next), current)
}

// TimestampField is the orders field holding the first time status s was seen:
// tracking_timestamps.rto_in_transit for "rto in transit" (the in-house cron's field names).
func TimestampField(s string) string {
	return "tracking_timestamps." + strings.ReplaceAll(s, " ", "_")
}

// Observation is one source's report that an order had a status at a time.
type Observation struct {
	OrderID   string    `json:"order_id"`
	Source    string    `json:"source"` // e.g. delhivery, shiprocket, clickpost, manual
	Status    string    `json:"status"` // canonical
	EventTime time.Time `json:"event_time"`
}

// Validate rejects an observation the status-update path must not apply.
func (o Observation) Validate() error {
	switch {
	case o.OrderID == "":
		return fmt.Errorf("order_id is required")
	case o.Source == "":
		return fmt.Errorf("source is required")
	case !IsCanonical(o.Status):
		return fmt.Errorf("status %q is not canonical (one of: %s)", o.Status, strings.Join(Canonical, ", "))
	case o.EventTime.IsZero():
		return fmt.Errorf("event_time is required")
	}
	return nil
}
