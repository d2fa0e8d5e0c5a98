package config

import (
	"fmt"
	"math"
	"net/url"
	"time"

	"orderflow/tracking"
)

// Courier configures one courier API. A courier with an empty base_url is not
// configured: its tracker does not run and no worker serves its task queue.
type Courier struct {
	BaseURL string `yaml:"base_url" env:"BASE_URL"`
	// Token is Delhivery B2C's API token (Authorization: Token …).
	Token string `yaml:"token" env:"TOKEN"`
	// Username and Password log in to Delhivery B2B (username) and Shiprocket (email).
	Username string `yaml:"username" env:"USERNAME"`
	Password string `yaml:"password" env:"PASSWORD"`
	// RequestsPerWindow per Window is the courier's published limit (750 / 5m for
	// Delhivery B2C, 500 / 5m for B2B); SafetyMargin is the share of it used.
	RequestsPerWindow int           `yaml:"requests_per_window" env:"REQUESTS_PER_WINDOW"`
	Window            time.Duration `yaml:"window" env:"WINDOW"`
	SafetyMargin      float64       `yaml:"safety_margin" env:"SAFETY_MARGIN"`
	// BatchSize is the orders one poll activity handles, in calls of the API's
	// maximum (50 AWBs for Delhivery B2C and Shiprocket, one LR for B2B): at
	// most 500 (10 calls) and 50 (50 one-LR calls). Bigger batches mean fewer
	// Mongo round trips and history events per order, and bigger bursts of calls.
	BatchSize      int           `yaml:"batch_size" env:"BATCH_SIZE"`
	RequestTimeout time.Duration `yaml:"request_timeout" env:"REQUEST_TIMEOUT"`
	// LimitBackoff is the wait after a 403/429 that names no Retry-After (Delhivery: at least 30s).
	LimitBackoff time.Duration `yaml:"limit_backoff" env:"LIMIT_BACKOFF"`
}

// Enabled reports whether the courier is configured.
func (c Courier) Enabled() bool { return c.BaseURL != "" }

// CallsPerBatch is how many API calls one poll activity makes: a batch split
// by the API's maximum per call.
func (c Courier) CallsPerBatch(maxPerCall int) int {
	return (c.BatchSize + maxPerCall - 1) / maxPerCall
}

// ActivitiesPerSecond is the poll-activity rate that keeps the courier's calls
// within SafetyMargin of its limit in every window; the server enforces it on
// the courier's task queue across every worker. The server's token bucket
// lets ceil(rate) activities through at once on top of the rate, so a window
// can see rate × window + ceil(rate) activities: the rate is the highest for
// which that worst case fits the window's budget (limit × margin), and the
// margin is left for timing jitter between dispatch and call.
func (c Courier) ActivitiesPerSecond(maxPerCall int) float64 {
	perBatch := float64(max(c.CallsPerBatch(maxPerCall), 1))
	budget := float64(c.RequestsPerWindow) * c.SafetyMargin / perBatch // activities per window
	window := c.Window.Seconds()
	best := 0.0
	for burst := 1.0; burst <= math.Ceil(budget/window); burst++ {
		// With ceil(rate) = burst: rate ≤ burst, rate > burst−1, rate × window + burst ≤ budget.
		if r := math.Min(burst, (budget-burst)/window); r > burst-1 {
			best = math.Max(best, r)
		}
	}
	if best == 0 {
		return budget / window / 2 // a budget under two batches: no rate fits the worst case
	}
	return best
}

// WorstCallsPerWindow is the most calls the derived rate lets through in one
// window: rate × window activities plus the token bucket's burst, each of
// CallsPerBatch calls.
func (c Courier) WorstCallsPerWindow(maxPerCall int) float64 {
	r := c.ActivitiesPerSecond(maxPerCall)
	return (r*c.Window.Seconds() + math.Ceil(r)) * float64(max(c.CallsPerBatch(maxPerCall), 1))
}

// Couriers are the tracked courier APIs.
type Couriers struct {
	Delhivery    Courier `yaml:"delhivery" envPrefix:"DELHIVERY_"`
	DelhiveryB2B Courier `yaml:"delhivery_b2b" envPrefix:"DELHIVERY_B2B_"`
	Shiprocket   Courier `yaml:"shiprocket" envPrefix:"SHIPROCKET_"`
}

// ByAPI pairs each courier API (a tracking.API* name) with its configuration.
func (c Couriers) ByAPI() map[string]Courier {
	return map[string]Courier{
		tracking.APIDelhivery:    c.Delhivery,
		tracking.APIDelhiveryB2B: c.DelhiveryB2B,
		tracking.APIShiprocket:   c.Shiprocket,
	}
}

// DefaultCouriers carry the published limits; base URLs and credentials come from the file or environment.
func DefaultCouriers() Couriers {
	return Couriers{
		Delhivery: Courier{RequestsPerWindow: 750, Window: 5 * time.Minute, SafetyMargin: 0.95, BatchSize: 250,
			RequestTimeout: 20 * time.Second, LimitBackoff: time.Minute},
		// B2B answers one LR per call: a batch of 50 is 50 sequential calls,
		// the most one activity may make (half the Mongo round trips of 25).
		DelhiveryB2B: Courier{RequestsPerWindow: 500, Window: 5 * time.Minute, SafetyMargin: 0.95, BatchSize: 50,
			RequestTimeout: 20 * time.Second, LimitBackoff: time.Minute},
		// Shiprocket publishes no limit (it answers 429 with Retry-After): a conservative default.
		Shiprocket: Courier{RequestsPerWindow: 600, Window: 5 * time.Minute, SafetyMargin: 0.95, BatchSize: 250,
			RequestTimeout: 20 * time.Second, LimitBackoff: 30 * time.Second},
	}
}

func (c Couriers) validate(bad func(key, msg string)) {
	c.Delhivery.validate(bad, "couriers.delhivery", 500, true)
	c.DelhiveryB2B.validate(bad, "couriers.delhivery_b2b", 50, false)
	c.Shiprocket.validate(bad, "couriers.shiprocket", 500, false)
}

func (c Courier) validate(bad func(key, msg string), key string, maxBatch int, tokenAuth bool) {
	if !c.Enabled() {
		return
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad(key+".base_url", "must be an http:// or https:// URL")
	}
	if tokenAuth && c.Token == "" {
		bad(key+".token", "must be set when base_url is")
	}
	if !tokenAuth && (c.Username == "" || c.Password == "") {
		bad(key+".username", "username and password must be set when base_url is")
	}
	if c.RequestsPerWindow <= 0 {
		bad(key+".requests_per_window", "must be positive")
	}
	positive(bad, key+".window", c.Window)
	if c.SafetyMargin <= 0 || c.SafetyMargin > 1 || math.IsNaN(c.SafetyMargin) {
		bad(key+".safety_margin", "must be in (0, 1]")
	}
	if c.BatchSize <= 0 || c.BatchSize > maxBatch {
		bad(key+".batch_size", fmt.Sprintf("must be between 1 and %d", maxBatch))
	}
	positive(bad, key+".request_timeout", c.RequestTimeout)
	positive(bad, key+".limit_backoff", c.LimitBackoff)
}

// Sweep configures the tracking sweep's Schedule and fan-out.
type Sweep struct {
	ScheduleID    string        `yaml:"schedule_id" env:"SCHEDULE_ID"`
	Every         time.Duration `yaml:"every" env:"EVERY"`
	CatchupWindow time.Duration `yaml:"catchup_window" env:"CATCHUP_WINDOW"`
	// PartitionSize orders per TrackerPartition child; at most MaxParallelPartitions
	// of them and MaxParallelPolls poll activities each in flight; a tracker's
	// run continues as new after PartitionsPerRun partitions.
	PartitionSize         int `yaml:"partition_size" env:"PARTITION_SIZE"`
	MaxParallelPartitions int `yaml:"max_parallel_partitions" env:"MAX_PARALLEL_PARTITIONS"`
	MaxParallelPolls      int `yaml:"max_parallel_polls" env:"MAX_PARALLEL_POLLS"`
	PartitionsPerRun      int `yaml:"partitions_per_run" env:"PARTITIONS_PER_RUN"`
	// Polling chooses which orders a sweep polls (docs/sweep.md#adaptive-polling).
	Polling Polling `yaml:"polling" envPrefix:"POLLING_"`
	// ReturnWindow is how long after delivery the sweep polls a customer
	// return shipment's own AWB (docs/sweep.md#customer-return-shipments); 0 disables.
	ReturnWindow time.Duration `yaml:"return_window" env:"RETURN_WINDOW"`
}

// DefaultReturnWindow is how long after delivery a return shipment is polled:
// 30 days, the longest return period marketplaces commonly give.
const DefaultReturnWindow = 30 * 24 * time.Hour

// MaxPartitionSize bounds sweep.partition_size by Temporal's 2,000 pending
// child workflows per workflow: a partition in which every order is a first
// RTO starts one RTOCancel child for each.
const MaxPartitionSize = 2000

// DefaultSweep runs every 8 minutes, like the in-house cron it replaces. A partition of
// 2,000 orders is 8 batches of the default 250, so all of its 8 parallel polls
// run; with 1,000 only 4 did, and a 30,000-order sweep used half its courier's limit.
func DefaultSweep() Sweep {
	return Sweep{ScheduleID: "tracking-sweep", Every: 8 * time.Minute, CatchupWindow: 10 * time.Minute,
		PartitionSize: 2000, MaxParallelPartitions: 2, MaxParallelPolls: 8, PartitionsPerRun: 20,
		Polling: DefaultPolling(), ReturnWindow: DefaultReturnWindow}
}

func (s Sweep) validate(bad func(key, msg string)) {
	if s.ScheduleID == "" {
		bad("sweep.schedule_id", "must not be empty")
	}
	positive(bad, "sweep.every", s.Every)
	if s.CatchupWindow < 10*time.Second {
		bad("sweep.catchup_window", "must be at least 10s (Temporal's minimum)")
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"sweep.partition_size", s.PartitionSize}, {"sweep.max_parallel_partitions", s.MaxParallelPartitions},
		{"sweep.max_parallel_polls", s.MaxParallelPolls}, {"sweep.partitions_per_run", s.PartitionsPerRun}} {
		if f.v <= 0 {
			bad(f.key, "must be positive")
		}
	}
	s.Polling.validate(bad)
	if s.ReturnWindow < 0 {
		bad("sweep.return_window", "must not be negative (0 disables polling return shipments)")
	}
	if s.PartitionSize > MaxPartitionSize {
		bad("sweep.partition_size", fmt.Sprintf("must be at most %d (Temporal's pending child workflows per workflow: each first RTO in a partition is one)", MaxPartitionSize))
	}
}
