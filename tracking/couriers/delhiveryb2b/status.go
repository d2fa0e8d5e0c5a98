package delhiveryb2b

import (
	"strings"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// table maps Delhivery B2B (LTL) LR statuses (docs/couriers.md).
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

// Map turns an LR status into a canonical one; an unknown one is Unknown.
func Map(status string) couriers.Mapping {
	if m, ok := table[strings.ToUpper(strings.TrimSpace(status))]; ok {
		return m
	}
	return couriers.Mapping{Kind: couriers.Unknown}
}
