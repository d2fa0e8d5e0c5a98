package workflows

import (
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/tracking"
	"orderflow/tracking/push"
)

// Kinds of push event, decided by the source's Ingest from the payload.
const (
	PushKindStatus         = push.KindStatus
	PushKindCustomerReturn = push.KindCustomerReturn
	PushKindTest           = push.KindTest
	PushKindStock          = push.KindStock
	PushKindIgnored        = push.KindIgnored
)

// PushScan is one status a push event reports, already canonical, with its own time.
type PushScan = push.Scan

// PushIngestInput is one verified, parsed push event, as the source's Ingest
// (tracking/push/<source>) builds it.
type PushIngestInput = push.Event

// PushIngestResult says what became of the event.
type PushIngestResult struct {
	Outcome            string   `json:"outcome"` // a push.Outcome* value
	OrderID            string   `json:"order_id,omitempty"`
	Modified           int64    `json:"modified"`
	RTOCancelsStarted  []string `json:"rto_cancels_started,omitempty"`
	RTOCancelsExisting []string `json:"rto_cancels_existing,omitempty"`
	// OrderReturnStarted is the OrderReturn this customer return started;
	// OrderReturnExisting one another push of the same return shipment had.
	OrderReturnStarted  string `json:"order_return_started,omitempty"`
	OrderReturnExisting string `json:"order_return_existing,omitempty"`
}

// changeCustomerReturns is the workflow.GetVersion change ID of applying a
// customer return's statuses (return, returned) to its order and starting
// the return shipment's OrderReturn; before it a return was only recorded.
const changeCustomerReturns = "customer-returns"

// changeReturnAWB is the workflow.GetVersion change ID of recording a return
// shipment's own AWB on its order (RecordReturnAWB), so the sweep polls it
// within the return window; before it a push only started its OrderReturn.
const changeReturnAWB = "return-awb"

// PushIngest turns a push event into durable work. The ingress starts it
// before answering 2xx, with an ID derived from the event and REJECT_DUPLICATE,
// so a redelivery is a no-op and an event is never lost once acknowledged,
// even if Mongo or the worker is down: the activities retry until they can.
// A status event finds its order and goes through the same status-update path
// as a poll (ApplyStatusObservations, then StartRTOCancels): one first-RTO
// mechanism for every source. A customer return sets return or returned on
// its order through the same path (never an RTO) and starts the return
// shipment's OrderReturn. Every event ends recorded in push_events.
func PushIngest(ctx workflow.Context, in PushIngestInput) (PushIngestResult, error) {
	steps := newMongoSteps(ctx)
	res := PushIngestResult{Outcome: outcomeOf(in.Kind)}
	var err error
	switch in.Kind {
	case PushKindStatus, PushKindCustomerReturn, PushKindIgnored:
		if res.OrderID, err = findPushOrder(ctx, steps, in.OrderRefs); err != nil {
			return res, err
		}
		switch {
		case in.Kind == PushKindStatus && res.OrderID == "":
			res.Outcome = push.OutcomeUnmatched
		case in.Kind == PushKindStatus:
			if err := applyPushStatus(ctx, steps, in, &res); err != nil {
				return res, err
			}
		case in.Kind == PushKindCustomerReturn && res.OrderID != "" &&
			workflow.GetVersion(ctx, changeCustomerReturns, workflow.DefaultVersion, 1) >= 1:
			if err := applyCustomerReturn(ctx, steps, in, &res); err != nil {
				return res, err
			}
		}
	case PushKindStock:
		if err := steps.run(ctx, mongoStep, a.ApplyStockLevels,
			activities.ApplyStockLevelsInput{Levels: in.Stock}).Get(ctx, nil); err != nil {
			return res, err
		}
	}
	return res, steps.run(ctx, mongoStep, a.RecordPushEvent, pushRecord(in, res)).Get(ctx, nil)
}

func outcomeOf(kind string) string {
	switch kind {
	case PushKindStatus:
		return push.OutcomeApplied
	case PushKindCustomerReturn:
		return push.OutcomeCustomerReturn
	case PushKindTest:
		return push.OutcomeTest
	case PushKindStock:
		return push.OutcomeStock
	}
	return push.OutcomeIgnored
}

// findPushOrder resolves the order and, when found, makes this workflow
// findable by OrderID in the UI.
func findPushOrder(ctx workflow.Context, steps mongoSteps, refs []push.OrderRef) (string, error) {
	if len(refs) == 0 {
		return "", nil
	}
	var found activities.FindPushOrderResult
	if err := steps.run(ctx, mongoStep, a.FindPushOrder,
		activities.FindPushOrderInput{Refs: refs}).Get(ctx, &found); err != nil {
		return "", err
	}
	if !found.Found {
		return "", nil
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, OrderIDAttr.ValueSet(found.OrderID)); err != nil {
		return "", err
	}
	return found.OrderID, nil
}

// applyPushStatus is the poller's status-update path for the event's scans.
func applyPushStatus(ctx workflow.Context, steps mongoSteps, in PushIngestInput, res *PushIngestResult) error {
	obs := make([]tracking.Observation, len(in.Scans))
	for i, s := range in.Scans {
		obs[i] = tracking.Observation{OrderID: res.OrderID, Source: in.Source, Status: s.Status, EventTime: s.EventTime}
	}
	var applied activities.ApplyStatusResult
	if err := steps.run(ctx, mongoStep, a.ApplyStatusObservations,
		activities.ApplyStatusInput{Observations: obs}).Get(ctx, &applied); err != nil {
		return err
	}
	// The RTOCancel must be as findable as a poll-driven one: when the order
	// document lacks its AWB or courier, the event's waybill and source fill them.
	for i := range applied.RTOCandidates {
		c := &applied.RTOCandidates[i]
		if c.AWB == "" {
			c.AWB = in.Waybill
		}
		if c.Courier == "" {
			c.Courier = in.Source
		}
	}
	started, existing, err := StartRTOCancels(ctx, applied.RTOCandidates)
	if err != nil {
		return err
	}
	res.Modified, res.RTOCancelsStarted, res.RTOCancelsExisting = applied.Modified, started, existing
	return nil
}

// applyCustomerReturn applies a customer return's statuses to its order
// through the status-update path (they are never RTO, so no RTOCancel can
// follow) and starts the return shipment's OrderReturn, once per return AWB.
// A return with no AWB yet (Clickpost's "Return Order Placed" may come
// before one is assigned) sets the status only: its shipment is told when a
// push carrying its AWB arrives. The AWB is recorded on the order, so the
// sweep polls the return shipment too (pollReturns).
func applyCustomerReturn(ctx workflow.Context, steps mongoSteps, in PushIngestInput, res *PushIngestResult) error {
	var obs []tracking.Observation
	for _, s := range in.Scans {
		if tracking.IsReturn(s.Status) {
			obs = append(obs, tracking.Observation{OrderID: res.OrderID, Source: in.Source, Status: s.Status, EventTime: s.EventTime})
		}
	}
	if len(obs) == 0 {
		return nil
	}
	var applied activities.ApplyStatusResult
	if err := steps.run(ctx, mongoStep, a.ApplyStatusObservations,
		activities.ApplyStatusInput{Observations: obs}).Get(ctx, &applied); err != nil {
		return err
	}
	res.Modified = applied.Modified
	if in.Waybill == "" {
		return nil
	}
	if workflow.GetVersion(ctx, changeReturnAWB, workflow.DefaultVersion, 1) >= 1 {
		if err := steps.run(ctx, mongoStep, a.RecordReturnAWB, activities.RecordReturnAWBInput{
			OrderID: res.OrderID, ReturnAWB: in.Waybill,
		}).Get(ctx, nil); err != nil {
			return err
		}
	}
	newest := obs[0]
	for _, o := range obs[1:] {
		if o.EventTime.After(newest.EventTime) {
			newest = o
		}
	}
	started, err := startOrderReturn(ctx, OrderReturnInput{
		OrderID: res.OrderID, ReturnAWB: in.Waybill, Status: newest.Status, Source: in.Source,
	})
	if err != nil {
		return err
	}
	id := OrderReturnWorkflowID(res.OrderID, in.Waybill)
	if started {
		res.OrderReturnStarted = id
	} else {
		res.OrderReturnExisting = id
	}
	return nil
}

// startOrderReturn starts the return shipment's OrderReturn, abandoned so it
// outlives this workflow, and waits until it has started; false when another
// push of the same shipment started it already.
func startOrderReturn(ctx workflow.Context, in OrderReturnInput) (bool, error) {
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            OrderReturnWorkflowID(in.OrderID, in.ReturnAWB),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			OrderIDAttr.ValueSet(in.OrderID),
			AWBAttr.ValueSet(in.ReturnAWB),
			CourierAttr.ValueSet(in.Source),
			TrackingStatusAttr.ValueSet(in.Status),
		),
	}
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), OrderReturn, in)
	err := f.GetChildWorkflowExecution().Get(ctx, nil)
	var dup *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &dup) {
		return false, nil
	}
	return err == nil, err
}

func pushRecord(in PushIngestInput, res PushIngestResult) activities.PushEventRecord {
	statuses := make([]string, len(in.Scans))
	for i, s := range in.Scans {
		statuses[i] = s.Status
	}
	return activities.PushEventRecord{
		ID: in.EventID, Source: in.Source, Account: in.Account, Outcome: res.Outcome, Event: in.Event,
		Waybill: in.Waybill, OrderRefs: in.OrderRefs, OrderID: res.OrderID, Statuses: statuses,
		EventTime: in.EventTime, ReceivedAt: in.ReceivedAt,
	}
}
