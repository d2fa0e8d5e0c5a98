package shiprocket

import (
	"fmt"
	"time"

	"orderflow/tracking/couriers"
	courier "orderflow/tracking/couriers/shiprocket"
	"orderflow/tracking/push"
)

// Ingest turns a parsed event into the push.Event the PushIngest workflow
// takes; eventID is that workflow's ID, derived from Key. The order is found
// by awb, then by order_id as the merchant's order _id.
//
// The status is shipment_status_id mapped with the poller's table, at
// current_timestamp; every scan of the history whose sr-status the table
// knows is applied too, each at its own date, so a missed or late push costs
// nothing and an older status never overwrites a newer one (the status path
// keeps the newest). A return shipment (is_return) is a customer return, its
// status and history mapped the same way to return and returned (the table's
// return reading), never RTO. A shipment_status_id the table does not know is
// recorded as ignored, the code kept in Event.
func Ingest(ev Event, account, eventID string, receivedAt time.Time) push.Event {
	code, _ := ev.statusCode() // Parse checked both
	at, _ := ev.Time()
	in := push.Event{
		EventID: eventID, Source: Source, Account: account, Waybill: string(ev.AWB),
		Event:     fmt.Sprintf("%d %s (current_status_id %d)", code, ev.ShipmentStatus, ev.CurrentStatusID),
		EventTime: at.UTC(), ReceivedAt: receivedAt,
		OrderRefs: push.OrderRefs(push.OrderByAWB, string(ev.AWB), push.OrderByID, string(ev.OrderID)),
	}
	isReturn := bool(ev.IsReturn)
	switch m := courier.Map(code, isReturn); m.Kind {
	case couriers.CustomerReturn:
		in.Kind = push.KindCustomerReturn
		in.Scans = canonicalScans(ev, code, at, true)
		return in
	case couriers.Unknown:
		in.Kind = push.KindIgnored
		return in
	}
	in.Scans = canonicalScans(ev, code, at, false)
	in.Kind = push.KindStatus
	if len(in.Scans) == 0 {
		in.Kind = push.KindIgnored
	}
	return in
}

// canonicalScans maps the event's status and its coded scan history, leaving
// out codes with no canonical status (e.g. 16 Cancellation Requested) and
// repeats of one status at one time; a return shipment's codes read as return statuses.
func canonicalScans(ev Event, code int, at time.Time, isReturn bool) []push.Scan {
	coded := append([]codedScan{{code: code, at: at}}, ev.codedScans()...)
	var out []push.Scan
	seen := map[push.Scan]bool{}
	for _, c := range coded {
		m := courier.Map(c.code, isReturn)
		if m.Status == "" {
			continue
		}
		s := push.Scan{Status: m.Status, EventTime: c.at.UTC()}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
