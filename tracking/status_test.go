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
