package tracking

import (
	"testing"
	"time"
)

func TestRTOFamily(t *testing.T) {
	want := map[string]bool{RTO: true, RTOInTransit: true, RTODelivered: true}
	for _, s := range Canonical {
		if IsRTO(s) != want[s] {
			t.Errorf("IsRTO(%q) = %v", s, IsRTO(s))
		}
	}
}

func TestTimestampFieldUsesSeedNames(t *testing.T) {
	if got := TimestampField(RTOInTransit); got != "tracking_timestamps.rto_in_transit" {
		t.Errorf("got %q", got)
	}
	if got := TimestampField(RTO); got != "tracking_timestamps.rto" {
		t.Errorf("got %q", got)
	}
}

func TestObservationValidate(t *testing.T) {
	ok := Observation{OrderID: "o", Source: "manual", Status: RTO, EventTime: time.Now()}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Observation{
		{Source: "s", Status: RTO, EventTime: time.Now()},
		{OrderID: "o", Status: RTO, EventTime: time.Now()},
		{OrderID: "o", Source: "s", Status: "RTO", EventTime: time.Now()},
		{OrderID: "o", Source: "s", Status: RTO},
	}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("accepted %+v", o)
		}
	}
}

func TestReturnStatusesAreNeverRTOAndEndForwardTracking(t *testing.T) {
	for _, s := range []string{Return, Returned} {
		if !IsCanonical(s) || IsRTO(s) || !IsReturn(s) || !IsTerminal(s) {
			t.Errorf("%q: canonical %v, RTO %v, return %v, terminal %v", s, IsCanonical(s), IsRTO(s), IsReturn(s), IsTerminal(s))
		}
	}
	if got := TimestampField(Returned); got != "tracking_timestamps.returned" {
		t.Errorf("got %q", got)
	}
}

func TestReturnStatusReadsAReturnShipment(t *testing.T) {
	for forward, want := range map[string]string{
		Delivered: Returned, PickedUp: Return, InTransit: Return, OutForDelivery: Return, Booked: Return,
		Pending: Return, NDR: Return, Return: Return, Returned: Returned,
		Cancelled: "", Lost: "", Damaged: "", RTO: "", RTOInTransit: "", RTODelivered: "", "": "",
	} {
		if got := ReturnStatus(forward); got != want {
			t.Errorf("ReturnStatus(%q) = %q, want %q", forward, got, want)
		}
	}
}

// Newest-wins by time, except that a customer return moves only forward.
func TestMayReplaceOrdersReturnStatuses(t *testing.T) {
	for _, tc := range []struct {
		current, next string
		want          bool
	}{
		{Delivered, Return, true},
		{Delivered, Returned, true},
		{Return, Returned, true},
		{InTransit, Return, true}, // a return reported before the delivery push arrived
		{Returned, Return, false}, // a late return scan never undoes the delivery back
		{Return, Delivered, false},
		{Returned, Delivered, false},
		{Return, InTransit, false},
		{Return, RTO, false}, // the order keeps return; the RTO decision reads the observation, not the order
		{Returned, RTODelivered, false},
		{Return, Return, false},
		{Returned, Returned, false},
		{InTransit, Delivered, true},
		{Delivered, RTO, true},
		{"", Return, true},
	} {
		if got := MayReplace(tc.current, tc.next); got != tc.want {
			t.Errorf("MayReplace(%q, %q) = %v, want %v", tc.current, tc.next, got, tc.want)
		}
	}
}
