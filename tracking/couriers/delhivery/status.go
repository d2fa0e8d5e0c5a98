package delhivery

import (
	"slices"
	"strings"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// Status is the part of a Delhivery shipment that decides its canonical status.
// Direction lives in StatusType, not in Status: the same "In Transit" is
// forward under UD, RTO under RT and a customer return under PU.
type Status struct {
	Status           string // e.g. "In Transit"
	StatusType       string // UD, RT, DL, PP, PU, CN
	StatusCode       string // e.g. X-PPOM, EOD-74, DTUP-210
	ReverseInTransit bool
	RTOStarted       bool // RTOStartedDate is set
}

// ndrCodes are the StatusCodes of a failed delivery attempt (docs/couriers.md).
var ndrCodes = []string{"EOD-74", "EOD-15", "EOD-104", "EOD-43", "EOD-86", "EOD-11", "EOD-69", "EOD-6", "ST-108", "EOD-3", "EOD-16"}

// sellerCancelledCode marks a parcel the seller cancelled before pickup (it stays UD Not Picked).
const sellerCancelledCode = "DTUP-210"

// table maps (StatusType, Status) with Status lower-cased.
var table = map[[2]string]couriers.Mapping{
	{"UD", "manifested"}: {Status: tracking.Booked, Kind: couriers.Forward},
	{"UD", "not picked"}: {Status: tracking.Booked, Kind: couriers.Forward},
	{"UD", "open"}:       {Status: tracking.Booked, Kind: couriers.Forward},
	{"UD", "scheduled"}:  {Status: tracking.Booked, Kind: couriers.Forward},
	{"UD", "in transit"}: {Status: tracking.InTransit, Kind: couriers.Forward},
	{"UD", "pending"}:    {Status: tracking.InTransit, Kind: couriers.Forward},
	{"UD", "dispatched"}: {Status: tracking.OutForDelivery, Kind: couriers.Forward},
	{"UD", "lost"}:       {Status: tracking.Lost, Kind: couriers.Forward},
	{"UD", "returned"}:   {Status: tracking.Cancelled, Kind: couriers.Forward}, // a cancelled parcel may read "Returned": not RTO
	{"UD", "canceled"}:   {Status: tracking.Cancelled, Kind: couriers.Forward},
	{"UD", "cancelled"}:  {Status: tracking.Cancelled, Kind: couriers.Forward},
	{"DL", "delivered"}:  {Status: tracking.Delivered, Kind: couriers.Forward},
	{"DL", "rto"}:        {Status: tracking.RTODelivered, Kind: couriers.RTO},
	{"DL", "dto"}:        {Status: tracking.Returned, Kind: couriers.CustomerReturn}, // delivered to origin after a customer return
	{"RT", "in transit"}: {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	{"RT", "pending"}:    {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	{"RT", "dispatched"}: {Status: tracking.RTOInTransit, Kind: couriers.RTO}, // RTO out for delivery
	{"RT", "rto"}:        {Status: tracking.RTO, Kind: couriers.RTO},
	{"RT", "returned"}:   {Status: tracking.RTOInTransit, Kind: couriers.RTO},
	{"PP", "open"}:       {Status: tracking.Return, Kind: couriers.CustomerReturn},
	{"PP", "scheduled"}:  {Status: tracking.Return, Kind: couriers.CustomerReturn},
	{"PP", "dispatched"}: {Status: tracking.Return, Kind: couriers.CustomerReturn},
	{"PU", "in transit"}: {Status: tracking.Return, Kind: couriers.CustomerReturn},
	{"PU", "pending"}:    {Status: tracking.Return, Kind: couriers.CustomerReturn},
	{"PU", "dispatched"}: {Status: tracking.Return, Kind: couriers.CustomerReturn},
	{"CN", "canceled"}:   {Status: tracking.Cancelled, Kind: couriers.Forward},
	{"CN", "cancelled"}:  {Status: tracking.Cancelled, Kind: couriers.Forward},
	{"CN", "returned"}:   {Status: tracking.Cancelled, Kind: couriers.Forward},
	{"CN", "closed"}:     {Status: tracking.Cancelled, Kind: couriers.Forward},
}

// Map turns a Delhivery status into a canonical one. Customer returns
// (PP/PU, DL+DTO) are never RTO; a cancelled parcel reading "Returned" is not
// RTO; a forward (UD) shipment whose RTO has started (RTOStartedDate,
// ReverseInTransit) is RTO in transit. Anything else unknown is Unknown.
func Map(s Status) couriers.Mapping {
	typ := strings.ToUpper(strings.TrimSpace(s.StatusType))
	st := strings.ToLower(strings.TrimSpace(s.Status))
	code := strings.ToUpper(strings.TrimSpace(s.StatusCode))
	if typ == "UD" {
		switch {
		case code == sellerCancelledCode:
			return couriers.Mapping{Status: tracking.Cancelled, Kind: couriers.Forward}
		case s.RTOStarted || s.ReverseInTransit:
			return couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}
		case slices.Contains(ndrCodes, code) && st != "delivered":
			return couriers.Mapping{Status: tracking.NDR, Kind: couriers.Forward}
		}
	}
	if m, ok := table[[2]string{typ, st}]; ok {
		return m
	}
	return couriers.Mapping{Kind: couriers.Unknown}
}

// Raw is the status as the courier wrote it, kept on the order and in logs.
func (s Status) Raw() string {
	return s.StatusType + "/" + s.Status + "/" + s.StatusCode
}
