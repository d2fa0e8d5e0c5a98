package worker

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking/couriers"
	"orderflow/workflows"
)

// Deps are what every worker of a process is built from. The worker binary
// (Run), the integration tests, the chaos run and the bench all build their
// workers from one Deps through New, so they run what production runs.
type Deps struct {
	Config   config.Config // task queue, courier settings and limits, CRM timeouts, sticky cache size
	Store    *store.Store
	Temporal client.Client
	Metrics  *observability.Metrics // nil: a fresh set
	// Now is the activities' clock; nil is time.Now. A test sets it to move time.
	Now func() time.Time
	// Adjust, when set, may replace any activity dependency (a fake store,
	// client or connector) after the activities are built and before they
	// are registered. Production leaves it nil.
	Adjust func(*Activities)
}

// Activities are the activity structs a process serves.
type Activities struct {
	Tracking *activities.Activities      // status updates, push ingest, RTO cancel
	Recovery *activities.Recovery        // revenue recovery
	Sweep    *activities.SweepActivities // the tracking sweep; alone on each courier queue too
}

// activities builds every activity struct from d.
func (d Deps) activities() *Activities {
	acts := &Activities{
		Tracking: NewActivities(d.Store, d.Config.CRM, d.Metrics),
		Recovery: NewRecoveryActivities(d.Store, d.Metrics),
		Sweep:    NewSweepActivities(d.Store, d.Config.Couriers, d.Metrics),
	}
	acts.Tracking.Now, acts.Recovery.Now, acts.Sweep.Now = d.Now, d.Now, d.Now
	if d.Store != nil {
		acts.Recovery.NetworkRules, acts.Recovery.Cards = d.Config.NetworkRules.Rules(), d.Store
	}
	return acts
}

// mainWorkflows are every workflow type the process serves, all on the main task queue.
var mainWorkflows = []any{
	workflows.StatusUpdate,
	workflows.RTOCancel,
	workflows.PushIngest,
	workflows.RevenueRecovery,
	workflows.RecoveryIngest,
	workflows.TrackingSweep,
	workflows.TrackerSweep,
	workflows.TrackerPartition,
}

// mainActivities are the activity structs served on the main task queue.
func (a *Activities) mainActivities() []any {
	return []any{a.Tracking, a.Recovery, a.Sweep}
}

// courierActivities are the activity structs served on a courier's task
// queue: only the poll activities, at the courier's rate.
func (a *Activities) courierActivities() []any {
	return []any{a.Sweep}
}

// queue is one worker to build: its task queue and options.
type queue struct {
	name     string
	options  sdkworker.Options
	activity func(*Activities) []any
	workflow []any
}

// queues are the workers a process with cfg runs: the main task queue, and
// one worker per configured courier API on the API's own task queue, serving
// only the poll activities at a rate the server enforces across every worker
// process: the courier's limit times its safety margin, divided by the calls
// one poll activity makes.
func queues(cfg config.Config, pollers *couriers.Registry) []queue {
	out := []queue{{name: cfg.Temporal.TaskQueue, options: mainOptions(),
		activity: (*Activities).mainActivities, workflow: mainWorkflows}}
	settings := cfg.Couriers.ByAPI()
	for _, api := range pollers.APIs() {
		p, _ := pollers.Poller(api)
		out = append(out, queue{
			name:     workflows.CourierTaskQueue(cfg.Temporal.TaskQueue, api),
			options:  sdkworker.Options{TaskQueueActivitiesPerSecond: settings[api].ActivitiesPerSecond(p.MaxPerCall())},
			activity: (*Activities).courierActivities,
		})
	}
	return out
}

// Workers are every worker one process runs, built and registered, not started.
type Workers struct {
	Activities *Activities
	all        []sdkworker.Worker // the main task queue's first
}

// New builds every worker the process runs from d and registers every
// workflow and activity on it. It sets the process-wide sticky workflow
// cache size first, as the SDK requires before any worker is created.
func New(d Deps) *Workers {
	if d.Metrics == nil {
		d.Metrics = observability.NewMetrics()
	}
	sdkworker.SetStickyWorkflowCacheSize(d.Config.Worker.StickyCacheSize)
	acts := d.activities()
	if d.Adjust != nil {
		d.Adjust(acts)
	}
	ws := &Workers{Activities: acts}
	for _, q := range queues(d.Config, acts.Sweep.Couriers) {
		w := sdkworker.New(d.Temporal, q.name, q.options)
		for _, wf := range q.workflow {
			w.RegisterWorkflow(wf)
		}
		for _, a := range q.activity(acts) {
			w.RegisterActivity(a)
		}
		ws.all = append(ws.all, w)
	}
	return ws
}

// Start starts every worker; if one fails, the started ones are stopped.
func (ws *Workers) Start() error {
	for i, w := range ws.all {
		if err := w.Start(); err != nil {
			for _, started := range ws.all[:i] {
				started.Stop()
			}
			return fmt.Errorf("worker: start worker %d of %d: %w", i+1, len(ws.all), err)
		}
	}
	return nil
}

// Stop stops every worker, the main task queue's first.
func (ws *Workers) Stop() {
	for _, w := range ws.all {
		w.Stop()
	}
}
