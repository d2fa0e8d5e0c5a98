package workflows

import (
	"math"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

// changeEndpointBreaker is the workflow.GetVersion change ID of parking a
// CRM delivery behind its unhealthy endpoint: a run that reached its
// deliveries before it was deployed keeps retrying inside one activity.
const changeEndpointBreaker = "endpoint-breaker"

// EndpointReadySignal releases a parked delivery: the endpoint's drain sends
// it, oldest parking first, once the endpoint answers 2xx again or is re-enabled.
const EndpointReadySignal = "endpoint_ready"

// EndpointReady names the delivery a drain released.
type EndpointReady struct {
	RecordID string `json:"record_id"` // the delivery record: the idempotency key of a CRM delivery
}

// DeliveryParked is a delivery waiting behind its unhealthy endpoint (the
// delivery_state query shows it, with the reason in Error).
const DeliveryParked = "parked"

// releases keeps the drain's releases of one workflow's parked deliveries.
type releases map[string]bool

// listenForReleases records every EndpointReady the workflow receives.
func listenForReleases(ctx workflow.Context) releases {
	r := releases{}
	ch := workflow.GetSignalChannel(ctx, EndpointReadySignal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var s EndpointReady
			if !ch.Receive(ctx, &s) {
				return
			}
			r[s.RecordID] = true
		}
	})
	return r
}

// parkingLoop runs one delivery that may park, a CRM's or a merchant's:
// each time deliver reports its endpoint open, disabled or draining, the
// workflow waits on a durable timer (until the next probe) or the drain's
// release of recordID, then runs it again with what it had spent, so the
// time parked costs neither attempts nor retry window. onPark reports each
// parking. deliver runs the delivery's activity with the parking it is given.
func parkingLoop(ctx workflow.Context, recordID string, rel releases, deliver func(activities.Parking) (activities.ParkOutcome, error), onPark func(reason string)) error {
	p := activities.Parking{Parkable: true}
	for {
		parked, err := deliver(p)
		if err != nil || !parked.Parked {
			return err
		}
		onPark(parked.ParkReason)
		p.Resumed = true
		p.AttemptsBefore += parked.AttemptsSpent
		p.WindowUsed += parked.WindowSpent
		if _, err := workflow.AwaitWithTimeout(ctx, max(parked.RecheckIn, time.Second), func() bool { return rel[recordID] }); err != nil {
			return err
		}
		p.Released = rel[recordID]
		delete(rel, recordID)
	}
}

// deliverParkable runs one CRM delivery through the parking loop; its
// record is keyed by the idempotency key.
func deliverParkable(ctx workflow.Context, in activities.DeliverInput, rel releases, onPark func(reason string)) (activities.DeliverResult, error) {
	var res activities.DeliverResult
	err := parkingLoop(ctx, in.IdempotencyKey, rel, func(p activities.Parking) (activities.ParkOutcome, error) {
		in.Parking, res = p, activities.DeliverResult{}
		err := workflow.ExecuteActivity(ctx, a.DeliverWebhook, in).Get(ctx, &res)
		return res.ParkOutcome, err
	}, onPark)
	return res, err
}

// Endpoint drains.
const (
	// EndpointDrainBatch is how many parked deliveries one page read returns.
	EndpointDrainBatch = 100
	// drainPerRun is how many releases one run makes before it continues as new.
	drainPerRun = 500
)

// drainGroups is how a drain keeps its rate: perGroup releases, then a
// timer of pace. The server fires timers about once a second whatever their
// length, so one timer per release would cap any rate near 1/s; a group per
// timer of a second or more keeps the configured rate and never exceeds it.
func drainGroups(ratePerSecond float64) (perGroup int, pace time.Duration) {
	perGroup = max(1, int(math.Ceil(ratePerSecond)))
	return perGroup, time.Duration(float64(perGroup) / ratePerSecond * float64(time.Second))
}

// endpoints gives type-checked references to the breaker's activities.
var endpoints *activities.Endpoints

// changeDrainGroupSignals is the workflow.GetVersion change ID of a drain
// signalling a group's workflows at once: one after the other, each
// signal's round trip to the server held the drain to about 4 releases a
// second under load, whatever its configured rate.
const changeDrainGroupSignals = "drain-group-signals"

// EndpointDrain releases one destination's parked deliveries, oldest
// parking first, at the configured rate: it pages through the parked
// records by the index on their parking time and signals each waiting
// workflow (EndpointReadySignal) once, in groups a durable timer apart
// (drainGroups), a group's signals sent together. It stops when
// the endpoint opens again (the next 2xx starts it afresh) and, once no
// parked delivery is left, ends the endpoint's drain. Its ID is the
// destination's (activities.EndpointDrainWorkflowID): one drain at a time.
func EndpointDrain(ctx workflow.Context, in activities.EndpointDrainInput) (int, error) {
	if in.Kind == "" || in.DestinationID == "" || in.RatePerSecond <= 0 {
		return 0, temporal.NewNonRetryableApplicationError("a drain needs a kind, a destination id and a positive rate", "InvalidInput", nil)
	}
	store := workflow.WithActivityOptions(ctx, mongoActivity)
	perGroup, pace := drainGroups(in.RatePerSecond)
	group := releaseGroup{together: workflow.GetVersion(ctx, changeDrainGroupSignals, workflow.DefaultVersion, 1) >= 1}
	handled := 0
	for {
		var page activities.ParkedPage
		if err := workflow.ExecuteActivity(store, endpoints.ListParkedDeliveries, activities.ParkedPageInput{
			Kind: in.Kind, DestinationID: in.DestinationID, AfterParkedAt: in.AfterParkedAt, AfterID: in.AfterID, Limit: EndpointDrainBatch,
		}).Get(ctx, &page); err != nil {
			return in.Released, err
		}
		if !page.Closed {
			workflow.GetLogger(ctx).Info("endpoint no longer closed; drain stops", "released", in.Released)
			return in.Released, nil
		}
		if len(page.Deliveries) == 0 {
			break
		}
		for _, d := range page.Deliveries {
			if in.AfterID != "" && in.Released%perGroup == 0 {
				group.wait(ctx)
				if rest := group.restOf(ctx, pace); rest > 0 {
					if err := workflow.Sleep(ctx, rest); err != nil {
						return in.Released, err
					}
				}
			}
			group.release(ctx, d)
			in.AfterParkedAt, in.AfterID = d.ParkedAt, d.RecordID
			in.Released++
			handled++
		}
		group.wait(ctx)
		if handled >= drainPerRun {
			return in.Released, workflow.NewContinueAsNewError(ctx, EndpointDrain, in)
		}
	}
	err := workflow.ExecuteActivity(store, endpoints.FinishEndpointDrain, activities.FinishDrainInput{
		Kind: in.Kind, DestinationID: in.DestinationID,
	}).Get(ctx, nil)
	return in.Released, err
}

// releaseGroup sends a drain group's signals: together (wait collects their
// answers before the group's timer), or, in a run started before
// changeDrainGroupSignals, each answered before the next is sent.
type releaseGroup struct {
	together bool
	started  time.Time // when the group's first signal was sent
	sent     []sentRelease
}

type sentRelease struct {
	delivery activities.ParkedDelivery
	answer   workflow.Future
}

// release signals the delivery's workflow that its endpoint is ready.
func (g *releaseGroup) release(ctx workflow.Context, d activities.ParkedDelivery) {
	if len(g.sent) == 0 {
		g.started = workflow.Now(ctx)
	}
	f := workflow.SignalExternalWorkflow(ctx, d.WorkflowID, "", EndpointReadySignal, EndpointReady{RecordID: d.RecordID})
	g.sent = append(g.sent, sentRelease{delivery: d, answer: f})
	if !g.together {
		g.wait(ctx)
	}
}

// wait collects the answers of the signals sent. A workflow that could not
// be signalled is gone (terminated by an operator): its record stays parked
// for a re-drive.
func (g *releaseGroup) wait(ctx workflow.Context) {
	for _, s := range g.sent {
		if err := s.answer.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("parked delivery's workflow could not be signalled",
				"record", s.delivery.RecordID, "workflow_id", s.delivery.WorkflowID, "error", err)
		}
	}
	g.sent = g.sent[:0]
}

// restOf is how long to wait before the next group: what is left of pace
// since this group's first signal, so sending the group and collecting its
// answers is part of its pace instead of adding to it (the next group never
// starts sooner than pace after this one). A run started before
// changeDrainGroupSignals waits the whole pace.
func (g *releaseGroup) restOf(ctx workflow.Context, pace time.Duration) time.Duration {
	if !g.together {
		return pace
	}
	return pace - workflow.Now(ctx).Sub(g.started)
}
