package worker

import (
	"orderflow/activities"
	"orderflow/config"
	"orderflow/observability"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/delhiveryb2b"
	"orderflow/tracking/couriers/shiprocket"
)

// courierPollers builds each courier API's poller from its configuration.
// Adding a courier is its package under tracking/couriers and one entry here.
var courierPollers = map[string]func(config.Courier) couriers.Poller{
	tracking.APIDelhivery: func(c config.Courier) couriers.Poller {
		return delhivery.New(delhivery.Options{BaseURL: c.BaseURL, Token: c.Token,
			Timeout: c.RequestTimeout, LimitBackoff: c.LimitBackoff})
	},
	tracking.APIDelhiveryB2B: func(c config.Courier) couriers.Poller {
		return delhiveryb2b.New(delhiveryb2b.Options{BaseURL: c.BaseURL, Username: c.Username,
			Password: c.Password, Timeout: c.RequestTimeout, LimitBackoff: c.LimitBackoff})
	},
	tracking.APIShiprocket: func(c config.Courier) couriers.Poller {
		return shiprocket.New(shiprocket.Options{BaseURL: c.BaseURL, Email: c.Username,
			Password: c.Password, Timeout: c.RequestTimeout, LimitBackoff: c.LimitBackoff})
	},
}

// NewCourierRegistry holds the pollers of every configured courier API.
func NewCourierRegistry(c config.Couriers) *couriers.Registry {
	var pollers []couriers.Poller
	for api, cfg := range c.ByAPI() {
		if newPoller, ok := courierPollers[api]; ok && cfg.Enabled() {
			pollers = append(pollers, newPoller(cfg))
		}
	}
	return couriers.NewRegistry(pollers...)
}

// NewSweepActivities builds the sweep's activities with the pollers of every
// configured courier and, in adaptive polling, the policy and each courier's
// budget of orders per sweep.
func NewSweepActivities(st activities.SweepStore, c config.Couriers, sweep config.Sweep, m *observability.Metrics) *activities.SweepActivities {
	reg := NewCourierRegistry(c)
	acts := &activities.SweepActivities{Store: st, Couriers: reg, Metrics: m, ReturnWindow: sweep.ReturnWindow}
	if sweep.Polling.Adaptive() {
		acts.Polling = &activities.AdaptivePolling{Policy: sweep.Polling.Policy(sweep.Every), Budgets: sweepBudgets(reg, c, sweep)}
	}
	return acts
}

// sweepBudgets are the orders one sweep may poll through each configured
// courier API: the budget share of its rate over one sweep interval.
func sweepBudgets(reg *couriers.Registry, c config.Couriers, sweep config.Sweep) map[string]int {
	budgets := map[string]int{}
	byAPI := c.ByAPI()
	for _, api := range reg.APIs() {
		if p, ok := reg.Poller(api); ok {
			budgets[api] = byAPI[api].SweepBudget(p.MaxPerCall(), sweep.Every, sweep.Polling.BudgetShare)
		}
	}
	return budgets
}
