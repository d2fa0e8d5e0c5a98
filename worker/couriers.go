package worker

import (
	"fmt"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/observability"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/delhiveryb2b"
	"orderflow/tracking/couriers/shiprocket"
	"orderflow/workflows"
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

// RegisterSweep puts the tracking sweep's workflows and activities on the main task queue's worker.
func RegisterSweep(w sdkworker.Registry, acts *activities.SweepActivities) {
	w.RegisterWorkflow(workflows.TrackingSweep)
	w.RegisterWorkflow(workflows.TrackerSweep)
	w.RegisterWorkflow(workflows.TrackerPartition)
	w.RegisterActivity(acts)
}

// NewSweepActivities builds the sweep's activities with the pollers of every configured courier.
func NewSweepActivities(st activities.SweepStore, c config.Couriers, m *observability.Metrics) *activities.SweepActivities {
	return &activities.SweepActivities{Store: st, Couriers: NewCourierRegistry(c), Metrics: m}
}

// NewCourierWorkers makes one worker per configured courier API, on the API's
// own task queue, serving only the poll activities at a rate the server
// enforces across every worker process: the courier's limit times its safety
// margin, divided by the calls one poll activity makes.
func NewCourierWorkers(tc client.Client, taskQueue string, c config.Couriers, acts *activities.SweepActivities) []sdkworker.Worker {
	settings := c.ByAPI()
	var out []sdkworker.Worker
	for _, api := range acts.Couriers.APIs() {
		p, _ := acts.Couriers.Poller(api)
		w := sdkworker.New(tc, workflows.CourierTaskQueue(taskQueue, api), sdkworker.Options{
			TaskQueueActivitiesPerSecond: settings[api].ActivitiesPerSecond(p.MaxPerCall()),
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
