package shiprocket

import (
	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// codes maps shipment_status codes (docs/couriers.md). Mapping is on the code, never
// on strings: a forward shipment's scan can read "RTO/CHD" as a hub name.
var codes = map[int]couriers.Mapping{
	1:  {Status: tracking.Booked, Kind: couriers.Forward}, // AWB Assigned
	2:  {Status: tracking.Booked, Kind: couriers.Forward}, // Label Generated
	3:  {Status: tracking.Booked, Kind: couriers.Forward}, // Pickup Scheduled
	4:  {Status: tracking.Booked, Kind: couriers.Forward}, // Pickup Queued
	5:  {Status: tracking.Booked, Kind: couriers.Forward}, // Manifest Generated
	6:  {Status: tracking.InTransit, Kind: couriers.Forward},
	7:  {Status: tracking.Delivered, Kind: couriers.Forward},
	8:  {Status: tracking.Cancelled, Kind: couriers.Forward},
	9:  {Status: tracking.RTO, Kind: couriers.RTO}, // RTO Initiated
	10: {Status: tracking.RTODelivered, Kind: couriers.RTO},
	11: {Status: tracking.Pending, Kind: couriers.Forward},
	12: {Status: tracking.Lost, Kind: couriers.Forward},
	13: {Status: tracking.Pending, Kind: couriers.Forward}, // Pickup Error
	14: {Status: tracking.RTO, Kind: couriers.RTO},         // RTO Acknowledged
	15: {Status: tracking.Pending, Kind: couriers.Forward}, // Pickup Rescheduled
	// 16 Cancellation Requested is not a cancellation yet: known, no status change.
	16: {Kind: couriers.Forward},
	17: {Status: tracking.OutForDelivery, Kind: couriers.Forward},
	18: {Status: tracking.InTransit, Kind: couriers.Forward},
	19: {Status: tracking.Booked, Kind: couriers.Forward},  // Out For Pickup
	20: {Status: tracking.Pending, Kind: couriers.Forward}, // Pickup Exception
	21: {Status: tracking.NDR, Kind: couriers.Forward},     // Undelivered
	22: {Status: tracking.InTransit, Kind: couriers.Forward},
	23: {Status: tracking.Delivered, Kind: couriers.Forward}, // Partial Delivered
	24: {Status: tracking.Damaged, Kind: couriers.Forward},   // Destroyed
	25: {Status: tracking.Damaged, Kind: couriers.Forward},
	26: {Status: tracking.Delivered, Kind: couriers.Forward}, // Fulfilled
	27: {Status: tracking.Booked, Kind: couriers.Forward},    // Pickup Booked
	38: {Status: tracking.InTransit, Kind: couriers.Forward}, // Reached Destination Hub
	39: {Status: tracking.InTransit, Kind: couriers.Forward}, // Misrouted
	40: {Status: tracking.RTOInTransit, Kind: couriers.RTO},  // RTO NDR
	41: {Status: tracking.RTOInTransit, Kind: couriers.RTO},  // RTO OFD
	42: {Status: tracking.PickedUp, Kind: couriers.Forward},
	43: {Status: tracking.Delivered, Kind: couriers.Forward}, // Self Fulfilled
	44: {Status: tracking.Lost, Kind: couriers.Forward},      // Disposed Off
	45: {Status: tracking.Cancelled, Kind: couriers.Forward}, // Cancelled Before Dispatched
	46: {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	47: {Kind: couriers.Forward},                            // QC Failed: a reverse-pickup check, no status change
	75: {Status: tracking.RTO, Kind: couriers.RTO},          // RTO Lock
	76: {Status: tracking.Lost, Kind: couriers.Forward},     // Untraceable
	77: {Status: tracking.NDR, Kind: couriers.Forward},      // Issue Related To Recipient
	78: {Status: tracking.RTOInTransit, Kind: couriers.RTO}, // Reached Back At Seller City
}

// Map turns a shipment_status code into a canonical status. A return shipment
// (is_return) reuses forward labels and is a customer return, never RTO: its
// delivery (back to the seller) is returned, its other steps return, and its
// cancellation, loss or RTO codes change nothing (tracking.ReturnStatus).
func Map(code int, isReturn bool) couriers.Mapping {
	m, ok := codes[code]
	if !ok {
		return couriers.Mapping{Kind: couriers.Unknown}
	}
	if isReturn {
		if code == 10 { // RTO Delivered on a return shipment: it reached the seller
			return couriers.Mapping{Status: tracking.Returned, Kind: couriers.CustomerReturn}
		}
		return couriers.Mapping{Status: tracking.ReturnStatus(m.Status), Kind: couriers.CustomerReturn}
	}
	return m
}
