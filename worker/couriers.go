package worker

import (
	"fmt"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/couriers"
	"orderflow/couriers/delhivery"
	"orderflow/couriers/delhiveryb2b"
	"orderflow/couriers/shiprocket"
	"orderflow/observability"
	"orderflow/workflows"
)

// RegisterSweep puts the tracking sweep's workflows and activities on the main task queue's worker.
func RegisterSweep(w sdkworker.Registry, acts *activities.SweepActivities) {
	w.RegisterWorkflow(workflows.TrackingSweep)
	w.RegisterWorkflow(workflows.TrackerSweep)
	w.RegisterWorkflow(workflows.TrackerPartition)
	w.RegisterActivity(acts)
}

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

// NewCourierWorkers makes one worker per configured courier API, on the API's
// own task queue, serving only the poll activities at a rate the server
// enforces across every worker process: the courier's limit times its safety
// margin, divided by the calls one poll activity makes.
func NewCourierWorkers(tc client.Client, taskQueue string, c config.Couriers, acts *activities.SweepActivities) []sdkworker.Worker {
	var out []sdkworker.Worker
	for _, api := range couriers.APIs {
		cfg := CourierSettings(c)[api]
		if !cfg.Enabled() {
			continue
		}
		w := sdkworker.New(tc, workflows.CourierTaskQueue(taskQueue, api), sdkworker.Options{
			TaskQueueActivitiesPerSecond: cfg.ActivitiesPerSecond(couriers.MaxPerCall(api)),
		})
		w.RegisterActivity(acts)
		out = append(out, w)
	}
	return out
}

// StartCourierWorkers starts the courier workers; stop stops the started ones.
func StartCourierWorkers(ws []sdkworker.Worker) (stop func(), err error) {
	stop = func() {
		for _, w := range ws {
			w.Stop()
		}
	}
	for i, w := range ws {
		if err := w.Start(); err != nil {
			for _, s := range ws[:i] {
				s.Stop()
			}
			return func() {}, fmt.Errorf("worker: start courier worker: %w", err)
		}
	}
	return stop, nil
}
