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
// return window, a page of one poll batch per PollReturns activity on the
// courier's rate-limited queue (after a local check that there is any, so an
// empty poll costs the queue nothing), and starts the OrderReturn of every
// shipment whose status a poll moved: the same workflow ID as a push of that
// shipment starts, so a shipment is told once however it is reported. A
// failed poll is counted, not fatal: the next sweep polls again.
func pollReturns(ctx workflow.Context, t TrackerSettings, stats *SweepStats) error {
	if workflow.GetVersion(ctx, changeReturnPolling, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	tr, ok := tracking.TrackerByName(t.Name)
	if !ok || tr.Fallback {
		return nil
	}
	var due bool
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, sweepMongoLocal),
		sa.HasReturnsToPoll, t.Name).Get(ctx, &due); err != nil || !due {
		return err
	}
	opts := pollBatch
	opts.TaskQueue = CourierTaskQueue(workflow.GetInfo(ctx).TaskQueueName, tr.API)
	pctx := workflow.WithActivityOptions(ctx, opts)
	after := ""
	for {
		var r activities.PollReturnsResult
		if err := workflow.ExecuteActivity(pctx, sa.PollReturns,
			activities.PollReturnsInput{Tracker: t.Name, BatchSize: t.BatchSize, After: after}).Get(ctx, &r); err != nil {
			stats.FailedBatches++
			workflow.GetLogger(ctx).Warn("return shipment poll failed; the next sweep polls them again", "tracker", t.Name, "error", err)
			return nil
		}
		stats.Calls.add(r.API, r.Calls)
		stats.ReturnsPolled += r.Polled
		stats.Changed += r.Changed
		if err := startOrderReturns(ctx, r.Returns, stats); err != nil {
			return err
		}
		if r.Last == "" {
			return nil
		}
		after = r.Last
	}
}

// startOrderReturns starts each moved return shipment's OrderReturn; one
// another source started already is left as it is.
func startOrderReturns(ctx workflow.Context, returns []activities.ReturnShipment, stats *SweepStats) error {
	for _, ret := range returns {
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
