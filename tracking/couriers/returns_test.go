package couriers

import (
	"testing"

	"orderflow/tracking"
)

// A return shipment's own AWB is never RTO: its RTO-looking codes are the
// return on its way back, its delivery is the return reaching the seller.
func TestReturnShipmentStatusNeverRTO(t *testing.T) {
	for _, tc := range []struct {
		m    Mapping
		want string
	}{
		{Mapping{Status: tracking.RTO, Kind: RTO}, tracking.Return},
		{Mapping{Status: tracking.RTOInTransit, Kind: RTO}, tracking.Return},
		{Mapping{Status: tracking.RTODelivered, Kind: RTO}, tracking.Returned},
		{Mapping{Status: tracking.InTransit, Kind: Forward}, tracking.Return},
		{Mapping{Status: tracking.PickedUp, Kind: Forward}, tracking.Return},
		{Mapping{Status: tracking.Delivered, Kind: Forward}, tracking.Returned},
		{Mapping{Status: tracking.Return, Kind: CustomerReturn}, tracking.Return},
		{Mapping{Status: tracking.Returned, Kind: CustomerReturn}, tracking.Returned},
		{Mapping{Status: tracking.Cancelled, Kind: Forward}, ""},
		{Mapping{Status: tracking.Lost, Kind: Forward}, ""},
		{Mapping{Kind: Unknown}, ""},
	} {
		got := ReturnShipmentStatus(tc.m)
		if got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.m, got, tc.want)
		}
		if tracking.IsRTO(got) {
			t.Errorf("%+v: a return shipment's status %q is in the RTO family", tc.m, got)
		}
	}
}
