package delhiveryb2b

import (
	"strings"
	"unicode"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// table maps Delhivery B2B (LTL) LR statuses (docs/couriers.md), by their code form.
var table = map[string]couriers.Mapping{
	"MANIFESTED":                {Status: tracking.Booked, Kind: couriers.Forward},
	"NOT_PICKED":                {Status: tracking.Booked, Kind: couriers.Forward},
	"PICKED_UP":                 {Status: tracking.PickedUp, Kind: couriers.Forward},
	"LEFT_ORIGIN":               {Status: tracking.InTransit, Kind: couriers.Forward},
	"REACH_DESTINATION":         {Status: tracking.InTransit, Kind: couriers.Forward},
	"UNDEL_REATTEMPT":           {Status: tracking.NDR, Kind: couriers.Forward},
	"OFD":                       {Status: tracking.OutForDelivery, Kind: couriers.Forward},
	"PART_DEL":                  {Status: tracking.Delivered, Kind: couriers.Forward},
	"DELIVERED":                 {Status: tracking.Delivered, Kind: couriers.Forward},
	"LOST":                      {Status: tracking.Lost, Kind: couriers.Forward},
	"RETURNED_INTRANSIT":        {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	"RECEIVED_AT_RETURN_CENTER": {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	"RETURN_OFD":                {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	"RETURN_DELIVERED":          {Status: tracking.RTODelivered, Kind: couriers.RTO},
}

// humanForms maps the human-readable status strings the B2B tracking answers
// with instead of a code ("In Transit", "Out for Delivery"), after
// normalising, to the code they stand for. The published list names only the
// codes, so these are the codes' own words plus the usual spellings; a bare
// "Returned" is not among them (it does not say the parcel is an RTO).
var humanForms = map[string]string{
	"NOT_PICKED_UP":             "NOT_PICKED",
	"IN_TRANSIT":                "LEFT_ORIGIN",
	"REACHED_DESTINATION":       "REACH_DESTINATION",
	"REACHED_AT_DESTINATION":    "REACH_DESTINATION",
	"UNDELIVERED_REATTEMPT":     "UNDEL_REATTEMPT",
	"UNDELIVERED":               "UNDEL_REATTEMPT",
	"OUT_FOR_DELIVERY":          "OFD",
	"PART_DELIVERED":            "PART_DEL",
	"PARTIALLY_DELIVERED":       "PART_DEL",
	"RETURNED_IN_TRANSIT":       "RETURNED_INTRANSIT",
	"RETURN_IN_TRANSIT":         "RETURNED_INTRANSIT",
	"RTO_IN_TRANSIT":            "RETURNED_INTRANSIT",
	"RECEIVED_AT_RETURN_CENTRE": "RECEIVED_AT_RETURN_CENTER",
	"RETURN_OUT_FOR_DELIVERY":   "RETURN_OFD",
	"RTO_OUT_FOR_DELIVERY":      "RETURN_OFD",
	"RTO_DELIVERED":             "RETURN_DELIVERED",
}

// Map turns an LR status, in its code form ("RETURNED_INTRANSIT") or its
// human-readable form ("Returned In Transit"), into a canonical one; an
// unknown one is Unknown.
func Map(status string) couriers.Mapping {
	code := normalise(status)
	if alias, ok := humanForms[code]; ok {
		code = alias
	}
	if m, ok := table[code]; ok {
		return m
	}
	return couriers.Mapping{Kind: couriers.Unknown}
}

// normalise upper-cases a status and joins its words with single
// underscores: "Out for Delivery", "out-for-delivery" and "OUT_FOR_DELIVERY"
// all read OUT_FOR_DELIVERY.
func normalise(status string) string {
	words := strings.FieldsFunc(strings.ToUpper(status), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return strings.Join(words, "_")
}
