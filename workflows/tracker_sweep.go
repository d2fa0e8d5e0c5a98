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
// an activity finds the next partition's bounds from Mongo (only the bounds
// enter history), a TrackerPartition child polls it. Waves of at most
// MaxParallelPartitions run at once; after PartitionsPerRun partitions the run
// continues as new, so its history depends on the sizes, not on the orders.
func TrackerSweep(ctx workflow.Context, in TrackerSweepInput) (SweepStats, error) {
	sizes := in.Sizes.withDefaults()
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	actx := workflow.WithActivityOptions(ctx, sweepMongo)
	startedThisRun := 0
	for {
		var wave []workflow.ChildWorkflowFuture
		done := false
		for len(wave) < sizes.MaxParallelPartitions {
			var next activities.NextPartitionResult
			if err := workflow.ExecuteActivity(actx, sa.NextPartition, activities.NextPartitionInput{
				Tracker: in.Tracker.Name, After: in.Cursor, Size: sizes.PartitionSize,
			}).Get(ctx, &next); err != nil {
				return in.Stats, err
			}
			if next.Count == 0 {
				done = true
				break
			}
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: TrackerPartitionWorkflowID(id, in.Seq)})
			wave = append(wave, workflow.ExecuteChildWorkflow(cctx, TrackerPartition, TrackerPartitionInput{
				Tracker: in.Tracker, Partition: store.IDRange{After: in.Cursor, Last: next.Last}, MaxParallelPolls: sizes.MaxParallelPolls,
			}))
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
