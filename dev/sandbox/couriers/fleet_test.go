package couriers

import (
	"context"
	"reflect"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/couriers/delhivery"
)

func testScenario(seed uint64) FleetScenario {
	return FleetScenario{Seed: seed, Orders: 1000, Window: 7 * time.Hour, Warmup: time.Hour,
		RTOShare: 0.15, NDRDeliveredShare: 0.10, DeliveredShare: 0.35, PushShare: 0.2}
}

// A seeded scenario is the same fleet every time; another seed is another fleet.
func TestFleetScenarioIsSeeded(t *testing.T) {
	a, b := testScenario(7).Generate(), testScenario(7).Generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two different fleets")
	}
	if reflect.DeepEqual(a, testScenario(8).Generate()) {
		t.Fatal("two seeds gave the same fleet")
	}
}

// The fleet holds the configured shares of each kind and of pushed orders,
// and every journey keeps its shape: the decisive change in the window, RTO
// only after failed attempts, nothing decisive for orders in transit.
func TestFleetScenarioHoldsTheSharesAndTimings(t *testing.T) {
	sc := testScenario(1)
	fleet := sc.Generate()
	count := map[string]int{}
	pushed := 0
	for _, j := range fleet {
		count[j.Kind]++
		if j.Pushed {
			pushed++
		}
		last := j.Changes[len(j.Changes)-1]
		ndrs := 0
		for i, c := range j.Changes {
			if i > 0 && c.At < j.Changes[i-1].At {
				t.Fatalf("%s: changes out of order: %+v", j.AWB, j.Changes)
			}
			if c.Status == tracking.NDR {
				ndrs++
			}
		}
		switch j.Kind {
		case JourneyInTransit:
			if len(j.Changes) != 1 || last.At > 0 {
				t.Fatalf("%s in transit changes in the window: %+v", j.AWB, j.Changes)
			}
		case JourneyRTO:
			if last.Status != tracking.RTOInTransit || ndrs < 1 || ndrs > 3 {
				t.Fatalf("%s: RTO journey %+v", j.AWB, j.Changes)
			}
		case JourneyNDRDelivered:
			if last.Status != tracking.Delivered || ndrs < 1 || ndrs > 2 {
				t.Fatalf("%s: NDR-then-delivered journey %+v", j.AWB, j.Changes)
			}
		case JourneyDelivered:
			if last.Status != tracking.Delivered || ndrs != 0 {
				t.Fatalf("%s: delivered journey %+v", j.AWB, j.Changes)
			}
		}
		if j.Kind != JourneyInTransit && (last.At < sc.Warmup || last.At > sc.Window) {
			t.Fatalf("%s: decisive change at %v, outside [%v, %v]", j.AWB, last.At, sc.Warmup, sc.Window)
		}
	}
	want := map[string]int{JourneyRTO: 150, JourneyNDRDelivered: 100, JourneyDelivered: 350, JourneyInTransit: 400}
	if !reflect.DeepEqual(count, want) || pushed != 200 {
		t.Fatalf("kinds %v (want %v), pushed %d (want 200)", count, want, pushed)
	}
}

// Each step of a fleet journey reads, through the real Delhivery mapping, as
// the canonical status the scenario says it is.
func TestFleetStepsMapToTheirStatuses(t *testing.T) {
	for want, st := range FleetSteps {
		got := delhivery.Map(delhivery.Status{Status: st.Status, StatusType: st.StatusType, StatusCode: st.StatusCode})
		if got.Status != want {
			t.Errorf("%+v maps to %q, want %q", st, got.Status, want)
		}
	}
}

// PlayFleet seeds every shipment's state at the window's start stamped in
// the past, and plays the later changes in time order, telling when.
func TestPlayFleetAppliesChangesInOrderAndStampsThem(t *testing.T) {
	fleet := []Journey{
		{AWB: "A", Changes: withSteps([]Change{{At: -time.Hour, Status: tracking.InTransit}, {At: time.Hour, Status: tracking.OutForDelivery}})},
		{AWB: "B", Changes: withSteps([]Change{{At: -2 * time.Hour, Status: tracking.NDR}, {At: 30 * time.Minute, Status: tracking.RTOInTransit},
			{At: 10 * time.Hour, Status: tracking.RTODelivered}})},
	}
	sb := New(DefaultOptions())
	start := time.Now()
	var played []string
	var stamps []time.Time
	sb.PlayFleet(context.Background(), fleet, start, 36000, 5*time.Hour, func(tc Timed, at time.Time) {
		played = append(played, fleet[tc.Journey].AWB+":"+tc.Change.Status)
		stamps = append(stamps, at)
	})
	if want := []string{"B:" + tracking.RTOInTransit, "A:" + tracking.OutForDelivery}; !reflect.DeepEqual(played, want) {
		t.Fatalf("played %v, want %v (the change after the end is not played)", played, want)
	}
	if stamps[0].Before(start.Add(50*time.Millisecond)) || stamps[1].Before(start.Add(100*time.Millisecond)) {
		t.Fatalf("changes stamped %v, before their compressed times", stamps)
	}
	if got := sb.delhivery["A"]; got.v != fleetOFD {
		t.Fatalf("A is %+v after the play", got.v)
	}
}
