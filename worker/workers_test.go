package worker

import (
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"orderflow/config"
	"orderflow/tracking"
	"orderflow/workflows"
)

func TestQueuesWithoutCouriersIsTheMainQueueAlone(t *testing.T) {
	cfg := config.Default()
	qs := mustQueues(t, cfg)
	if len(qs) != 1 {
		t.Fatalf("got %d queues, want the main one only", len(qs))
	}
	if qs[0].name != cfg.Temporal.TaskQueue || !reflect.DeepEqual(qs[0].options, sdkworker.Options{}) {
		t.Errorf("main queue %q %+v, want %q with the SDK's default options", qs[0].name, qs[0].options, cfg.Temporal.TaskQueue)
	}
	if len(qs[0].workflow) != len(mainWorkflows) {
		t.Errorf("main queue serves %d workflows, want %d", len(qs[0].workflow), len(mainWorkflows))
	}
}

func TestQueuesHaveOneRateLimitedWorkerPerEnabledCourier(t *testing.T) {
	cfg := config.Default()
	cfg.Couriers.Delhivery.BaseURL = "http://delhivery.invalid"
	cfg.Couriers.Shiprocket.BaseURL = "http://shiprocket.invalid"
	qs := mustQueues(t, cfg)
	want := map[string]float64{
		// Delhivery B2C and Shiprocket's bulk APIs take 50 AWBs per call.
		workflows.CourierTaskQueue(cfg.Temporal.TaskQueue, tracking.APIDelhivery):  cfg.Couriers.Delhivery.ActivitiesPerSecond(50),
		workflows.CourierTaskQueue(cfg.Temporal.TaskQueue, tracking.APIShiprocket): cfg.Couriers.Shiprocket.ActivitiesPerSecond(50),
	}
	if len(qs) != 1+len(want) {
		t.Fatalf("got %d queues, want the main one and %d courier queues", len(qs), len(want))
	}
	for _, q := range qs[1:] {
		rate, ok := want[q.name]
		if !ok {
			t.Errorf("unexpected courier queue %q", q.name)
			continue
		}
		if !reflect.DeepEqual(q.options, sdkworker.Options{TaskQueueActivitiesPerSecond: rate}) || rate <= 0 {
			t.Errorf("%s: options %+v, want only TaskQueueActivitiesPerSecond %v", q.name, q.options, rate)
		}
		if len(q.workflow) != 0 {
			t.Errorf("%s serves workflows %v, want poll activities only", q.name, q.workflow)
		}
		if acts := q.activity(&Activities{}); len(acts) != 1 {
			t.Errorf("%s serves %d activity structs, want the sweep's only", q.name, len(acts))
		}
	}
}

// New registers every workflow and activity struct on real SDK workers: a
// name registered twice (two activity structs sharing a method name) panics here.
func TestNewBuildsAndRegistersEveryWorker(t *testing.T) {
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	cfg := config.Default()
	cfg.Couriers.DelhiveryB2B.BaseURL = "http://b2b.invalid"
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var adjusted *Activities
	ws := New(Deps{Config: cfg, Temporal: tc, Now: func() time.Time { return fixed },
		Adjust: func(a *Activities) { adjusted = a }})
	if len(ws.all) != 2 {
		t.Fatalf("built %d workers, want the main one and Delhivery B2B's", len(ws.all))
	}
	if adjusted != ws.Activities || adjusted.Tracking == nil || adjusted.Recovery == nil || adjusted.Sweep == nil {
		t.Errorf("Adjust saw %+v, want the registered activities %+v", adjusted, ws.Activities)
	}
	a := ws.Activities
	for name, now := range map[string]func() time.Time{"tracking": a.Tracking.Now, "recovery": a.Recovery.Now, "sweep": a.Sweep.Now} {
		if now == nil || !now().Equal(fixed) {
			t.Errorf("%s activities do not read the deps' clock", name)
		}
	}
}

func mustQueues(t *testing.T, cfg config.Config) []queue {
	t.Helper()
	qs, err := queues(cfg, NewCourierRegistry(cfg.Couriers))
	if err != nil {
		t.Fatal(err)
	}
	return qs
}
