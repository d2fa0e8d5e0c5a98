package worker

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"orderflow/config"
	"orderflow/workflows"
)

// Only short runs are pinned; every long-running workflow auto-upgrades, so a
// deploy never leaves a 72-hour delivery or a days-long recovery on a build
// that is being retired.
func TestEveryWorkflowHasItsVersioningBehavior(t *testing.T) {
	regs, err := registrations(mainWorkflows)
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != len(mainWorkflows) || len(regs) == 0 {
		t.Fatalf("%d registrations for %d workflows", len(regs), len(mainWorkflows))
	}
	// Pinned: one report or push (seconds), one test delivery, and the
	// operator's re-drive, whose runs are bounded (continue-as-new every 250
	// deliveries) and which an operator can re-issue on the new build.
	wantPinned := []string{"EndpointDrain", "PushIngest", "Redrive", "StatusUpdate", "TestEvent"}
	var gotPinned []string
	for _, r := range regs {
		switch r.behavior {
		case workflow.VersioningBehaviorPinned:
			gotPinned = append(gotPinned, workflowName(r.workflow))
		case workflow.VersioningBehaviorAutoUpgrade:
		default:
			t.Errorf("%s: behaviour %v, want pinned or auto-upgrade", workflowName(r.workflow), r.behavior)
		}
	}
	slices.Sort(gotPinned)
	if !slices.Equal(gotPinned, wantPinned) {
		t.Errorf("pinned workflows %v, want %v (every other workflow auto-upgrades)", gotPinned, wantPinned)
	}
}

// A workflow added to the list without a behaviour fails registration with
// an error that names it and says how to fix it.
func TestAWorkflowWithoutBehaviorFailsRegistrationNamingIt(t *testing.T) {
	list := append(slices.Clone(mainWorkflows), workflows.RTOCancel, registration{workflow: workflows.PushIngest})
	_, err := registrations(list)
	if err == nil {
		t.Fatal("registrations accepted workflows without a versioning behaviour")
	}
	msg := err.Error()
	for _, want := range []string{"workflow RTOCancel has no versioning behaviour", "workflow PushIngest has no versioning behaviour", "pinned(", "autoUpgrade(", "worker/workers.go"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}

func TestDeploymentOptionsFollowTheConfig(t *testing.T) {
	d := config.Default().Worker.WorkerDeployment
	if got := deploymentOptions(d); got != (sdkworker.DeploymentOptions{}) {
		t.Errorf("versioning off: %+v, want unversioned workers", got)
	}
	d.Versioning, d.BuildID = true, "build-2"
	want := sdkworker.DeploymentOptions{UseVersioning: true,
		Version: sdkworker.WorkerDeploymentVersion{DeploymentName: config.DefaultDeploymentName, BuildID: "build-2"}}
	if got := deploymentOptions(d); got != want {
		t.Errorf("versioning on: %+v, want %+v", got, want)
	}
}

// Every queue of the process, the courier queues included, polls as the same
// deployment version: the version cannot become current before all are polled.
func TestEveryQueueJoinsTheSameDeploymentVersion(t *testing.T) {
	cfg := config.Default()
	cfg.Couriers.Delhivery.BaseURL = "http://delhivery.invalid"
	cfg.Couriers.Shiprocket.BaseURL = "http://shiprocket.invalid"
	cfg.Worker.Versioning, cfg.Worker.BuildID = true, "build-7"
	qs := mustQueues(t, cfg)
	if len(qs) != 3 {
		t.Fatalf("%d queues, want the main one and two couriers'", len(qs))
	}
	for _, q := range qs {
		if q.options.DeploymentOptions != deploymentOptions(cfg.Worker.WorkerDeployment) {
			t.Errorf("%s: deployment options %+v", q.name, q.options.DeploymentOptions)
		}
	}
}

func TestVersioningWithoutABuildIDIsRefused(t *testing.T) {
	d := config.Default().Worker.WorkerDeployment
	if err := CheckDeployment(d); err != nil {
		t.Errorf("versioning off needs no build id: %v", err)
	}
	d.Versioning = true
	err := CheckDeployment(d)
	if err == nil || !strings.Contains(err.Error(), "worker.build_id") {
		t.Errorf("got %v, want an error naming worker.build_id", err)
	}
}

// The SDK itself refuses a workflow without a behaviour on a versioned worker
// (no default behaviour is set); New registers every one with its own.
func TestNewRegistersAVersionedWorkerOnEveryQueue(t *testing.T) {
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	cfg := config.Default()
	cfg.Couriers.DelhiveryB2B.BaseURL = "http://b2b.invalid"
	cfg.Worker.Versioning, cfg.Worker.BuildID = true, "build-1"
	if ws := New(Deps{Config: cfg, Temporal: tc}); len(ws.all) != 2 {
		t.Fatalf("built %d workers, want the main one and Delhivery B2B's", len(ws.all))
	}
}

// The patching rule of auto-upgrade workflows: a run moves to the new build
// at its next task, so the new code must replay what the old one recorded.
// Every auto-upgrade workflow has recorded histories in workflows/testdata,
// and each replays on today's code as registered here.
func TestAutoUpgradeWorkflowsReplayTheirRecordedHistories(t *testing.T) {
	regs, err := registrations(mainWorkflows)
	if err != nil {
		t.Fatal(err)
	}
	histories := recordedHistories(t, filepath.Join("..", "workflows", "testdata"))
	for _, r := range regs {
		if r.behavior != workflow.VersioningBehaviorAutoUpgrade {
			continue
		}
		name := workflowName(r.workflow)
		files := histories[name]
		if len(files) == 0 {
			t.Errorf("%s auto-upgrades but workflows/testdata holds no recorded history of it "+
				"(record one: ORDERFLOW_RECORD_HISTORY_DIR, tests/harness_test.go recordHistory)", name)
			continue
		}
		for _, file := range files {
			if err := replay(r, file); err != nil {
				t.Errorf("%s: %s: %v", name, filepath.Base(file), err)
			}
		}
	}
}

// replay replays one recorded history under its recorded workflow ID when
// the history shows it (the sweeps name their children after their own ID).
func replay(r registration, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return err
	}
	var opts sdkworker.ReplayWorkflowHistoryOptions
	for _, ev := range hist.Events {
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			if i := strings.LastIndex(a.WorkflowId, "/"); i > 0 {
				opts.OriginalExecution = workflow.Execution{ID: a.WorkflowId[:i], RunID: "replay-run"}
			}
			break
		}
	}
	replayer := sdkworker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(r.workflow, workflow.RegisterOptions{VersioningBehavior: r.behavior})
	return replayer.ReplayWorkflowHistoryWithOptions(nil, hist, opts)
}

var workflowTypeField = regexp.MustCompile(`"workflowType":\s*\{\s*"name":\s*"(\w+)"`)

// recordedHistories maps a workflow type to the history files started as it.
func recordedHistories(t *testing.T, dir string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in %s: %v", dir, err)
	}
	out := map[string][]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := workflowTypeField.FindSubmatch(raw)
		if m == nil {
			t.Fatalf("%s names no workflow type", f)
		}
		out[string(m[1])] = append(out[string(m[1])], f)
	}
	return out
}
