package worker

import (
	"slices"
	"testing"

	"orderflow/config"
	"orderflow/tracking"
)

func TestEveryConfiguredCourierAPIHasAPollerOfThatAPI(t *testing.T) {
	c := config.DefaultCouriers()
	for _, cfg := range []*config.Courier{&c.Delhivery, &c.DelhiveryB2B, &c.Shiprocket} {
		cfg.BaseURL = "http://127.0.0.1:1"
	}
	reg := NewCourierRegistry(c)
	want := []string{tracking.APIDelhivery, tracking.APIDelhiveryB2B, tracking.APIShiprocket}
	if got := reg.APIs(); !slices.Equal(got, want) {
		t.Fatalf("registered %v, want %v", got, want)
	}
	for api := range c.ByAPI() {
		p, ok := reg.Poller(api)
		if !ok || p.API() != api {
			t.Errorf("%s: poller %v", api, p)
		}
	}
	for _, tr := range tracking.Trackers {
		if _, ok := c.ByAPI()[tr.API]; !ok {
			t.Errorf("tracker %s calls API %s, which has no configuration", tr.Name, tr.API)
		}
	}
}

func TestACourierWithoutBaseURLHasNoPoller(t *testing.T) {
	c := config.DefaultCouriers()
	c.Shiprocket.BaseURL = "http://127.0.0.1:1"
	if got := NewCourierRegistry(c).APIs(); !slices.Equal(got, []string{tracking.APIShiprocket}) {
		t.Errorf("registered %v, want shiprocket only", got)
	}
}
