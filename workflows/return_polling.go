package workflows

import (
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
)

// changeReturnPolling is the workflow.GetVersion change ID of TrackerSweep
// polling its orders' customer return shipments (their own AWBs) after the
// forward orders; before it a sweep polled forward AWBs only.
const changeReturnPolling = "return-polling"

// pollReturns polls the tracker's customer return shipments within the
// return window (PollReturns, on the courier's rate-limited queue) and starts
// the OrderReturn of every shipment whose status it moved: the same workflow
// ID as a push of that shipment starts, so a shipment is told once however
// it is reported. A failed poll is counted, not fatal: the next sweep polls again.
func pollReturns(ctx workflow.Context, t TrackerSettings, stats *SweepStats) error {
	if workflow.GetVersion(ctx, changeReturnPolling, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	tr, ok := tracking.TrackerByName(t.Name)
	if !ok || tr.Fallback {
		return nil
	}
	opts := pollBatch
	opts.TaskQueue = CourierTaskQueue(workflow.GetInfo(ctx).TaskQueueName, tr.API)
	var r activities.PollReturnsResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), sa.PollReturns,
		activities.PollReturnsInput{Tracker: t.Name, BatchSize: t.BatchSize}).Get(ctx, &r); err != nil {
		stats.FailedBatches++
		workflow.GetLogger(ctx).Warn("return shipment poll failed; the next sweep polls them again", "tracker", t.Name, "error", err)
		return nil
	}
	stats.Calls.add(r.API, r.Calls)
	stats.ReturnsPolled += r.Polled
	stats.Changed += r.Changed
	for _, ret := range r.Returns {
		started, err := startOrderReturn(ctx, OrderReturnInput{
			OrderID: ret.OrderID, ReturnAWB: ret.ReturnAWB, Status: ret.Status, Source: ret.Source,
		})
		if err != nil {
			return err
		}
		if started {
			stats.ReturnsStarted++
		}
	}
	return nil
}
