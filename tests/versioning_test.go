//go:build integration

package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/crm"
	"orderflow/dev/sandbox/payments"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/temporalclient"
	"orderflow/tracking"
	"orderflow/worker"
	"orderflow/workflows"
)

// changeBuild2 is the change build 2 makes to the auto-upgrade workflows, patched
// as the patching rule says (docs/deploys.md): a run that started on build 1
// replays without it, a run that starts on build 2 records its marker.
const changeBuild2 = "it-build-2-pause"

// patched wraps a workflow with build 2's change: a short timer first, only for runs that start on build 2.
func patched[In, Out any](wf func(workflow.Context, In) (Out, error)) func(workflow.Context, In) (Out, error) {
	return func(ctx workflow.Context, in In) (Out, error) {
		if workflow.GetVersion(ctx, changeBuild2, workflow.DefaultVersion, 1) == 1 {
			if err := workflow.Sleep(ctx, 10*time.Millisecond); err != nil {
				var zero Out
				return zero, err
			}
		}
		return wf(ctx, in)
	}
}

// gatedStore holds the status reports of one order until released, so a
// pinned StatusUpdate stays open across a deploy.
type gatedStore struct {
	activities.Store
	order    string
	entered  chan struct{}
	enterOne sync.Once
	release  chan struct{}
}

func (g *gatedStore) ApplyObservations(ctx context.Context, obs []tracking.Observation) (store.ApplyResult, error) {
	if slices.ContainsFunc(obs, func(o tracking.Observation) bool { return o.OrderID == g.order }) {
		g.enterOne.Do(func() { close(g.entered) })
		select {
		case <-g.release:
		case <-ctx.Done():
			return store.ApplyResult{}, ctx.Err()
		}
	}
	return g.Store.ApplyObservations(ctx, obs)
}

// versionedWorker runs every worker of cfg as one deployment version, in this process.
func (s *stack) versionedWorker(buildID string, adjust func(*worker.Activities), changed map[string]any) {
	s.t.Helper()
	cfg := s.cfg
	cfg.Worker.Versioning, cfg.Worker.BuildID = true, buildID
	logger, _ := observability.NewLogger("debug", s.logs)
	tc, err := temporalclient.Dial(cfg.Temporal, logger, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	ws := worker.New(worker.Deps{Config: cfg, Store: s.store, Temporal: tc, Adjust: adjust, Workflows: changed})
	if err := ws.Start(); err != nil {
		tc.Close()
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { ws.Stop(); tc.Close() })
}

// taskBuilds are the build ids that completed each of a workflow's tasks, in
// order, and how many of its tasks failed (a non-determinism error fails a task).
func (s *stack) taskBuilds(id string) (builds []string, failed int, markers []string) {
	s.t.Helper()
	iter := s.temporal.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			builds = append(builds, ev.GetWorkflowTaskCompletedEventAttributes().GetDeploymentVersion().GetBuildId())
		case enums.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			failed++
			s.t.Logf("%s: workflow task failed: %v", id, ev.GetWorkflowTaskFailedEventAttributes().GetFailure())
		case enums.EVENT_TYPE_MARKER_RECORDED:
			if p := ev.GetMarkerRecordedEventAttributes().GetDetails()["change-id"]; p != nil {
				var change string
				if err := converter.GetDefaultDataConverter().FromPayloads(p, &change); err != nil {
					s.t.Fatalf("%s: a version marker's change id: %v", id, err)
				}
				markers = append(markers, change)
			}
		}
	}
	return builds, failed, markers
}

// With a workflow of each long-running kind open on build 1, build 2 (with a
// patched change to the auto-upgrade workflows) is deployed, ramped and made
// current: the auto-upgrade runs move to build 2 and complete, the pinned run
// completes on build 1, nothing fails a task; a rollback sends new work back to build 1.
func TestVersionedDeployRampAndRollback(t *testing.T) {
	r := newRecoveryStack(t)
	s := r.stack
	s.cfg.Worker.DeploymentName = fmt.Sprintf("orderflow-it-%d", env.seq.Add(1))
	served, err := worker.ServedQueues(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deployment := s.cfg.Worker.DeploymentName

	// Build 1, made current once it polls every queue it serves.
	gate := &gatedStore{order: s.insertOrder("9876500071", 799), entered: make(chan struct{}), release: make(chan struct{})}
	s.versionedWorker("build-1", func(a *worker.Activities) { gate.Store = a.Tracking.Store; a.Tracking.Store = gate }, nil)
	if err := worker.SetCurrent(ctx, s.temporal, deployment, "build-1", served, time.Minute); err != nil {
		t.Fatal(err)
	}

	// Open on build 1: an RTOCancel retrying against a CRM that is down, a
	// RevenueRecovery waiting on its retry timer, a StatusUpdate (pinned) held
	// in its store step. A RecoveryIngest runs to its end.
	var crmDown atomic.Bool
	var refused atomic.Int32
	crmDown.Store(true)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if crmDown.Load() && req.URL.Path == crm.CancelPath {
			refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		s.crm.Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(flaky.Close)
	s.crmURL = flaky.URL
	s.configureRTOWebhook()
	rtoOrder := s.insertOrder("9876500072", 1299)
	s.waitWorkflow(s.report(rtoOrder, tracking.RTO, base), nil)
	rtoID := workflows.RTOCancelWorkflowID(rtoOrder)
	eventually(t, 30*time.Second, "the CRM to refuse the RTOCancel's POST", func() bool { return refused.Load() > 0 })

	r.setup(map[string]any{"start_after_seconds": 1, "frequencies": []map[string]any{{"delay_seconds": 20, "count": 3}}})
	inv := r.invoice("inv_versioned")
	r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"})
	if code := r.send(recovery.Chargebee, billing.Failed, inv); code != 200 {
		t.Fatalf("billing webhook answered %d", code)
	}
	recoveryID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	eventually(t, 30*time.Second, "the first payment attempt to be declined", func() bool { return len(r.processor.ChargesFor(inv.ID)) == 1 })
	r.recordIngestHistory(inv.ID)

	pinnedID := s.report(gate.order, tracking.InTransit, base)
	select {
	case <-gate.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the pinned StatusUpdate never reached its store step")
	}

	// Build 2 with the patched change, ramped to every new workflow, then current.
	changed := map[string]any{
		"RTOCancel":       patched(workflows.RTOCancel),
		"RevenueRecovery": patched(workflows.RevenueRecovery),
	}
	s.versionedWorker("build-2", nil, changed)
	if err := worker.Ramp(ctx, s.temporal, deployment, "build-2", 100, served, time.Minute); err != nil {
		t.Fatal(err)
	}
	other := s.insertOrder("9876500073", 99)
	ramped := s.report(other, tracking.InTransit, base)
	s.waitWorkflow(ramped, nil)
	if builds, _, _ := s.taskBuilds(ramped); len(builds) == 0 || builds[0] != "build-2" {
		t.Errorf("a StatusUpdate started during the 100%% ramp ran on %v, want build-2", builds)
	}
	if err := worker.SetCurrent(ctx, s.temporal, deployment, "build-2", served, time.Minute); err != nil {
		t.Fatal(err)
	}

	// The auto-upgrade runs finish on build 2, the pinned one on build 1.
	crmDown.Store(false)
	var rto workflows.RTOCancelResult
	s.waitWorkflow(rtoID, &rto)
	if len(rto.Deliveries) != 1 || rto.Deliveries[0].Status != workflows.DeliveryDelivered || len(s.crm.Accepted()) != 1 {
		t.Errorf("RTOCancel result %+v, CRM accepted %d", rto, len(s.crm.Accepted()))
	}
	var rec workflows.RecoveryResult
	r.waitWorkflow(recoveryID, &rec)
	if rec.Status != workflows.RecoverySucceededInternal {
		t.Errorf("recovery result %+v", rec)
	}
	close(gate.release)
	s.waitWorkflow(pinnedID, nil)
	for _, c := range []struct {
		id, first, last string
	}{{rtoID, "build-1", "build-2"}, {recoveryID, "build-1", "build-2"}, {pinnedID, "build-1", "build-1"}} {
		builds, failed, markers := s.taskBuilds(c.id)
		if len(builds) == 0 || builds[0] != c.first || builds[len(builds)-1] != c.last || failed != 0 {
			t.Errorf("%s: tasks completed by %v (%d failed), want from %s to %s, none failed", c.id, builds, failed, c.first, c.last)
		}
		if slices.Contains(markers, changeBuild2) {
			t.Errorf("%s started on build 1 but recorded build 2's change marker", c.id)
		}
		if c.last == "build-1" && slices.Contains(builds, "build-2") {
			t.Errorf("pinned %s ran a task on build 2: %v", c.id, builds)
		}
	}

	// A new run of a changed workflow on build 2 takes the change.
	newInv := r.invoice("inv_versioned_new")
	if code := r.send(recovery.Chargebee, billing.Failed, newInv); code != 200 {
		t.Fatalf("billing webhook answered %d", code)
	}
	newRecovery := workflows.RevenueRecoveryWorkflowID(r.profileID, newInv.ID)
	r.waitWorkflow(newRecovery, &rec)
	if builds, failed, markers := s.taskBuilds(newRecovery); !slices.Contains(markers, changeBuild2) || failed != 0 || slices.Contains(builds, "build-1") {
		t.Errorf("a recovery started on build 2: builds %v, markers %v, %d failed tasks", builds, markers, failed)
	}

	// Rollback: build 1 current again; new work runs there.
	if err := worker.SetCurrent(ctx, s.temporal, deployment, "build-1", served, time.Minute); err != nil {
		t.Fatal(err)
	}
	back := s.report(other, tracking.Delivered, base.Add(time.Hour))
	s.waitWorkflow(back, nil)
	if builds, failed, _ := s.taskBuilds(back); len(builds) == 0 || slices.ContainsFunc(builds, func(b string) bool { return b != "build-1" }) || failed != 0 {
		t.Errorf("after the rollback a StatusUpdate ran on %v (%d failed tasks), want build-1 only", builds, failed)
	}
	desc, err := s.temporal.WorkerDeploymentClient().GetHandle(deployment).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cur := desc.Info.RoutingConfig.CurrentVersion; cur == nil || cur.BuildID != "build-1" || desc.Info.RoutingConfig.RampingVersion != nil {
		t.Errorf("routing after the rollback: %+v", desc.Info.RoutingConfig)
	}
}

// A version is made current only when it polls every queue this
// configuration serves: a build whose courier queue has no poller is refused.
func TestAVersionIsNotMadeCurrentUntilEveryQueueIsPolled(t *testing.T) {
	s := newStack(t)
	s.cfg.Worker.DeploymentName = fmt.Sprintf("orderflow-it-%d", env.seq.Add(1))
	s.versionedWorker("build-1", nil, nil)
	withCourier := s.cfg
	withCourier.Couriers.Delhivery.BaseURL = "http://delhivery.invalid"
	served, err := worker.ServedQueues(withCourier)
	if err != nil {
		t.Fatal(err)
	}
	err = worker.SetCurrent(context.Background(), s.temporal, s.cfg.Worker.DeploymentName, "build-1", served, 3*time.Second)
	courierQueue := workflows.CourierTaskQueue(s.cfg.Temporal.TaskQueue, tracking.APIDelhivery)
	if err == nil || !strings.Contains(err.Error(), courierQueue) {
		t.Fatalf("got %v, want a refusal naming %s", err, courierQueue)
	}
	desc, err := s.temporal.WorkerDeploymentClient().GetHandle(s.cfg.Worker.DeploymentName).Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Info.RoutingConfig.CurrentVersion != nil {
		t.Errorf("current version %+v, want none", desc.Info.RoutingConfig.CurrentVersion)
	}
}

// recordIngestHistory records the history of the RecoveryIngest that handled
// the invoice's event, when ORDERFLOW_RECORD_HISTORY_DIR is set.
func (r *recoveryStack) recordIngestHistory(invoiceID string) {
	r.t.Helper()
	if os.Getenv("ORDERFLOW_RECORD_HISTORY_DIR") == "" {
		return
	}
	var id string
	eventually(r.t, 30*time.Second, "the RecoveryIngest to be listed", func() bool {
		resp, err := r.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowType = 'RecoveryIngest' AND TaskQueue = %q AND ExecutionStatus = 'Completed'", r.cfg.Temporal.TaskQueue)})
		if err != nil || len(resp.Executions) == 0 {
			return false
		}
		id = resp.Executions[0].Execution.WorkflowId
		return true
	})
	r.recordHistory(id, "recovery_ingest_history.json")
}

// A rollback to the current build ends a ramp to the newer one: the Helm
// chart's post-rollback Job (`starter deploy rollback`) must undo a ramp too.
// Ramping the current build is a no-op.
func TestARollbackEndsARamp(t *testing.T) {
	s := newStack(t)
	s.cfg.Worker.DeploymentName = fmt.Sprintf("orderflow-it-%d", env.seq.Add(1))
	s.versionedWorker("build-1", nil, nil)
	s.versionedWorker("build-2", nil, nil)
	served, err := worker.ServedQueues(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, name := context.Background(), s.cfg.Worker.DeploymentName
	if err := worker.SetCurrent(ctx, s.temporal, name, "build-1", served, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := worker.Ramp(ctx, s.temporal, name, "build-2", 50, served, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := worker.Rollback(ctx, s.temporal, name, "build-1", served, time.Minute); err != nil {
		t.Fatal(err)
	}
	desc, err := s.temporal.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rc := desc.Info.RoutingConfig; rc.CurrentVersion == nil || rc.CurrentVersion.BuildID != "build-1" || rc.RampingVersion != nil {
		t.Errorf("routing after the rollback: current %+v, ramping %+v, want build-1 and no ramp", rc.CurrentVersion, rc.RampingVersion)
	}
	// Ramping the current build (the chart's Job after an upgrade that kept
	// the build) changes nothing.
	if err := worker.Ramp(ctx, s.temporal, name, "build-1", 10, served, time.Minute); err != nil {
		t.Fatalf("ramping the current build: %v", err)
	}
	desc, err = s.temporal.WorkerDeploymentClient().GetHandle(name).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rc := desc.Info.RoutingConfig; rc.CurrentVersion == nil || rc.CurrentVersion.BuildID != "build-1" || rc.RampingVersion != nil {
		t.Errorf("routing after ramping the current build: current %+v, ramping %+v", rc.CurrentVersion, rc.RampingVersion)
	}
}
