package workflows

import (
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

// TrackerSweepInput is one tracker's share of a sweep; Cursor, Seq and Stats
// carry the progress across continue-as-new.
type TrackerSweepInput struct {
	Tracker TrackerSettings `json:"tracker"`
	Sizes   SweepSizes      `json:"sizes"`
	Cursor  string          `json:"cursor,omitempty"` // last order _id of the partitions done so far
	Seq     int             `json:"seq"`              // partitions started so far
	Stats   SweepStats      `json:"stats"`
}

// TrackerSweep walks one tracker's active orders partition by partition:
// a local activity reads the next partition's ids from Mongo and returns only
// its bounds and its batches' bounds (they alone enter history), a
// TrackerPartition child polls it. At most MaxParallelPartitions run at once,
// the next starting as one ends; after PartitionsPerRun partitions (all ended)
// the run continues as new, so its
// history depends on the sizes, not on the orders. A tracker whose whole
// active set is one partition is polled here, without a child. Once every
// partition is polled, the tracker's customer return shipments within the
// return window are polled by their own AWBs (pollReturns).
func TrackerSweep(ctx workflow.Context, in TrackerSweepInput) (SweepStats, error) {
	sizes := in.Sizes.withDefaults()
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	lctx := workflow.WithLocalActivityOptions(ctx, sweepMongoLocal)
	sel := workflow.NewSelector(ctx)
	var childErr error
	startedThisRun, inFlight, more := 0, 0, true
	for {
		// Keep MaxParallelPartitions in flight: the next partition starts as
		// soon as one ends, so the courier's queue never drains between waves.
		for more && inFlight < sizes.MaxParallelPartitions && startedThisRun < sizes.PartitionsPerRun &&
			!workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			var next activities.NextPartitionResult
			if err := workflow.ExecuteLocalActivity(lctx, sa.NextPartition, activities.NextPartitionInput{
				Tracker: in.Tracker.Name, After: in.Cursor, Size: sizes.PartitionSize, BatchSize: in.Tracker.BatchSize,
			}).Get(ctx, &next); err != nil {
				return in.Stats, err
			}
			if next.Count == 0 {
				more = false
				break
			}
			part := TrackerPartitionInput{Tracker: in.Tracker, Partition: activities.IDRange{After: in.Cursor, Last: next.Last},
				MaxParallelPolls: sizes.MaxParallelPolls, Batches: next.Batches}
			if in.Seq == 0 && next.Count < sizes.PartitionSize {
				// The whole active set is this one partition.
				s, err := pollPartition(ctx, part)
				in.Stats.add(s)
				if err != nil {
					return in.Stats, err
				}
				return in.Stats, pollReturns(ctx, in.Tracker, &in.Stats)
			}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: TrackerPartitionWorkflowID(id, in.Seq)})
			sel.AddFuture(workflow.ExecuteChildWorkflow(cctx, TrackerPartition, part), func(f workflow.Future) {
				inFlight--
				var s SweepStats
				if err := f.Get(ctx, &s); err != nil && childErr == nil {
					childErr = err
				}
				in.Stats.add(s)
			})
			inFlight++
			in.Cursor, in.Seq = next.Last, in.Seq+1
			startedThisRun++
			more = next.Count == sizes.PartitionSize
		}
		if inFlight == 0 {
			break
		}
		sel.Select(ctx)
		if childErr != nil {
			return in.Stats, childErr
		}
	}
	if more {
		return in.Stats, workflow.NewContinueAsNewError(ctx, TrackerSweep, in)
	}
	return in.Stats, pollReturns(ctx, in.Tracker, &in.Stats)
}
