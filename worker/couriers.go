package worker

import (
	"orderflow/activities"
	"orderflow/config"
	"orderflow/couriers"
	"orderflow/couriers/delhivery"
	"orderflow/couriers/delhiveryb2b"
	"orderflow/couriers/shiprocket"
	"orderflow/observability"
)

// NewSweepActivities builds the courier clients of every configured courier.
func NewSweepActivities(st activities.SweepStore, c config.Couriers, m *observability.Metrics) *activities.SweepActivities {
	acts := &activities.SweepActivities{Store: st, Metrics: m}
	if d := c.Delhivery; d.Enabled() {
		acts.Couriers.Delhivery = delhivery.New(delhivery.Options{BaseURL: d.BaseURL, Token: d.Token,
			Timeout: d.RequestTimeout, LimitBackoff: d.LimitBackoff})
	}
	if b := c.DelhiveryB2B; b.Enabled() {
		acts.Couriers.DelhiveryB2B = delhiveryb2b.New(delhiveryb2b.Options{BaseURL: b.BaseURL, Username: b.Username,
			Password: b.Password, Timeout: b.RequestTimeout, LimitBackoff: b.LimitBackoff})
	}
	if s := c.Shiprocket; s.Enabled() {
		acts.Couriers.Shiprocket = shiprocket.New(shiprocket.Options{BaseURL: s.BaseURL, Email: s.Username,
			Password: s.Password, Timeout: s.RequestTimeout, LimitBackoff: s.LimitBackoff})
	}
	return acts
}

// CourierSettings pairs each courier API with its configuration.
func CourierSettings(c config.Couriers) map[string]config.Courier {
	return map[string]config.Courier{couriers.Delhivery: c.Delhivery, couriers.DelhiveryB2B: c.DelhiveryB2B, couriers.Shiprocket: c.Shiprocket}
}
