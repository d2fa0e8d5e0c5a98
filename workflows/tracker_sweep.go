package workflows

import (
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/store"
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
// TrackerPartition child polls it. Waves of at most MaxParallelPartitions run
// at once; after PartitionsPerRun partitions the run continues as new, so its
// history depends on the sizes, not on the orders. A tracker whose whole
// active set is one partition is polled here, without a child.
func TrackerSweep(ctx workflow.Context, in TrackerSweepInput) (SweepStats, error) {
	sizes := in.Sizes.withDefaults()
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	lctx := workflow.WithLocalActivityOptions(ctx, sweepMongoLocal)
	startedThisRun := 0
	for {
		var wave []workflow.ChildWorkflowFuture
		done := false
		for len(wave) < sizes.MaxParallelPartitions {
			var next activities.NextPartitionResult
			if err := workflow.ExecuteLocalActivity(lctx, sa.NextPartition, activities.NextPartitionInput{
				Tracker: in.Tracker.Name, After: in.Cursor, Size: sizes.PartitionSize, BatchSize: in.Tracker.BatchSize,
			}).Get(ctx, &next); err != nil {
				return in.Stats, err
			}
			if next.Count == 0 {
				done = true
				break
			}
			part := TrackerPartitionInput{Tracker: in.Tracker, Partition: store.IDRange{After: in.Cursor, Last: next.Last},
				MaxParallelPolls: sizes.MaxParallelPolls, Batches: next.Batches}
			if in.Seq == 0 && next.Count < sizes.PartitionSize {
				// The whole active set is this one partition.
				s, err := pollPartition(ctx, part)
				in.Stats.add(s)
				return in.Stats, err
			}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: TrackerPartitionWorkflowID(id, in.Seq)})
			wave = append(wave, workflow.ExecuteChildWorkflow(cctx, TrackerPartition, part))
			in.Cursor, in.Seq = next.Last, in.Seq+1
			startedThisRun++
			if next.Count < sizes.PartitionSize {
				done = true
				break
			}
		}
		for _, f := range wave {
			var s SweepStats
			if err := f.Get(ctx, &s); err != nil {
				return in.Stats, err
			}
			in.Stats.add(s)
		}
		if done {
			return in.Stats, nil
		}
		if startedThisRun >= sizes.PartitionsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return in.Stats, workflow.NewContinueAsNewError(ctx, TrackerSweep, in)
		}
	}
}
