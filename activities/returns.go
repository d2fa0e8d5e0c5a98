package activities

import (
	"context"
	"time"

	"orderflow/store"
	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

// ReturnStore is what polling customer return shipments needs of MongoDB;
// *store.Store implements it.
type ReturnStore interface {
	ReturnsToPoll(ctx context.Context, courierNames []string, deliveredSince time.Time, after string, limit int) ([]store.ReturnTarget, error)
	RecordReturnAWB(ctx context.Context, orderID, returnAWB string, at time.Time) (bool, error)
}

// inReturnWindow reports whether an order delivered at deliveredAt is still
// within the return window at now: window 0 disables return polling, and an
// order with no delivery time is never in it.
func inReturnWindow(deliveredAt, now time.Time, window time.Duration) bool {
	return window > 0 && !deliveredAt.IsZero() && !deliveredAt.Before(now.Add(-window))
}

// PollReturnsInput names the tracker whose orders' return shipments to poll:
// at most BatchSize of them after the cursor (an order _id; "" from the start).
type PollReturnsInput struct {
	Tracker   string `json:"tracker"`
	BatchSize int    `json:"batch_size"`
	After     string `json:"after,omitempty"`
}

// ReturnShipment is a customer return shipment whose poll moved its order
// (first seen, or a newer status): the workflow starts its OrderReturn, once
// per shipment.
type ReturnShipment struct {
	OrderID   string `json:"order_id"`
	ReturnAWB string `json:"return_awb"`
	Status    string `json:"status"` // return or returned
	Source    string `json:"source"` // the tracker that polled it
}

// PollReturnsResult says what one page of return shipments' polls saw and
// changed; Last is the cursor of the next page, "" when none is left.
type PollReturnsResult struct {
	Polled  int              `json:"polled"`
	Changed int              `json:"changed"`
	Calls   int              `json:"calls"`
	API     string           `json:"api"`
	Returns []ReturnShipment `json:"returns,omitempty"`
	Last    string           `json:"last,omitempty"`
}

// returnsScope is the tracker's return polling, or ok false when it polls
// none: no return store, a zero window, or a fallback tracker (the primary
// one polls them).
func (a *SweepActivities) returnsScope(name string) (tracking.Tracker, bool, error) {
	tr, err := tracker(name)
	if err != nil {
		return tr, false, err
	}
	return tr, a.Returns != nil && a.ReturnWindow > 0 && !tr.Fallback, nil
}

// HasReturnsToPoll reports whether the tracker has a return shipment due a
// poll, so a sweep spends none of a courier queue's rate on an empty poll.
func (a *SweepActivities) HasReturnsToPoll(ctx context.Context, tracker string) (bool, error) {
	tr, ok, err := a.returnsScope(tracker)
	if err != nil || !ok {
		return false, err
	}
	targets, err := a.Returns.ReturnsToPoll(ctx, tr.CourierNames, a.now().Add(-a.ReturnWindow), "", 1)
	return len(targets) > 0, err
}

// PollReturns polls one page (at most BatchSize, the courier's batch: one
// activity costs the courier queue what a PollBatch does) of the own AWBs of
// the tracker's customer return shipments that are delivered or returning,
// within the return window after delivery and not yet returned
// (store.ReturnsToPoll), with the courier's poller on its rate-limited queue.
// Each status maps through the courier's table as a return shipment's
// (couriers.ReturnShipmentStatus: never RTO) and is applied to the order
// through the status-update path, with its first-seen time. The shipments
// whose status moved the order come back for the workflow to start their
// OrderReturn.
func (a *SweepActivities) PollReturns(ctx context.Context, in PollReturnsInput) (PollReturnsResult, error) {
	defer keepHeartbeating(ctx, PollHeartbeatInterval)()
	tr, ok, err := a.returnsScope(in.Tracker)
	res := PollReturnsResult{API: tr.API}
	if err != nil || !ok {
		return res, err
	}
	now := a.now()
	size := max(in.BatchSize, 1)
	targets, err := a.Returns.ReturnsToPoll(ctx, tr.CourierNames, now.Add(-a.ReturnWindow), in.After, size)
	if err != nil || len(targets) == 0 {
		return res, err
	}
	if err := a.pollReturnBatch(ctx, tr, targets, now, &res); err != nil {
		return res, err
	}
	if len(targets) == size {
		res.Last = targets[len(targets)-1].OrderID
	}
	return res, nil
}

func (a *SweepActivities) pollReturnBatch(ctx context.Context, tr tracking.Tracker, targets []store.ReturnTarget, now time.Time, res *PollReturnsResult) error {
	var awbs []string
	for _, t := range targets {
		if inReturnWindow(t.DeliveredAt, now, a.ReturnWindow) {
			awbs = append(awbs, t.ReturnAWB)
		}
	}
	if len(awbs) == 0 {
		return nil
	}
	shipments, calls, err := a.track(ctx, tr.API, awbs)
	res.Calls += calls
	res.Polled += len(awbs)
	if err != nil {
		return a.courierError(tr.API, err)
	}
	byAWB := make(map[string]couriers.Shipment, len(shipments))
	for _, s := range shipments {
		byAWB[s.AWB] = s
	}
	var obs []tracking.Observation
	var told []ReturnShipment
	for _, t := range targets {
		o := returnObservation(tr, t, byAWB[t.ReturnAWB], now)
		if o == nil {
			continue
		}
		obs = append(obs, *o)
		told = append(told, ReturnShipment{OrderID: t.OrderID, ReturnAWB: t.ReturnAWB, Status: o.Status, Source: tr.Name})
	}
	if _, err := a.Store.ApplyPoll(ctx, obs, nil, now); err != nil {
		return err
	}
	res.Changed += len(obs)
	res.Returns = append(res.Returns, told...)
	return nil
}

// returnObservation is what a return shipment's poll changes on its order:
// nil when the courier has no data, the status changes nothing, or the order
// already holds it with this first-seen time or an earlier one.
func returnObservation(tr tracking.Tracker, t store.ReturnTarget, s couriers.Shipment, now time.Time) *tracking.Observation {
	if !s.Found {
		return nil
	}
	status := couriers.ReturnShipmentStatus(s.Mapping)
	if status == "" {
		return nil
	}
	at := s.EventTime
	if at.IsZero() {
		at = now
	}
	o := tracking.Observation{OrderID: t.OrderID, Source: tr.Name, Status: status, EventTime: at}
	if first, seen := t.FirstSeen[timestampKey(status)]; seen && !first.After(at) &&
		(t.TrackingStatus == status || !at.After(t.StatusAt)) {
		return nil
	}
	return &o
}

// RecordReturnAWBInput names a customer return shipment of an order.
type RecordReturnAWBInput struct {
	OrderID   string `json:"order_id"`
	ReturnAWB string `json:"return_awb"`
}

// RecordReturnAWB stores the return shipment's own AWB on its order (with
// when it was learned), so the sweep polls it within the return window; true
// when it changed the order. Without a return store it records nothing.
func (a *Activities) RecordReturnAWB(ctx context.Context, in RecordReturnAWBInput) (bool, error) {
	if a.Returns == nil || in.OrderID == "" || in.ReturnAWB == "" {
		return false, nil
	}
	return a.Returns.RecordReturnAWB(ctx, in.OrderID, in.ReturnAWB, a.now())
}
