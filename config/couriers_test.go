package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestActivitiesPerSecondKeepsCallsUnderTheLimitWithTheMargin(t *testing.T) {
	d := DefaultCouriers()
	// Delhivery B2C: 750 / 5 min × 0.95 = 712.5 calls per window, 5 calls per
	// 250-order activity = 142.5 activities; ceil(rate) = 1 more may come as
	// a burst: (142.5 − 1) / 300 s.
	if got := d.Delhivery.ActivitiesPerSecond(50); math.Abs(got-141.5/300) > 1e-9 {
		t.Errorf("B2C: %v", got)
	}
	// B2B: 475 calls per window, 50 one-LR calls per activity = 9.5 activities, less the burst's one.
	if got := d.DelhiveryB2B.ActivitiesPerSecond(1); math.Abs(got-8.5/300) > 1e-9 || d.DelhiveryB2B.CallsPerBatch(1) != 50 {
		t.Errorf("B2B: %v, %d calls", got, d.DelhiveryB2B.CallsPerBatch(1))
	}
	// A fast limit (many activities per second): the burst is ceil(rate) activities.
	fast := Courier{RequestsPerWindow: 100, Window: 10 * time.Second, SafetyMargin: 1, BatchSize: 50}
	if got := fast.ActivitiesPerSecond(50); math.Abs(got-9) > 1e-9 { // 9 × 10 + 9 = 99 ≤ 100; 9.1 would need a burst of 10
		t.Errorf("fast: %v", got)
	}
	// Over any window the calls, burst included, never exceed margin × limit.
	for _, c := range []Courier{d.Delhivery, d.DelhiveryB2B, d.Shiprocket, fast,
		{RequestsPerWindow: 10, Window: 2 * time.Second, SafetyMargin: 0.5, BatchSize: 5},
		{RequestsPerWindow: 150, Window: 30 * time.Second, SafetyMargin: 0.95, BatchSize: 250}} {
		maxPerCall := 50
		if c == d.DelhiveryB2B {
			maxPerCall = 1
		}
		if got := c.WorstCallsPerWindow(maxPerCall); got > float64(c.RequestsPerWindow)*c.SafetyMargin+1e-6 || got <= 0 {
			t.Errorf("%+v: up to %v calls per window", c, got)
		}
	}
}

func TestCourierAndSweepValidationNamesTheKey(t *testing.T) {
	base := func() Config {
		c := Default()
		c.HTTP.APIKey = "0123456789abcdef"
		return c
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("defaults (couriers not configured) must be valid: %v", err)
	}
	for _, tc := range []struct {
		key    string
		change func(*Config)
	}{
		{"couriers.delhivery.token", func(c *Config) { c.Couriers.Delhivery.BaseURL = "https://track.delhivery.com" }},
		{"couriers.delhivery.base_url", func(c *Config) { c.Couriers.Delhivery.BaseURL, c.Couriers.Delhivery.Token = "ftp://x", "t" }},
		{"couriers.shiprocket.username", func(c *Config) { c.Couriers.Shiprocket.BaseURL = "https://apiv2.shiprocket.in" }},
		{"couriers.delhivery_b2b.safety_margin", func(c *Config) {
			b := &c.Couriers.DelhiveryB2B
			b.BaseURL, b.Username, b.Password, b.SafetyMargin = "https://ltl-clients-api.delhivery.com", "u", "p", 1.5
		}},
		{"couriers.delhivery.batch_size", func(c *Config) {
			d := &c.Couriers.Delhivery
			d.BaseURL, d.Token, d.BatchSize = "https://track.delhivery.com", "t", 501
		}},
		{"sweep.every", func(c *Config) { c.Sweep.Every = 0 }},
		{"sweep.catchup_window", func(c *Config) { c.Sweep.CatchupWindow = time.Second }},
		{"sweep.partition_size", func(c *Config) { c.Sweep.PartitionSize = -1 }},
		{"sweep.return_window", func(c *Config) { c.Sweep.ReturnWindow = -time.Hour }},
		{"sweep.partition_size", func(c *Config) { c.Sweep.PartitionSize = MaxPartitionSize + 1 }},
		{"sweep.polling.mode", func(c *Config) { c.Sweep.Polling.Mode = "sometimes" }},
		{"sweep.polling.backoff_base", func(c *Config) { c.Sweep.Polling.BackoffBase = 0 }},
		{"sweep.polling.backoff_factor", func(c *Config) { c.Sweep.Polling.BackoffFactor = 0.5 }},
		{"sweep.polling.max_gap", func(c *Config) { c.Sweep.Polling.MaxGap = time.Minute }},
		{"sweep.polling.safety_net", func(c *Config) { c.Sweep.Polling.SafetyNet = 0 }},
		{"sweep.polling.push_covered_sources", func(c *Config) { c.Sweep.Polling.PushCoveredSources = []string{""} }},
		{"sweep.polling.budget_share", func(c *Config) { c.Sweep.Polling.BudgetShare = 0 }},
		{"sweep.polling.budget_share", func(c *Config) { c.Sweep.Polling.BudgetShare = 1.1 }},
		{"sweep.polling.budget_share", func(c *Config) { c.Sweep.Polling.BudgetShare = math.NaN() }},
	} {
		c := base()
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "config: "+tc.key+":") {
			t.Errorf("%s: got %v", tc.key, err)
		}
		if err != nil && strings.Contains(err.Error(), "\"p\"") {
			t.Errorf("a credential appeared in the error: %v", err)
		}
	}
}

func TestDevConfigConfiguresEveryCourier(t *testing.T) {
	cfg, err := Load("dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Couriers.Delhivery.Enabled() || !cfg.Couriers.DelhiveryB2B.Enabled() || !cfg.Couriers.Shiprocket.Enabled() {
		t.Errorf("couriers %+v", cfg.Couriers)
	}
	if cfg.Sweep.Every != 8*time.Minute || cfg.Couriers.Delhivery.RequestsPerWindow != 750 || cfg.Couriers.DelhiveryB2B.RequestsPerWindow != 500 {
		t.Errorf("sweep %+v", cfg.Sweep)
	}
}

// A partition must hold enough batches to run all of its parallel polls: with
// fewer, the sweep polls fewer batches at once than it is sized for and uses
// less of the courier's limit than it may.
func TestDefaultPartitionsFillTheirParallelPolls(t *testing.T) {
	t.Setenv("ORDERFLOW_HTTP_API_KEY", "0123456789abcdef")
	shipped, err := Load("orderflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := Load("dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{"defaults": {Couriers: DefaultCouriers(), Sweep: DefaultSweep()}, "orderflow.yaml": shipped, "dev.yaml": dev} {
		for courier, c := range map[string]Courier{"delhivery": cfg.Couriers.Delhivery, "delhivery_b2b": cfg.Couriers.DelhiveryB2B, "shiprocket": cfg.Couriers.Shiprocket} {
			if batches := cfg.Sweep.PartitionSize / c.BatchSize; batches < cfg.Sweep.MaxParallelPolls {
				t.Errorf("%s: a %s partition of %d orders is %d batches of %d, fewer than max_parallel_polls %d",
					name, courier, cfg.Sweep.PartitionSize, batches, c.BatchSize, cfg.Sweep.MaxParallelPolls)
			}
		}
	}
}

// A sweep's budget is the poll activities the queue's rate lets through in one
// interval, in orders: Delhivery B2C's defaults give 226 polls of 250 orders.
func TestSweepBudgetIsTheQueueRateOverOneInterval(t *testing.T) {
	d := DefaultCouriers().Delhivery
	if got := d.SweepBudget(50, 8*time.Minute, 1); got != 226*250 {
		t.Errorf("Delhivery B2C's budget per 8-minute sweep: %d orders, want %d", got, 226*250)
	}
	if got := d.SweepBudget(50, time.Second, 1); got != 250 {
		t.Errorf("an interval shorter than one poll still allows one: %d orders", got)
	}
}

// The default budget share leaves a tenth of the interval as headroom, in
// whole poll activities: 226 × 0.9 = 203.4, so 203 polls of 250 orders.
func TestSweepBudgetLeavesTheBudgetShareAsHeadroom(t *testing.T) {
	d, share := DefaultCouriers().Delhivery, DefaultPolling().BudgetShare
	if share != 0.9 {
		t.Fatalf("default sweep.polling.budget_share %v, want 0.9", share)
	}
	if got := d.SweepBudget(50, 8*time.Minute, share); got != 203*250 {
		t.Errorf("Delhivery B2C's budget per 8-minute sweep at share %v: %d orders, want %d", share, got, 203*250)
	}
	if got := d.SweepBudget(50, time.Second, share); got != 250 {
		t.Errorf("a share of less than one poll still allows one: %d orders", got)
	}
}
