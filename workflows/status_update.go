package workflows

import (
	"errors"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
	"orderflow/tracking/push"
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
	// Unmatched are the reported order ids no order held when the report was
	// applied (accepted while the store could not answer the edge's lookup);
	// the report is recorded in push_events with outcome unmatched.
	Unmatched []string `json:"unmatched,omitempty"`
}

// changeUnmatchedReports is the workflow.GetVersion change ID of recording a
// report that changed nothing and whose order the store does not hold as
// unmatched; before it such a report ended silently.
const changeUnmatchedReports = "unmatched-status-reports"

// StatusReportSource is the source of a status report's push_events record:
// one fixed value, so the record and its metric series are told apart from
// push events and the report's free-text source never becomes a label.
const StatusReportSource = "status_report"

// StatusUpdate applies observations through the status-update path and starts
// RTOCancel for every order that may be having its first RTO. Its ID derives
// from the report, so a redelivered report is a rejected duplicate, and once
// it is started the report is durable even if Mongo or the worker is down.
// A report that changed nothing about an order the store does not hold (the
// edge accepted it while the store could not answer) is recorded as unmatched
// in push_events, as a push about an unknown order is, and ends.
func StatusUpdate(ctx workflow.Context, in StatusUpdateInput) (StatusUpdateResult, error) {
	steps := newMongoSteps(ctx)
	var applied activities.ApplyStatusResult
	err := steps.run(ctx, mongoStep, a.ApplyStatusObservations, activities.ApplyStatusInput(in)).Get(ctx, &applied)
	if err != nil {
		return StatusUpdateResult{}, err
	}
	res := StatusUpdateResult{Modified: applied.Modified}
	if applied.Modified == 0 && len(applied.RTOCandidates) == 0 &&
		workflow.GetVersion(ctx, changeUnmatchedReports, workflow.DefaultVersion, 1) >= 1 {
		if res.Unmatched, err = recordUnmatchedReport(ctx, steps, in.Observations); err != nil {
			return res, err
		}
	}
	if res.RTOCancelsStarted, res.RTOCancelsExisting, err = StartRTOCancels(ctx, applied.RTOCandidates); err != nil {
		return StatusUpdateResult{}, err
	}
	return res, nil
}

// recordUnmatchedReport looks up each reported order and, when the store holds
// none of some, records the report in push_events as unmatched (its _id the
// workflow's ID, so a retried activity writes it once).
func recordUnmatchedReport(ctx workflow.Context, steps mongoSteps, obs []tracking.Observation) ([]string, error) {
	var unmatched []string
	var refs []push.OrderRef
	var statuses []string
	var first time.Time
	for _, o := range obs {
		if slices.Contains(unmatched, o.OrderID) {
			continue
		}
		var found activities.FindPushOrderResult
		ref := push.OrderRef{Field: push.OrderByID, Value: o.OrderID}
		if err := steps.run(ctx, mongoStep, a.FindPushOrder,
			activities.FindPushOrderInput{Refs: []push.OrderRef{ref}}).Get(ctx, &found); err != nil {
			return nil, err
		}
		if found.Found {
			continue
		}
		unmatched, refs, statuses = append(unmatched, o.OrderID), append(refs, ref), append(statuses, o.Status)
		if first.IsZero() || o.EventTime.Before(first) {
			first = o.EventTime
		}
	}
	if len(unmatched) == 0 {
		return nil, nil
	}
	info := workflow.GetInfo(ctx)
	rec := activities.PushEventRecord{
		ID: info.WorkflowExecution.ID, Source: StatusReportSource, Outcome: push.OutcomeUnmatched,
		Event: obs[0].Source, OrderRefs: refs, Statuses: statuses, EventTime: first, ReceivedAt: info.WorkflowStartTime,
	}
	return unmatched, steps.run(ctx, mongoStep, a.RecordPushEvent, rec).Get(ctx, nil)
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
