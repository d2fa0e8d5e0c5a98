package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
)

// TrackerSettings are one tracker's knobs in a sweep.
type TrackerSettings struct {
	Name string `json:"name"` // a tracking.Tracker* name
	// BatchSize is the orders one poll activity handles: the API's maximum per
	// call (50) for Delhivery B2C and Shiprocket, a few one-LR calls for B2B.
	BatchSize int `json:"batch_size"`
}

// SweepSizes bound a sweep's fan-out and each workflow's history.
type SweepSizes struct {
	// PartitionSize is the most orders one TrackerPartition child polls.
	PartitionSize int `json:"partition_size"`
	// MaxParallelPartitions is the most partitions of one tracker in flight.
	MaxParallelPartitions int `json:"max_parallel_partitions"`
	// MaxParallelPolls is the most poll activities of one partition in flight.
	MaxParallelPolls int `json:"max_parallel_polls"`
	// PartitionsPerRun is how many partitions a TrackerSweep run starts before continuing as new.
	PartitionsPerRun int `json:"partitions_per_run"`
}

// TrackingSweepInput is what the Schedule's action passes (built from config by `starter schedule apply`).
type TrackingSweepInput struct {
	// Trackers run in this order's two phases: every primary in parallel, then the fallback.
	Trackers []TrackerSettings `json:"trackers"`
	SweepSizes
}

// CourierCalls counts calls per courier API, keyed by its name (a
// tracking.API* value). It marshals to the same JSON object as the struct of
// one field per courier it replaced, so recorded histories still decode.
// Workflow code reads it in key order only (workflow.DeterministicKeys).
type CourierCalls map[string]int

func (c *CourierCalls) add(api string, n int) {
	if api == "" {
		return
	}
	if *c == nil {
		*c = CourierCalls{}
	}
	(*c)[api] += n
}

func (c *CourierCalls) addAll(o CourierCalls) {
	for _, api := range workflow.DeterministicKeys(o) {
		c.add(api, o[api])
	}
}

// keywords lists the calls as "api=n" for the SweepCourierCalls search
// attribute: every known courier API, called or not, in name order.
func (c CourierCalls) keywords() []string {
	apis := slices.Clone(tracking.APIs)
	for _, api := range workflow.DeterministicKeys(c) {
		if !slices.Contains(apis, api) {
			apis = append(apis, api)
		}
	}
	slices.Sort(apis)
	out := make([]string, len(apis))
	for i, api := range apis {
		out[i] = fmt.Sprintf("%s=%d", api, c[api])
	}
	return out
}

// Total is every call.
func (c CourierCalls) Total() int {
	total := 0
	for _, api := range workflow.DeterministicKeys(c) {
		total += c[api]
	}
	return total
}

// SweepStats is what a sweep (or a part of it) did.
type SweepStats struct {
	Partitions      int          `json:"partitions"`
	Batches         int          `json:"batches"`
	FailedBatches   int          `json:"failed_batches"`
	Polled          int          `json:"polled"`
	Found           int          `json:"found"`
	NoData          int          `json:"no_data"`
	Unknown         int          `json:"unknown"`
	CustomerReturns int          `json:"customer_returns"`
	Changed         int          `json:"changed"`
	FirstRTOs       int          `json:"first_rtos"`    // RTOCancel children this sweep started
	ExistingRTOs    int          `json:"existing_rtos"` // first RTOs another source had already started
	Calls           CourierCalls `json:"calls"`
	// ReturnsPolled are customer return shipments polled by their own AWB,
	// ReturnsStarted the OrderReturns their first-seen statuses started.
	ReturnsPolled  int `json:"returns_polled,omitempty"`
	ReturnsStarted int `json:"returns_started,omitempty"`
}

func (s *SweepStats) add(o SweepStats) {
	s.Partitions += o.Partitions
	s.Batches += o.Batches
	s.FailedBatches += o.FailedBatches
	s.Polled += o.Polled
	s.Found += o.Found
	s.NoData += o.NoData
	s.Unknown += o.Unknown
	s.CustomerReturns += o.CustomerReturns
	s.Changed += o.Changed
	s.FirstRTOs += o.FirstRTOs
	s.ExistingRTOs += o.ExistingRTOs
	s.ReturnsPolled += o.ReturnsPolled
	s.ReturnsStarted += o.ReturnsStarted
	s.Calls.addAll(o.Calls)
}

func (s *SweepStats) addBatch(r activities.PollBatchResult) {
	s.Batches++
	s.Polled += r.Polled
	s.Found += r.Found
	s.NoData += r.NoData
	s.Unknown += r.Unknown
	s.CustomerReturns += r.CustomerReturns
	s.Changed += r.Changed
	s.Calls.add(r.API, r.Calls)
}

// DefaultSweepSizes are used for every size left zero.
var DefaultSweepSizes = SweepSizes{PartitionSize: 2000, MaxParallelPartitions: 2, MaxParallelPolls: 8, PartitionsPerRun: 20}

func (in SweepSizes) withDefaults() SweepSizes {
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return SweepSizes{
		PartitionSize:         pick(in.PartitionSize, DefaultSweepSizes.PartitionSize),
		MaxParallelPartitions: pick(in.MaxParallelPartitions, DefaultSweepSizes.MaxParallelPartitions),
		MaxParallelPolls:      pick(in.MaxParallelPolls, DefaultSweepSizes.MaxParallelPolls),
		PartitionsPerRun:      pick(in.PartitionsPerRun, DefaultSweepSizes.PartitionsPerRun),
	}
}

// TrackingSweep is one sweep of every tracker (the in-house cron's five trigger points
// as four trackers). The primaries run in parallel, each as a TrackerSweep
// child; then the Delhivery fallback polls the orders whose primary source gave
// no data in this sweep. Its search attributes and memo say what it did.
func TrackingSweep(ctx workflow.Context, in TrackingSweepInput) (SweepStats, error) {
	sizes := in.SweepSizes.withDefaults()
	var primaries, fallbacks []TrackerSettings
	for _, t := range in.Trackers {
		if tr, ok := tracking.TrackerByName(t.Name); ok && tr.Fallback {
			fallbacks = append(fallbacks, t)
		} else {
			primaries = append(primaries, t)
		}
	}
	var total SweepStats
	for _, phase := range [][]TrackerSettings{primaries, fallbacks} {
		stats, err := runTrackers(ctx, phase, sizes)
		total.add(stats)
		if err != nil {
			return total, err
		}
	}
	workflow.GetLogger(ctx).Info("tracking sweep done", "polled", total.Polled, "changed", total.Changed,
		"first_rtos", total.FirstRTOs, "calls", total.Calls.Total())
	return total, recordSweep(ctx, total)
}

// runTrackers runs one TrackerSweep child per tracker in parallel and sums them.
func runTrackers(ctx workflow.Context, trackers []TrackerSettings, sizes SweepSizes) (SweepStats, error) {
	sweepID := workflow.GetInfo(ctx).WorkflowExecution.ID
	futures := make([]workflow.ChildWorkflowFuture, len(trackers))
	for i, t := range trackers {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: TrackerSweepWorkflowID(sweepID, t.Name)})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, TrackerSweep, TrackerSweepInput{Tracker: t, Sizes: sizes})
	}
	var total SweepStats
	var firstErr error
	for _, f := range futures {
		var s SweepStats
		if err := f.Get(ctx, &s); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		total.add(s)
	}
	return total, firstErr
}

// recordSweep puts the sweep's figures on its search attributes and memo.
func recordSweep(ctx workflow.Context, s SweepStats) error {
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		SweepOrdersPolledAttr.ValueSet(int64(s.Polled)),
		SweepFirstRTOsAttr.ValueSet(int64(s.FirstRTOs)),
		SweepCourierCallsAttr.ValueSet(s.Calls.keywords()),
	); err != nil {
		return err
	}
	return workflow.UpsertMemo(ctx, map[string]any{SweepMemoKey: s})
}
