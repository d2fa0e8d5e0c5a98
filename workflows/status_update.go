package workflows

import (
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
)

// StatusUpdateInput is one or more status observations from one report.
type StatusUpdateInput struct {
	Observations []tracking.Observation `json:"observations"`
}

// StatusUpdateResult says what the update changed and which RTOCancels it started.
type StatusUpdateResult struct {
	Modified int64 `json:"modified"`
	// RTOCancelsStarted are the workflow IDs this update started.
	RTOCancelsStarted []string `json:"rto_cancels_started"`
	// RTOCancelsExisting are first RTOs another report had already started.
	RTOCancelsExisting []string `json:"rto_cancels_existing"`
}

// StatusUpdate applies observations through the status-update path and starts
// RTOCancel for every order that may be having its first RTO. Its ID derives
// from the report, so a redelivered report is a rejected duplicate, and once
// it is started the report is durable even if Mongo or the worker is down.
func StatusUpdate(ctx workflow.Context, in StatusUpdateInput) (StatusUpdateResult, error) {
	var applied activities.ApplyStatusResult
	err := newMongoSteps(ctx).run(ctx, mongoStep, a.ApplyStatusObservations, activities.ApplyStatusInput(in)).Get(ctx, &applied)
	if err != nil {
		return StatusUpdateResult{}, err
	}
	started, existing, err := StartRTOCancels(ctx, applied.RTOCandidates)
	if err != nil {
		return StatusUpdateResult{}, err
	}
	return StatusUpdateResult{Modified: applied.Modified, RTOCancelsStarted: started, RTOCancelsExisting: existing}, nil
}

// StartRTOCancels starts one RTOCancel child per candidate, abandoned so it
// outlives its parent, and waits until each has started. A child whose ID is
// taken is another report's first RTO of the same order: counted, not an error.
func StartRTOCancels(ctx workflow.Context, candidates []activities.RTOCandidate) (started, existing []string, err error) {
	futures := make([]workflow.ChildWorkflowFuture, len(candidates))
	for i, c := range candidates {
		opts := workflow.ChildWorkflowOptions{
			WorkflowID:            RTOCancelWorkflowID(c.OrderID),
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				OrderIDAttr.ValueSet(c.OrderID),
				AWBAttr.ValueSet(c.AWB),
				CourierAttr.ValueSet(c.Courier),
				TrackingStatusAttr.ValueSet(c.Status),
			),
		}
		futures[i] = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), RTOCancel, RTOCancelInput{
			OrderID: c.OrderID, Status: c.Status, Source: c.Source,
		})
	}
	for i, f := range futures {
		id := RTOCancelWorkflowID(candidates[i].OrderID)
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		var dup *temporal.ChildWorkflowExecutionAlreadyStartedError
		switch {
		case err == nil:
			started = append(started, id)
		case errors.As(err, &dup):
			existing = append(existing, id)
		default:
			return started, existing, err
		}
	}
	return started, existing, nil
}
