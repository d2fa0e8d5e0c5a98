package workflows

import (
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
}

// PushIngest turns a push event into durable work. The ingress starts it
// before answering 2xx, with an ID derived from the event and REJECT_DUPLICATE,
// so a redelivery is a no-op and an event is never lost once acknowledged,
// even if Mongo or the worker is down: the activities retry until they can.
// A status event finds its order and goes through the same status-update path
// as a poll (ApplyStatusObservations, then StartRTOCancels): one first-RTO
// mechanism for every source. Every event ends recorded in push_events.
func PushIngest(ctx workflow.Context, in PushIngestInput) (PushIngestResult, error) {
	steps := newMongoSteps(ctx)
	res := PushIngestResult{Outcome: outcomeOf(in.Kind)}
	var err error
	switch in.Kind {
	case PushKindStatus, PushKindCustomerReturn, PushKindIgnored:
		if res.OrderID, err = findPushOrder(ctx, steps, in.OrderRefs); err != nil {
			return res, err
		}
		if in.Kind == PushKindStatus {
			if res.OrderID == "" {
				res.Outcome = push.OutcomeUnmatched
			} else if err := applyPushStatus(ctx, steps, in, &res); err != nil {
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
