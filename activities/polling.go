package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"orderflow/store"
	"orderflow/tracking"
)

// AdaptivePolling is the tracking sweep's adaptive mode (docs/sweep.md): a
// sweep polls only the orders whose next poll is due, highest risk first, at
// most a budget of orders per courier API, and every poll writes the order's
// next poll. Nil on SweepActivities is uniform polling: every active order,
// every sweep, nothing more written.
type AdaptivePolling struct {
	Policy tracking.PollingPolicy
	// Budgets are the orders one sweep may poll per courier API (a tracking.API*
	// name): the poll activities its rate limit lets through in one sweep
	// interval, times its batch size. An API missing from it has no cap.
	Budgets map[string]int
}

// scope is the tracker's sweep scope, adaptive when the mode is.
func (a *SweepActivities) scope(tr tracking.Tracker) store.SweepScope {
	scope := scopeOf(tr)
	if a.Polling != nil {
		scope.DueAt, scope.Budget = a.now(), a.Polling.Budgets[tr.API]
	}
	return scope
}

// plan is an order's next poll after this poll (nil in uniform mode): the
// policy reads the order as the poll leaves it, so an observation the write
// applies counts as its new status.
func (a *SweepActivities) plan(t store.PollTarget, o *tracking.Observation, now time.Time) *store.PollPlan {
	if a.Polling == nil {
		return nil
	}
	state := pollState(t)
	if o != nil && o.EventTime.After(t.StatusAt) && tracking.MayReplace(t.TrackingStatus, o.Status) {
		state.Status, state.StatusSince = o.Status, o.EventTime
		state.FailedAttempt = state.FailedAttempt || o.Status == tracking.NDR
	}
	p := a.Polling.Policy.Plan(state, now)
	return &store.PollPlan{NextPollAt: p.At, Risk: p.Risk}
}

// FirstPlansPerSweep bounds how many never-planned orders one sweep plans
// per tracker: at a sweep every 5 minutes, 1.4 million a day.
const FirstPlansPerSweep = 5000

// planUnplanned gives the orders adaptive polling has never planned (new
// orders, or all of them when the mode is switched on) their first plan from
// their stored state, without a courier call, before the sweep's walk: an
// order stored in NDR then ranks with the NDR tier at once. Unplanned, it
// would rank below every planned order, and a sweep whose budget the urgent
// tiers fill would never reach it. Uniform polling plans nothing.
func (a *SweepActivities) planUnplanned(ctx context.Context, tr tracking.Tracker) error {
	if a.Polling == nil {
		return nil
	}
	targets, err := a.Store.UnplannedOrders(ctx, scopeOf(tr), FirstPlansPerSweep)
	if err != nil || len(targets) == 0 {
		return err
	}
	now := a.now()
	plans := make([]store.FirstPlan, len(targets))
	for i, t := range targets {
		p := a.Polling.Policy.FirstPlan(pollState(t), now)
		plans[i] = store.FirstPlan{OrderID: t.OrderID, Plan: store.PollPlan{NextPollAt: p.At, Risk: p.Risk}}
	}
	planned, err := a.Store.RecordFirstPlans(ctx, plans)
	if err == nil {
		activity.GetLogger(ctx).Info("planned orders adaptive polling had never planned", "tracker", tr.Name, "orders", planned)
	}
	return err
}

// pollState is what the polling policy reads of a stored order.
func pollState(t store.PollTarget) tracking.OrderPollState {
	_, failed := t.FirstSeen[timestampKey(tracking.NDR)]
	return tracking.OrderPollState{Status: t.TrackingStatus, StatusSince: t.StatusAt, FailedAttempt: failed,
		PushedAt: t.PushedAt, PushSource: t.PushSource}
}

// PushMarkStore is what push marks need of MongoDB; *store.Store implements it.
type PushMarkStore interface {
	RecordPushMarks(ctx context.Context, marks []store.PushMark) error
}

// PushPolling is adaptive polling's side of the status-update path: an order
// a push (or a status report) just reported is not polled within the next
// sweep interval, and one a reliable push source covers is polled as a
// safety net only. Nil on Activities (uniform polling) writes nothing.
type PushPolling struct {
	Policy tracking.PollingPolicy
	Store  PushMarkStore
}

// markPushed writes, for each order the observations report, who reported it
// and its next poll (the newest observation per order decides).
func (a *Activities) markPushed(ctx context.Context, obs []tracking.Observation) error {
	if a.Polling == nil || len(obs) == 0 {
		return nil
	}
	now := a.now()
	newest := map[string]tracking.Observation{}
	var order []string
	for _, o := range obs {
		prev, seen := newest[o.OrderID]
		if !seen {
			order = append(order, o.OrderID)
		}
		if !seen || o.EventTime.After(prev.EventTime) {
			newest[o.OrderID] = o
		}
	}
	marks := make([]store.PushMark, 0, len(order))
	for _, id := range order {
		o := newest[id]
		p := a.Polling.Policy.Plan(tracking.OrderPollState{Status: o.Status, StatusSince: o.EventTime,
			FailedAttempt: o.Status == tracking.NDR, PushedAt: now, PushSource: o.Source}, now)
		marks = append(marks, store.PushMark{OrderID: id, Source: o.Source, At: now,
			Plan: store.PollPlan{NextPollAt: p.At, Risk: p.Risk}})
	}
	return a.Polling.Store.RecordPushMarks(ctx, marks)
}
