package clickpost

import (
	"fmt"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

// Ingest turns a parsed event into the push.Event the PushIngest workflow
// takes; eventID is that workflow's ID, derived from Key. The order is found
// by waybill, then additional.order_id (the merchant's order _id). A customer
// return (is_rvp, code 101) keeps its forward AWB as the first way to find the
// order; its waybill is the return shipment's AWB and its scans are return
// statuses (tracking.ReturnStatus: delivered back is returned, code 101 and
// the rest of the journey return): never RTO. Both
// the event's scan and additional.latest_status are applied, each at its own
// time, so whichever is newer wins and an older one cannot regress the order.
func Ingest(ev Event, account, eventID string, receivedAt time.Time) push.Event {
	in := push.Event{
		EventID: eventID, Source: Source, Account: account, Waybill: ev.Waybill,
		ReceivedAt: receivedAt, EventTime: receivedAt, Event: fmt.Sprintf("%d %s", ev.Code, ev.Description),
	}
	if ev.IsTest() {
		in.Kind, in.Event, in.Waybill = push.KindTest, "test_webhook", ""
		return in
	}
	in.EventTime, _ = ParseTime(ev.Timestamp) // Parse checked it
	in.EventTime = in.EventTime.UTC()
	if ev.IsCustomerReturn() {
		in.Kind = push.KindCustomerReturn
		in.OrderRefs = push.OrderRefs(push.OrderByAWB, ev.Additional.ForwardAWB, push.OrderByAWB, ev.Waybill,
			push.OrderByID, ev.Additional.OrderID)
		in.Scans = returnScans(ev)
		return in
	}
	in.OrderRefs = push.OrderRefs(push.OrderByAWB, ev.Waybill, push.OrderByID, ev.Additional.OrderID)
	in.Scans = canonicalScans(ev)
	in.Kind = push.KindStatus
	if len(in.Scans) == 0 {
		in.Kind = push.KindIgnored
	}
	return in
}

// canonicalScans are the event's scans whose code has a canonical status;
// the others change no order.
func canonicalScans(ev Event) []push.Scan {
	var out []push.Scan
	for _, s := range ev.Scans() {
		status, _ := Canonical(s.Code)
		if status == "" {
			continue
		}
		at, _ := ParseTime(s.Timestamp) // Parse checked it
		out = append(out, push.Scan{Status: status, EventTime: at.UTC()})
	}
	return out
}

// returnScans are a reverse pickup's scans as customer-return statuses: the
// forward meaning of each code through tracking.ReturnStatus, and "Return
// Order Placed" (code 101) as return. Codes that mean nothing for a return
// (cancelled, lost, RTO on the return shipment) are left out.
func returnScans(ev Event) []push.Scan {
	var out []push.Scan
	for _, s := range ev.Scans() {
		status, _ := Canonical(s.Code)
		status = tracking.ReturnStatus(status)
		if s.Code == CodeCustomerReturn {
			status = tracking.Return
		}
		if status == "" {
			continue
		}
		at, _ := ParseTime(s.Timestamp) // Parse checked it
		out = append(out, push.Scan{Status: status, EventTime: at.UTC()})
	}
	return out
}
