package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/config"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/shiprocket"
)

// fakeOrders is a tracker's active set: sorted ids, as Mongo's _id order gives them.
type fakeOrders struct {
	mu       sync.Mutex
	ids      []string
	polled   map[string]int
	inFlight int
	maxIn    int
	lookups  []string // NextPartition calls (local activities: no started listener), by tracker
	// overlap, when set, holds each poll until that many are in flight at
	// once (or a deadline passes), so a test sees whether the workflow lets
	// them overlap instead of hoping a sleep is long enough.
	overlap  int
	overlapC chan struct{} // closed once overlap polls were in flight together
}

func newFakeOrders(n int) *fakeOrders {
	f := &fakeOrders{polled: map[string]int{}}
	for i := 1; i <= n; i++ {
		f.ids = append(f.ids, fmt.Sprintf("o%03d", i))
	}
	return f
}

func (f *fakeOrders) inRange(r activities.IDRange) []string {
	var out []string
	for _, id := range f.ids {
		if (r.After == "" || id > r.After) && (r.Last == "" || id <= r.Last) {
			out = append(out, id)
		}
	}
	return out
}

func (f *fakeOrders) nextPartition(_ context.Context, in activities.NextPartitionInput) (activities.NextPartitionResult, error) {
	f.mu.Lock()
	f.lookups = append(f.lookups, in.Tracker)
	f.mu.Unlock()
	ids := f.inRange(activities.IDRange{After: in.After})
	if len(ids) > in.Size {
		ids = ids[:in.Size]
	}
	if len(ids) == 0 {
		return activities.NextPartitionResult{}, nil
	}
	res := activities.NextPartitionResult{Last: ids[len(ids)-1], Count: len(ids)}
	if in.BatchSize > 0 {
		plan, _ := f.planBatches(context.Background(), activities.PlanBatchesInput{Partition: activities.IDRange{After: in.After, Last: res.Last}, BatchSize: in.BatchSize})
		res.Batches = plan.Batches
	}
	return res, nil
}

func (f *fakeOrders) planBatches(_ context.Context, in activities.PlanBatchesInput) (activities.PlanBatchesResult, error) {
	ids := f.inRange(in.Partition)
	var out activities.PlanBatchesResult
	after := in.Partition.After
	for _, b := range couriers.Batches(len(ids), in.BatchSize) {
		out.Batches = append(out.Batches, activities.IDRange{After: after, Last: ids[b[1]-1]})
		after = ids[b[1]-1]
	}
	return out, nil
}

func (f *fakeOrders) pollBatch(_ context.Context, in activities.PollBatchInput) (activities.PollBatchResult, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	if f.overlap > 0 && f.inFlight >= f.overlap && f.overlapC != nil {
		select {
		case <-f.overlapC:
		default:
			close(f.overlapC)
		}
	}
	wait := f.overlapC
	f.mu.Unlock()
	if wait != nil {
		select { // the bound was reached once, or the workflow never allows it
		case <-wait:
		case <-time.After(2 * time.Second):
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inFlight--
	ids := f.inRange(in.Range)
	res := activities.PollBatchResult{Polled: len(ids), Found: len(ids), API: tracking.APIDelhivery, Calls: len(couriers.Batches(len(ids), 50))}
	for _, id := range ids {
		f.polled[id]++
		if id == "o007" || id == "o019" {
			res.Changed++
			res.RTOCandidates = append(res.RTOCandidates, activities.RTOCandidate{OrderID: id, Status: tracking.RTOInTransit, Source: in.Tracker})
		}
	}
	return res, nil
}

func (f *fakeOrders) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivity(&activities.SweepActivities{})
	env.OnActivity(sa.NextPartition, mock.Anything, mock.Anything).Return(f.nextPartition)
	env.OnActivity(sa.PlanBatches, mock.Anything, mock.Anything).Return(f.planBatches)
	env.OnActivity(sa.PollBatch, mock.Anything, mock.Anything).Return(f.pollBatch)
	env.RegisterWorkflow(TrackerSweep)
	env.RegisterWorkflow(TrackerPartition)
	env.RegisterWorkflow(RTOCancel)
	env.OnWorkflow(RTOCancel, mock.Anything, mock.Anything).Return(RTOCancelResult{Claimed: true}, nil)
}

var smallSizes = SweepSizes{PartitionSize: 5, MaxParallelPartitions: 2, MaxParallelPolls: 2, PartitionsPerRun: 100}

func TestTrackingSweepPartitionsAndFansOutEveryOrderOnceWithSmallSizes(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakeOrders(23)
	f.overlap, f.overlapC = smallSizes.MaxParallelPartitions*smallSizes.MaxParallelPolls, make(chan struct{})
	f.register(env)
	var children []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		children = append(children, info.WorkflowType.Name)
	})
	env.ExecuteWorkflow(TrackingSweep, TrackingSweepInput{
		Trackers:   []TrackerSettings{{Name: tracking.TrackerDelhivery, BatchSize: 2}},
		SweepSizes: smallSizes,
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var stats SweepStats
	if err := env.GetWorkflowResult(&stats); err != nil {
		t.Fatal(err)
	}
	// 23 orders in partitions of 5: 5 partitions; batches of 2: 3+3+3+3+2 = 14.
	if stats.Polled != 23 || stats.Partitions != 5 || stats.Batches != 14 || stats.FirstRTOs != 2 || stats.Changed != 2 {
		t.Errorf("stats %+v", stats)
	}
	if stats.Calls[tracking.APIDelhivery] != 14 {
		t.Errorf("calls %+v, want one per batch", stats.Calls)
	}
	for _, id := range f.ids {
		if f.polled[id] != 1 {
			t.Errorf("order %s polled %d times", id, f.polled[id])
		}
	}
	// The polls overlap up to the bound and never beyond it.
	if bound := smallSizes.MaxParallelPartitions * smallSizes.MaxParallelPolls; f.maxIn != bound {
		t.Errorf("%d polls in flight at most, want exactly the bound %d", f.maxIn, bound)
	}
	count := map[string]int{}
	for _, c := range children {
		count[c]++
	}
	if count["TrackerSweep"] != 1 || count["TrackerPartition"] != 5 || count["RTOCancel"] != 2 {
		t.Errorf("children %v", count)
	}
}

func TestTrackingSweepRunsFallbackAfterPrimaries(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakeOrders(3)
	f.register(env)
	partitions := 0
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		if info.WorkflowType.Name == "TrackerPartition" {
			partitions++
		}
	})
	env.ExecuteWorkflow(TrackingSweep, TrackingSweepInput{
		Trackers: []TrackerSettings{{Name: tracking.TrackerDelhiveryFallback, BatchSize: 50},
			{Name: tracking.TrackerShiprocket, BatchSize: 50}, {Name: tracking.TrackerDelhivery, BatchSize: 50}},
		SweepSizes: smallSizes,
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if order := f.lookups; len(order) != 3 || order[2] != tracking.TrackerDelhiveryFallback {
		t.Errorf("the fallback must start after every primary: %v", order)
	}
	// 3 orders fit one partition of 5: each TrackerSweep polls them itself, without a child.
	if partitions != 0 || f.polled["o001"] != 3 {
		t.Errorf("%d TrackerPartition children, o001 polled %d times; want none, and once per tracker", partitions, f.polled["o001"])
	}
}

// History stays bounded: each TrackerSweep run starts at most PartitionsPerRun
// partitions (one NextPartition activity and one child each, plus the last
// look-up) and continues as new; more orders mean more runs, not longer ones.
func TestTrackerSweepContinuesAsNewWithBoundedWorkPerRun(t *testing.T) {
	for _, orders := range []int{23, 230} {
		f := newFakeOrders(orders)
		sizes := SweepSizes{PartitionSize: 5, MaxParallelPartitions: 2, MaxParallelPolls: 2, PartitionsPerRun: 4}
		in := TrackerSweepInput{Tracker: TrackerSettings{Name: tracking.TrackerDelhivery, BatchSize: 2}, Sizes: sizes}
		runs := 0
		for {
			runs++
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			f.register(env)
			partitions, lookupsBefore := 0, len(f.lookups)
			env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
				if info.WorkflowType.Name == "TrackerPartition" {
					partitions++
				}
			})
			env.ExecuteWorkflow(TrackerSweep, in)
			lookups := len(f.lookups) - lookupsBefore
			if lookups == 0 {
				t.Fatalf("%d orders, run %d: no NextPartition look-up seen", orders, runs)
			}
			if partitions > sizes.PartitionsPerRun || lookups > sizes.PartitionsPerRun+1 {
				t.Fatalf("%d orders, run %d: %d partitions and %d look-ups, bound %d", orders, runs, partitions, lookups, sizes.PartitionsPerRun)
			}
			err := env.GetWorkflowError()
			var can *workflow.ContinueAsNewError
			if errors.As(err, &can) {
				if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var stats SweepStats
			if err := env.GetWorkflowResult(&stats); err != nil {
				t.Fatal(err)
			}
			wantPartitions := (orders + 4) / 5
			if stats.Polled != orders || stats.Partitions != wantPartitions {
				t.Errorf("%d orders: stats %+v carried across runs", orders, stats)
			}
			if wantRuns := (wantPartitions + 3) / 4; runs != wantRuns {
				t.Errorf("%d orders: %d runs, want %d", orders, runs, wantRuns)
			}
			break
		}
		for _, id := range f.ids {
			if f.polled[id] != 1 {
				t.Fatalf("%d orders: %s polled %d times", orders, id, f.polled[id])
			}
		}
	}
}

// memSweepStore serves one batch of orders for PollBatch.
type memSweepStore struct {
	mu      sync.Mutex
	targets []store.PollTarget
	applied []tracking.Observation
}

func (m *memSweepStore) NextPartition(context.Context, store.SweepScope, string, int) (string, int, error) {
	return "", 0, errors.New("not used")
}

func (m *memSweepStore) UnplannedOrders(context.Context, store.SweepScope, int) ([]store.PollTarget, error) {
	return nil, nil // uniform polling: the sweep plans nothing
}

func (m *memSweepStore) RecordFirstPlans(context.Context, []store.FirstPlan) (int64, error) {
	return 0, errors.New("not used")
}

func (m *memSweepStore) BatchRanges(_ context.Context, _ store.SweepScope, p store.IDRange, _ int) ([]store.IDRange, error) {
	return []store.IDRange{p}, nil
}

func (m *memSweepStore) OrdersToPoll(context.Context, store.SweepScope, store.IDRange, int) ([]store.PollTarget, error) {
	return m.targets, nil
}

func (m *memSweepStore) PartitionBatches(context.Context, store.SweepScope, string, int, int) ([]store.IDRange, int, error) {
	return nil, 0, errors.New("not used")
}

func (m *memSweepStore) ApplyPoll(_ context.Context, obs []tracking.Observation, _ []store.PollMark, _ time.Time) (store.ApplyResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applied = append(m.applied, obs...)
	var res store.ApplyResult
	for _, o := range obs {
		if tracking.IsRTO(o.Status) {
			res.RTOCandidates = append(res.RTOCandidates, store.RTOCandidate{OrderID: o.OrderID, Status: o.Status, Source: o.Source})
		}
	}
	return res, nil
}

// A courier's 403 (Delhivery's WAF) or 429 + Retry-After becomes a retry of
// the poll after the courier's back-off, not the retry policy's 5 s.
func TestRateLimitedPollRetriesAfterTheCouriersBackOff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tracker  string
		wantWait time.Duration
		reject   func(w http.ResponseWriter)
		answer   string
	}{
		{"delhivery 403", tracking.TrackerDelhivery, 45 * time.Second,
			func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) },
			`{"ShipmentData":[{"Shipment":{"AWB":"A1","Status":{"Status":"In Transit","StatusType":"RT","StatusCode":"RT-101","StatusDateTime":"2026-11-20T10:00:00"}}}]}`},
		{"shiprocket 429", tracking.TrackerShiprocket, 17 * time.Second,
			func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "17")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			`{"A1":{"tracking_data":{"track_status":1,"shipment_status":46,"shipment_track":[{"awb_code":"A1","current_status":"RTO IN TRANSIT","current_timestamp":"2026-11-20 10:00:00"}]}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == shiprocket.LoginPath {
					_, _ = w.Write([]byte(`{"token":"t"}`))
					return
				}
				calls++
				if calls == 1 {
					tc.reject(w)
					return
				}
				_, _ = w.Write([]byte(tc.answer))
			}))
			defer srv.Close()
			metrics := observability.NewMetrics()
			st := &memSweepStore{targets: []store.PollTarget{{OrderID: "o1", AWB: "A1", TrackingStatus: tracking.InTransit}}}
			acts := &activities.SweepActivities{Store: st, Metrics: metrics, Couriers: couriers.NewRegistry(
				delhivery.New(delhivery.Options{BaseURL: srv.URL, Token: "t", Timeout: 5 * time.Second, LimitBackoff: 45 * time.Second}),
				shiprocket.New(shiprocket.Options{BaseURL: srv.URL, Email: "e", Password: "p", Timeout: 5 * time.Second, LimitBackoff: time.Minute}),
			)}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterActivity(acts)
			env.RegisterWorkflow(RTOCancel)
			env.OnWorkflow(RTOCancel, mock.Anything, mock.Anything).Return(RTOCancelResult{Claimed: true}, nil)
			var attempts []time.Time
			env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.ActivityType.Name == "PollBatch" {
					attempts = append(attempts, env.Now())
				}
			})
			env.ExecuteWorkflow(TrackerPartition, TrackerPartitionInput{
				Tracker: TrackerSettings{Name: tc.tracker, BatchSize: 50}, Partition: activities.IDRange{Last: "o1"}, MaxParallelPolls: 2,
			})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var stats SweepStats
			_ = env.GetWorkflowResult(&stats)
			if len(attempts) != 2 || calls != 2 {
				t.Fatalf("%d attempts, %d calls; want one refused and one retried", len(attempts), calls)
			}
			if gap := attempts[1].Sub(attempts[0]); gap < tc.wantWait || gap > tc.wantWait+time.Second {
				t.Errorf("retried after %v, want the courier's %v", gap, tc.wantWait)
			}
			if stats.FailedBatches != 0 || stats.Polled != 1 || stats.FirstRTOs != 1 {
				t.Errorf("stats %+v", stats)
			}
			api, _ := tracking.TrackerByName(tc.tracker)
			if n := testutil.ToFloat64(metrics.CourierCalls.WithLabelValues(api.API, "rate_limited")); n != 1 {
				t.Errorf("rate-limited calls counted %v, want 1", n)
			}
		})
	}
}

func TestSweepStatsAddSumsEveryField(t *testing.T) {
	var a SweepStats
	b := SweepStats{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, CourierCalls{"delhivery": 12, "delhivery_b2b": 13, "shiprocket": 14}, 15, 16}
	a.add(b)
	a.add(b)
	want := SweepStats{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, CourierCalls{"delhivery": 24, "delhivery_b2b": 26, "shiprocket": 28}, 30, 32}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("%+v", a)
	}
	if b.Calls["delhivery"] != 12 {
		t.Errorf("adding changed the added stats' calls: %+v", b.Calls)
	}
}

// CourierCalls was a struct of one int field per courier: recorded results
// and memos hold that object, and the map must read and write the same JSON.
func TestCourierCallsKeepTheJSONOfTheStructItReplaced(t *testing.T) {
	recorded := `{"delhivery":3,"delhivery_b2b":0,"shiprocket":7}`
	var calls CourierCalls
	if err := json.Unmarshal([]byte(recorded), &calls); err != nil {
		t.Fatal(err)
	}
	if calls[tracking.APIDelhivery] != 3 || calls[tracking.APIShiprocket] != 7 || calls.Total() != 10 {
		t.Errorf("decoded %v", calls)
	}
	out, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != recorded {
		t.Errorf("encoded %s, want %s", out, recorded)
	}
	want := []string{"delhivery=3", "delhivery_b2b=0", "shiprocket=7"}
	if got := (CourierCalls{"delhivery": 3, "shiprocket": 7}).keywords(); !reflect.DeepEqual(got, want) {
		t.Errorf("keywords %v, want every courier API in name order: %v", got, want)
	}
}

// A poll whose worker dies stops heartbeating: the server must retry it
// within the heartbeat timeout, not after the 5 minute start-to-close (the
// test environment does not enforce heartbeat timeouts, so the options are
// checked as the activity receives them; `make chaos` kills real workers).
func TestPollBatchCarriesAHeartbeatTimeoutForDeadWorkers(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakeOrders(3)
	f.register(env)
	var timeouts []time.Duration
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "PollBatch" {
			timeouts = append(timeouts, info.HeartbeatTimeout)
		}
	})
	env.ExecuteWorkflow(TrackerPartition, TrackerPartitionInput{
		Tracker: TrackerSettings{Name: tracking.TrackerDelhivery, BatchSize: 1}, Partition: activities.IDRange{Last: "o003"}, MaxParallelPolls: 2,
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(timeouts) != 3 {
		t.Fatalf("%d polls, want 3", len(timeouts))
	}
	for _, ht := range timeouts {
		if ht < 2*activities.PollHeartbeatInterval || ht > 30*time.Second {
			t.Errorf("heartbeat timeout %v: want at least two beats (%v) and at most 30 s", ht, 2*activities.PollHeartbeatInterval)
		}
	}
}

// The workflow's fallback sizes (a schedule created without them) are the
// configuration's defaults.
func TestDefaultSweepSizesAreTheConfigDefaults(t *testing.T) {
	c := config.DefaultSweep()
	want := SweepSizes{PartitionSize: c.PartitionSize, MaxParallelPartitions: c.MaxParallelPartitions,
		MaxParallelPolls: c.MaxParallelPolls, PartitionsPerRun: c.PartitionsPerRun}
	if DefaultSweepSizes != want {
		t.Errorf("workflows.DefaultSweepSizes %+v, config.DefaultSweep %+v", DefaultSweepSizes, want)
	}
}
