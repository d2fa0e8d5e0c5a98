package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestActivitiesPerSecondKeepsCallsUnderTheLimitWithTheMargin(t *testing.T) {
	d := DefaultCouriers()
	// Delhivery B2C: 750 / 5 min × 0.9 = 2.25 calls/s, one call per 50-order activity.
	if got := d.Delhivery.ActivitiesPerSecond(50); math.Abs(got-2.25) > 1e-9 {
		t.Errorf("B2C: %v", got)
	}
	// B2B: 500 / 5 min × 0.9 = 1.5 calls/s; 10 one-LR calls per activity → 0.15 activities/s.
	if got := d.DelhiveryB2B.ActivitiesPerSecond(1); math.Abs(got-0.15) > 1e-9 || d.DelhiveryB2B.CallsPerBatch(1) != 10 {
		t.Errorf("B2B: %v, %d calls", got, d.DelhiveryB2B.CallsPerBatch(1))
	}
	// Over a whole window the calls never exceed margin × limit.
	for _, c := range []Courier{d.Delhivery, d.DelhiveryB2B, d.Shiprocket} {
		maxPerCall := 50
		if c.BatchSize == 10 {
			maxPerCall = 1
		}
		calls := c.ActivitiesPerSecond(maxPerCall) * c.Window.Seconds() * float64(c.CallsPerBatch(maxPerCall))
		if calls > float64(c.RequestsPerWindow)*c.SafetyMargin+1e-6 {
			t.Errorf("%+v: %v calls per window", c, calls)
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
			d.BaseURL, d.Token, d.BatchSize = "https://track.delhivery.com", "t", 51
		}},
		{"sweep.every", func(c *Config) { c.Sweep.Every = 0 }},
		{"sweep.catchup_window", func(c *Config) { c.Sweep.CatchupWindow = time.Second }},
		{"sweep.partition_size", func(c *Config) { c.Sweep.PartitionSize = -1 }},
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

func TestShippedConfigConfiguresEveryCourier(t *testing.T) {
	cfg, err := Load("orderflow.yaml")
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
