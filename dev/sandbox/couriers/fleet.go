package couriers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"orderflow/tracking"
)

// FleetScenario describes a seeded fleet of Delhivery B2C shipments with
// realistic status timings, in simulated time: days in transit, delivery
// attempts in the morning with their outcome hours later, failed attempts
// (NDR) re-attempted the next day, RTO some hours after the last failed
// attempt. The same scenario (seed included) always gives the same fleet.
//
// Time 0 is the start of the measured window. Each order's decisive change
// (its delivery or its RTO) falls uniformly in [Warmup, Window]; changes
// before 0 are the fleet's state when the window opens. The orders still in
// transit change nothing in the window: they are the quiet bulk of a fleet.
type FleetScenario struct {
	Seed   uint64
	Orders int
	Window time.Duration // the span whose decisive changes are played
	Warmup time.Duration // no decisive change before it
	// Shares of the orders, each rounded to whole orders; the rest stay in transit.
	RTOShare          float64 // RTO after 1–3 failed attempts
	NDRDeliveredShare float64 // delivered after 1–2 failed attempts
	DeliveredShare    float64 // delivered at the first attempt
	// PushShare of the orders (of every kind) a push source also reports.
	PushShare float64
}

// Journey kinds.
const (
	JourneyRTO          = "rto"
	JourneyNDRDelivered = "ndr-delivered"
	JourneyDelivered    = "delivered"
	JourneyInTransit    = "in-transit"
)

// Change is one courier status change of a journey, at a simulated offset
// from the window's start (negative: before it).
type Change struct {
	At     time.Duration
	Status string // the canonical status the step maps to
	Step   Step
}

// Journey is one shipment of the fleet.
type Journey struct {
	AWB     string
	Kind    string
	Pushed  bool
	Changes []Change // in time order
}

// The Delhivery B2C states of a fleet journey.
var (
	fleetInTransit = DelhiveryStatus{Status: "In Transit", StatusType: "UD", StatusCode: "X-PPOM"}
	fleetOFD       = DelhiveryStatus{Status: "Dispatched", StatusType: "UD", StatusCode: "X-DDD3FD"}
	fleetNDR       = DelhiveryStatus{Status: "Pending", StatusType: "UD", StatusCode: "EOD-74"}
	fleetDelivered = DelhiveryStatus{Status: "Delivered", StatusType: "DL", StatusCode: "EOD-38"}
	fleetRTO       = DelhiveryStatus{Status: "In Transit", StatusType: "RT", StatusCode: "RT-101"}
)

// FleetSteps are the Delhivery B2C states a fleet journey goes through, by
// the canonical status each must map to (a test holds the mapping to it).
var FleetSteps = map[string]DelhiveryStatus{
	tracking.InTransit: fleetInTransit, tracking.OutForDelivery: fleetOFD, tracking.NDR: fleetNDR,
	tracking.Delivered: fleetDelivered, tracking.RTOInTransit: fleetRTO,
}

const day = 24 * time.Hour

// Generate builds the scenario's journeys.
func (sc FleetScenario) Generate() []Journey {
	rng := rand.New(rand.NewPCG(sc.Seed, sc.Seed^0x9e3779b97f4a7c15))
	kinds := sc.kinds()
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	pushed := make([]bool, sc.Orders)
	for i := range int(float64(sc.Orders)*sc.PushShare + 0.5) {
		pushed[i] = true
	}
	rng.Shuffle(len(pushed), func(i, j int) { pushed[i], pushed[j] = pushed[j], pushed[i] })
	out := make([]Journey, sc.Orders)
	for i, kind := range kinds {
		out[i] = Journey{AWB: fmt.Sprintf("5793%010d", i), Kind: kind, Pushed: pushed[i], Changes: sc.journey(rng, kind)}
	}
	return out
}

// kinds lists each order's kind, the shares rounded to whole orders.
func (sc FleetScenario) kinds() []string {
	var kinds []string
	for _, k := range []struct {
		kind  string
		share float64
	}{{JourneyRTO, sc.RTOShare}, {JourneyNDRDelivered, sc.NDRDeliveredShare}, {JourneyDelivered, sc.DeliveredShare}} {
		for range int(float64(sc.Orders)*k.share + 0.5) {
			kinds = append(kinds, k.kind)
		}
	}
	for len(kinds) < sc.Orders {
		kinds = append(kinds, JourneyInTransit)
	}
	return kinds[:sc.Orders]
}

// journey draws one shipment's changes relative to its pickup, then shifts
// them so the decisive change lands uniformly in [Warmup, Window].
func (sc FleetScenario) journey(rng *rand.Rand, kind string) []Change {
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)) }
	changes := []Change{{At: 0, Status: tracking.InTransit}}
	if kind == JourneyInTransit {
		changes[0].At = -between(2*time.Hour, 3*day) // picked up some time before; first attempt after the window
		return withSteps(changes)
	}
	failed := map[string]int{JourneyRTO: 1 + rng.IntN(3), JourneyNDRDelivered: 1 + rng.IntN(2)}[kind]
	morning := between(2*day, 6*day) // days in transit to the first attempt
	for attempt := 0; ; attempt++ {
		ofd := morning + time.Duration(attempt)*day + between(0, 2*time.Hour)
		outcome := ofd + between(3*time.Hour, 9*time.Hour)
		changes = append(changes, Change{At: ofd, Status: tracking.OutForDelivery})
		if attempt == failed && kind != JourneyRTO {
			changes = append(changes, Change{At: outcome, Status: tracking.Delivered})
			break
		}
		changes = append(changes, Change{At: outcome, Status: tracking.NDR})
		if attempt+1 == failed && kind == JourneyRTO {
			changes = append(changes, Change{At: outcome + between(2*time.Hour, 20*time.Hour), Status: tracking.RTOInTransit})
			break
		}
	}
	shift := between(sc.Warmup, sc.Window) - changes[len(changes)-1].At
	for i := range changes {
		changes[i].At += shift
	}
	return withSteps(changes)
}

func withSteps(changes []Change) []Change {
	for i := range changes {
		st := FleetSteps[changes[i].Status]
		changes[i].Step = Step{Delhivery: &st}
	}
	return changes
}

// StateAt is the journey's last change at or before t and whether a delivery
// attempt failed by then (the order has been in NDR).
func (j Journey) StateAt(t time.Duration) (Change, bool) {
	cur, failed := j.Changes[0], false
	for _, c := range j.Changes {
		if c.At > t {
			break
		}
		cur = c
		failed = failed || c.Status == tracking.NDR
	}
	return cur, failed
}

// Timed is one change of the fleet to play: journey index and change.
type Timed struct {
	Journey int
	Change  Change
}

// PlayFleet puts every shipment in its state at time 0 (stamped with its
// change's time, start + At ÷ factor), then applies every later change at
// start + At ÷ factor in real time, until end (simulated) or ctx ends. applied
// hears of each change played, with the time the sandbox stamped on it: the
// courier's status change time.
func (s *Sandbox) PlayFleet(ctx context.Context, fleet []Journey, start time.Time, factor float64, end time.Duration,
	applied func(Timed, time.Time)) {
	wall := func(at time.Duration) time.Time { return start.Add(time.Duration(float64(at) / factor)) }
	var later []Timed
	for i, j := range fleet {
		c, _ := j.StateAt(0)
		s.setAt(j.AWB, c.Step, wall(c.At))
		for _, c := range j.Changes {
			if c.At > 0 && c.At <= end {
				later = append(later, Timed{Journey: i, Change: c})
			}
		}
	}
	sort.SliceStable(later, func(a, b int) bool { return later[a].Change.At < later[b].Change.At })
	for _, t := range later {
		if wait := time.Until(wall(t.Change.At)); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		applied(t, s.setAt(fleet[t.Journey].AWB, t.Change.Step, s.now()))
	}
}

// setAt puts a shipment on a step, stamped at, and returns the stamp.
func (s *Sandbox) setAt(awb string, st Step, at time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case st.Delhivery != nil:
		s.delhivery[awb] = stamped[DelhiveryStatus]{v: *st.Delhivery, at: at}
	case st.Shiprocket != nil:
		s.shiprocket[awb] = stamped[ShiprocketStatus]{v: *st.Shiprocket, at: at}
	case st.B2B != "":
		s.b2b[awb] = stamped[string]{v: st.B2B, at: at}
	}
	return at
}
