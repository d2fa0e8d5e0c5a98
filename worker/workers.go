package worker

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking"
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
	// Workflows, when set, registers a function under a workflow type's name
	// in place of the listed one, keeping its versioning behaviour: how a test
	// runs a new build's changed workflow beside the old build. Production
	// leaves it nil.
	Workflows map[string]any
}

// Activities are the activity structs a process serves.
type Activities struct {
	Tracking *activities.Activities      // status updates, push ingest, RTO cancel
	Recovery *activities.Recovery        // revenue recovery
	Sweep    *activities.SweepActivities // the tracking sweep; alone on each courier queue too
	Redrive  *activities.Redrive         // re-drives and test events of CRM and merchant webhooks
	// Endpoints is every destination's circuit breaker and its drains.
	Endpoints *activities.Endpoints
}

// activities builds every activity struct from d.
func (d Deps) activities() *Activities {
	acts := &Activities{
		Tracking: NewActivities(d.Store, d.Config.CRM, d.Metrics),
		Recovery: NewRecoveryActivities(d.Store, d.Metrics),
		Sweep:    NewSweepActivities(d.Store, d.Config.Couriers, d.Config.Sweep, d.Metrics),
	}
	acts.Redrive = &activities.Redrive{Store: d.Store, CRM: acts.Tracking, Merchant: acts.Recovery, Now: d.Now}
	acts.Endpoints = &activities.Endpoints{Settings: d.Config.Delivery.Breaker.Settings(), Temporal: d.Temporal,
		TaskQueue: d.Config.Temporal.TaskQueue, Sender: acts.Tracking.Webhooks,
		OperationsURL: d.Config.Delivery.Breaker.OperationsWebhookURL, Metrics: d.Metrics, Now: d.Now}
	acts.Tracking.Now, acts.Recovery.Now, acts.Sweep.Now = d.Now, d.Now, d.Now
	acts.Recovery.CardUpdateResumeWithin = d.Config.Recovery.CardUpdateResumeWithin
	if p := d.Config.Sweep.Polling; p.Adaptive() && d.Store != nil {
		acts.Tracking.Polling = &activities.PushPolling{Policy: p.Policy(d.Config.Sweep.Every), Store: d.Store}
	}
	if d.Store != nil { // a unit test may build workers without a store
		records := &activities.DeliveryRecords{Store: d.Store, Retention: d.Config.Delivery.RecordRetention, Now: d.Now}
		acts.Tracking.Records, acts.Recovery.Records, acts.Redrive.Records = records, records, records
		acts.Recovery.NetworkRules, acts.Recovery.Cards = d.Config.NetworkRules.Rules(), d.Store
		acts.Endpoints.Store = d.Store
		acts.Tracking.Returns, acts.Sweep.Returns = d.Store, d.Store
		acts.Tracking.Endpoints, acts.Recovery.Endpoints = acts.Endpoints, acts.Endpoints
		acts.Recovery.PastRetries = d.Store
	}
	return acts
}

// mainWorkflows are every workflow type the process serves, all on the main
// task queue, each with its Worker Deployment Versioning behaviour
// (docs/deploys.md). Pinned: a run finishes on the build it started on, so
// only short runs are pinned. Auto-upgrade: a run moves to the current build
// at its next workflow task, so every change to it is patched behind
// workflow.GetVersion and replayed against the histories in workflows/testdata.
// A workflow listed bare, without pinned or autoUpgrade, fails registration.
var mainWorkflows = []any{
	pinned(workflows.StatusUpdate),         // one status report: seconds
	pinned(workflows.PushIngest),           // one push event: seconds
	autoUpgrade(workflows.RTOCancel),       // the CRM delivery may retry for 72 hours
	autoUpgrade(workflows.OrderReturn),     // its deliveries may retry for 72 hours, as RTOCancel's
	autoUpgrade(workflows.RevenueRecovery), // retries on durable timers for days
	autoUpgrade(workflows.RecoveryIngest),  // short, but waits on the invoice's recovery
	autoUpgrade(workflows.TrackingSweep),   // the sweeps: started by a Schedule, long polls
	autoUpgrade(workflows.TrackerSweep),
	autoUpgrade(workflows.TrackerPartition),
	pinned(workflows.Redrive),       // continues as new in bounded runs; pinned, so a re-drive finishes on the build it started on
	pinned(workflows.TestEvent),     // one test delivery: seconds
	pinned(workflows.EndpointDrain), // releases one destination's parked deliveries; continues as new in bounded runs
}

// registration is a workflow and how its open runs move between deployment versions.
type registration struct {
	workflow any
	behavior workflow.VersioningBehavior
}

// pinned registers a workflow whose runs stay on the version they started on.
func pinned(wf any) registration {
	return registration{workflow: wf, behavior: workflow.VersioningBehaviorPinned}
}

// autoUpgrade registers a workflow whose runs move to the current version;
// every change to it must replay its old histories (workflow.GetVersion).
func autoUpgrade(wf any) registration {
	return registration{workflow: wf, behavior: workflow.VersioningBehaviorAutoUpgrade}
}

// registrations checks that every workflow in list says its versioning
// behaviour, and names each one that does not.
func registrations(list []any) ([]registration, error) {
	out := make([]registration, 0, len(list))
	var errs []error
	for _, entry := range list {
		r, ok := entry.(registration)
		if !ok || r.behavior == workflow.VersioningBehaviorUnspecified {
			wf := entry
			if ok {
				wf = r.workflow
			}
			errs = append(errs, fmt.Errorf("worker: workflow %s has no versioning behaviour: list it in "+
				"mainWorkflows (worker/workers.go) as pinned(…) when its runs are short and must finish on the build "+
				"they started on, or autoUpgrade(…) when they run long and every change to it is patched "+
				"with workflow.GetVersion (docs/deploys.md)", workflowName(wf)))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// workflowName is the workflow type a function registers as.
func workflowName(wf any) string {
	v := reflect.ValueOf(wf)
	if v.Kind() != reflect.Func {
		return fmt.Sprintf("%T", wf)
	}
	name := runtime.FuncForPC(v.Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}

// mainActivities are the activity structs served on the main task queue.
func (a *Activities) mainActivities() []any {
	return []any{a.Tracking, a.Recovery, a.Sweep, a.Redrive, a.Endpoints}
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
	workflow []registration
}

// queues are the workers a process with cfg runs: the main task queue, and
// one worker per configured courier API on the API's own task queue, serving
// only the poll activities at a rate the server enforces across every worker
// process: the courier's limit times its safety margin, divided by the calls
// one poll activity makes.
func queues(cfg config.Config, pollers *couriers.Registry) ([]queue, error) {
	wfs, err := registrations(mainWorkflows)
	if err != nil {
		return nil, err
	}
	main := mainOptions()
	main.DeploymentOptions = deploymentOptions(cfg.Worker.WorkerDeployment)
	out := []queue{{name: cfg.Temporal.TaskQueue, options: main,
		activity: (*Activities).mainActivities, workflow: wfs}}
	settings := cfg.Couriers.ByAPI()
	for _, api := range pollers.APIs() {
		p, _ := pollers.Poller(api)
		out = append(out, queue{
			name: workflows.CourierTaskQueue(cfg.Temporal.TaskQueue, api),
			options: sdkworker.Options{
				TaskQueueActivitiesPerSecond: settings[api].ActivitiesPerSecond(p.MaxPerCall()),
				// The courier queues join the main queue's version: a version
				// is made current only once every queue it serves is polled.
				DeploymentOptions: deploymentOptions(cfg.Worker.WorkerDeployment),
			},
			activity: (*Activities).courierActivities,
		})
	}
	return out, nil
}

// deploymentOptions put a worker in the configured deployment version, or
// leave it unversioned when worker.versioning is off. No default behaviour is
// set: the SDK refuses a workflow registered without its own.
func deploymentOptions(d config.WorkerDeployment) sdkworker.DeploymentOptions {
	if !d.Versioning {
		return sdkworker.DeploymentOptions{}
	}
	return sdkworker.DeploymentOptions{
		UseVersioning: true,
		Version:       sdkworker.WorkerDeploymentVersion{DeploymentName: d.DeploymentName, BuildID: d.BuildID},
	}
}

// CheckDeployment reports a deployment the workers cannot join: versioning on
// without a build id (a binary built without make's link flags, and no
// worker.build_id).
func CheckDeployment(d config.WorkerDeployment) error {
	if !d.Versioning {
		return nil
	}
	if msg := config.CheckBuildID(d.BuildID); msg != "" {
		return fmt.Errorf("config: worker.build_id: %s when worker.versioning is on (build with make, "+
			"which links the source revision in, or set ORDERFLOW_WORKER_BUILD_ID)", msg)
	}
	return nil
}

// Workers are every worker one process runs, built and registered, not started.
type Workers struct {
	Activities *Activities
	all        []sdkworker.Worker // the main task queue's first
}

// New builds every worker the process runs from d and registers every
// workflow and activity on it. It sets the process-wide sticky workflow
// cache size first, as the SDK requires before any worker is created. A
// workflow without a versioning behaviour, or versioning on without a build
// id, is a programming error: New panics naming it (Run checks the build id
// first and returns the error).
func New(d Deps) *Workers {
	if err := CheckDeployment(d.Config.Worker.WorkerDeployment); err != nil {
		panic(err)
	}
	if d.Metrics == nil {
		d.Metrics = observability.NewMetrics()
	}
	d.Metrics.ZeroCourierSeries(tracking.APIs)
	sdkworker.SetStickyWorkflowCacheSize(d.Config.Worker.StickyCacheSize)
	acts := d.activities()
	if d.Adjust != nil {
		d.Adjust(acts)
	}
	ws := &Workers{Activities: acts}
	qs, err := queues(d.Config, acts.Sweep.Couriers)
	if err != nil {
		panic(err)
	}
	for _, q := range qs {
		w := sdkworker.New(d.Temporal, q.name, q.options)
		for _, wf := range q.workflow {
			fn, name := wf.workflow, workflowName(wf.workflow)
			if changed, ok := d.Workflows[name]; ok {
				fn = changed
			}
			w.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name, VersioningBehavior: wf.behavior})
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
