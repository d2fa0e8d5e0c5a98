package tracking

// Courier APIs. Each has its poll client in tracking/couriers/<package>, and
// its own task queue, rate limit and metrics label under this name.
const (
	APIDelhivery    = "delhivery"     // Delhivery B2C (Express) packages/json
	APIDelhiveryB2B = "delhivery_b2b" // Delhivery B2B (LTL) lrn/track
	APIShiprocket   = "shiprocket"    // Shiprocket bulk track/awbs
)

// APIs lists the courier APIs in name order.
var APIs = []string{APIDelhivery, APIDelhiveryB2B, APIShiprocket}

// Tracker is one of the in-house cron's trackers: which orders it polls and
// through which courier API.
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

// Trackers are the in-house cron's trackers: three primaries, then the fallback.
var Trackers = []Tracker{
	{Name: TrackerDelhivery, API: APIDelhivery, CourierNames: []string{CourierNameDelhivery}},
	{Name: TrackerDelhiveryB2B, API: APIDelhiveryB2B, CourierNames: []string{CourierNameDelhiveryB2B}},
	{Name: TrackerShiprocket, API: APIShiprocket, CourierNames: []string{CourierNameShiprocket}},
	{Name: TrackerDelhiveryFallback, API: APIDelhivery, CourierNames: []string{CourierNameShiprocket, CourierNameDelhiveryB2B}, Fallback: true},
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
