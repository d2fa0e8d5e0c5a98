package delhivery

import (
	"time"

	"orderflow/tracking/couriers"
	courier "orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/push"
)

// Ingest turns a parsed scan into the push.Event the PushIngest workflow
// takes; eventID is that workflow's ID, derived from Key. The order is found
// by AWB, then by ReferenceNo as the merchant's order _id.
//
// The scan is mapped by StatusType with the poller's table: RT and DL+RTO are
// the RTO family; PP and PU are customer returns in progress (return) and
// DL+DTO one delivered back (returned), applied like any status, never RTO; a
// pair the table does not know (or one that changes nothing) is recorded as
// ignored with the raw status kept in Event.
func Ingest(ev Event, account, eventID string, receivedAt time.Time) push.Event {
	st := ev.courierStatus()
	at := ev.Time().UTC()
	in := push.Event{
		EventID: eventID, Source: Source, Account: account, Waybill: string(ev.Shipment.AWB),
		Event: st.Raw(), EventTime: at, ReceivedAt: receivedAt,
		OrderRefs: push.OrderRefs(push.OrderByAWB, string(ev.Shipment.AWB), push.OrderByID, string(ev.Shipment.ReferenceNo)),
	}
	m := courier.Map(st)
	switch {
	case m.Kind == couriers.CustomerReturn:
		in.Kind = push.KindCustomerReturn
		if m.Status != "" {
			in.Scans = []push.Scan{{Status: m.Status, EventTime: at}}
		}
	case m.Kind == couriers.Unknown || m.Status == "":
		in.Kind = push.KindIgnored
	default:
		in.Kind = push.KindStatus
		in.Scans = []push.Scan{{Status: m.Status, EventTime: at}}
	}
	return in
}
