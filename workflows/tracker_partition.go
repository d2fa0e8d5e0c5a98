package workflows

import (
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
)

// TrackerPartitionInput is one partition of a tracker's active orders.
type TrackerPartitionInput struct {
	Tracker          TrackerSettings    `json:"tracker"`
	Partition        activities.IDRange `json:"partition"`
	MaxParallelPolls int                `json:"max_parallel_polls"`
	// Batches are the partition's poll batches when TrackerSweep's read
	// already cut them (then no PlanBatches step); empty: plan them here.
	Batches []activities.IDRange `json:"batches,omitempty"`
}

// TrackerPartition cuts its partition into batches of the tracker's batch size
// and polls them on the courier's rate-limited task queue, at most
// MaxParallelPolls at once. As each poll returns, RTOCancel is started for its
// first-RTO candidates through StartRTOCancels, the one first-RTO mechanism
// every source shares. A batch that fails for good is counted, not fatal: the
// next sweep polls it again.
func TrackerPartition(ctx workflow.Context, in TrackerPartitionInput) (SweepStats, error) {
	return pollPartition(ctx, in)
}

// pollPartition is TrackerPartition's body; TrackerSweep runs it inline for a
// tracker whose whole active set is one partition (no child workflow to pay for).
func pollPartition(ctx workflow.Context, in TrackerPartitionInput) (SweepStats, error) {
	stats := SweepStats{Partitions: 1}
	plan := activities.PlanBatchesResult{Batches: in.Batches}
	if len(plan.Batches) == 0 {
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sweepMongo), sa.PlanBatches, activities.PlanBatchesInput{
			Tracker: in.Tracker.Name, Partition: in.Partition, BatchSize: in.Tracker.BatchSize,
		}).Get(ctx, &plan); err != nil {
			return stats, err
		}
	}
	tr, _ := tracking.TrackerByName(in.Tracker.Name)
	opts := pollBatch
	opts.TaskQueue = CourierTaskQueue(workflow.GetInfo(ctx).TaskQueueName, tr.API)
	pctx := workflow.WithActivityOptions(ctx, opts)
	logger := workflow.GetLogger(ctx)

	sel := workflow.NewSelector(ctx)
	var candidates []activities.RTOCandidate
	pending := 0
	for _, b := range plan.Batches {
		f := workflow.ExecuteActivity(pctx, sa.PollBatch, activities.PollBatchInput{
			Tracker: in.Tracker.Name, Range: b, BatchSize: in.Tracker.BatchSize,
		})
		pending++
		sel.AddFuture(f, func(f workflow.Future) {
			pending--
			var r activities.PollBatchResult
			if err := f.Get(ctx, &r); err != nil {
				stats.FailedBatches++
				logger.Warn("poll batch failed; the next sweep polls it again", "tracker", in.Tracker.Name, "error", err)
				return
			}
			stats.addBatch(r)
			candidates = append(candidates, r.RTOCandidates...)
		})
		for pending >= max(in.MaxParallelPolls, 1) {
			sel.Select(ctx)
			if err := startFirstRTOs(ctx, &candidates, &stats); err != nil {
				return stats, err
			}
		}
	}
	for pending > 0 {
		sel.Select(ctx)
		if err := startFirstRTOs(ctx, &candidates, &stats); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

func startFirstRTOs(ctx workflow.Context, candidates *[]activities.RTOCandidate, stats *SweepStats) error {
	if len(*candidates) == 0 {
		return nil
	}
	started, existing, err := StartRTOCancels(ctx, *candidates)
	stats.FirstRTOs += len(started)
	stats.ExistingRTOs += len(existing)
	*candidates = nil
	return err
}
