package couriers

// Tracker is one of seed 000's trackers: which orders it polls and through which API.
type Tracker struct {
	Name string
	// API is the courier API it calls; its rate limit and task queue are the API's.
	API string
	// CourierNames are the orders' courier_name values it tracks.
	CourierNames []string
	// Fallback trackers poll only orders whose primary tracker found no data
	// (tracking_no_data_at is set); primary trackers set and clear that mark.
	Fallback bool
}

// Tracker names.
const (
	TrackerDelhivery         = "delhivery"          // Delhivery B2C, primary
	TrackerDelhiveryB2B      = "delhivery_b2b"      // Delhivery B2B LRs
	TrackerShiprocket        = "shiprocket"         // Shiprocket bulk
	TrackerDelhiveryFallback = "delhivery_fallback" // Delhivery B2C for orders whose primary source gave no data
)

// Order courier_name values the trackers recognise.
const (
	CourierNameDelhivery    = "delhivery"
	CourierNameDelhiveryB2B = "delhivery_b2b"
	CourierNameShiprocket   = "shiprocket"
)

// Trackers are seed 000's trackers: three primaries, then the fallback.
var Trackers = []Tracker{
	{Name: TrackerDelhivery, API: Delhivery, CourierNames: []string{CourierNameDelhivery}},
	{Name: TrackerDelhiveryB2B, API: DelhiveryB2B, CourierNames: []string{CourierNameDelhiveryB2B}},
	{Name: TrackerShiprocket, API: Shiprocket, CourierNames: []string{CourierNameShiprocket}},
	{Name: TrackerDelhiveryFallback, API: Delhivery, CourierNames: []string{CourierNameShiprocket, CourierNameDelhiveryB2B}, Fallback: true},
}

// TrackerByName finds a tracker.
func TrackerByName(name string) (Tracker, bool) {
	for _, t := range Trackers {
		if t.Name == name {
			return t, true
		}
	}
	return Tracker{}, false
}

// MaxPerCall is the most shipments one call of an API takes.
func MaxPerCall(api string) int {
	if api == DelhiveryB2B {
		return 1
	}
	return 50
}
