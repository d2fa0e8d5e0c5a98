package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/tracking"
)

// Fields the tracking sweep reads and writes on orders (README: MongoDB).
const (
	fieldAWB            = "awb"
	fieldCourierName    = "courier_name"
	fieldRawStatus      = "tracking_raw_status" // the courier's own words for the last status polled
	fieldNoDataAt       = "tracking_no_data_at" // when the primary tracker last found no data: the fallback's work list
	fieldTrackingStamps = "tracking_timestamps"
)

// SweepScope selects the active orders of one tracker.
type SweepScope struct {
	CourierNames []string `json:"courier_names"`
	// NoDataOnly keeps orders whose primary tracker found no data (the fallback tracker).
	NoDataOnly bool `json:"no_data_only"`
	// DueAt, when set, makes the walk adaptive: only orders due at DueAt
	// (next_poll_at unset or not after it), highest poll_risk first, with
	// cursors that count the orders handed out (see dueCursor).
	DueAt time.Time `json:"due_at,omitzero"`
	// Budget caps the orders an adaptive walk hands out in one sweep (0: no cap).
	Budget int `json:"budget,omitempty"`
}

func (scope SweepScope) adaptive() bool { return !scope.DueAt.IsZero() }

// IDRange is the orders with after < _id <= last ("" after: from the start).
type IDRange struct {
	After string `json:"after,omitempty"`
	Last  string `json:"last"`
}

// activeFilter is the scope's active set: orders with an AWB, of the scope's
// couriers, not yet delivered, cancelled, RTO-delivered or lost.
func activeFilter(scope SweepScope, r IDRange) bson.D {
	f := bson.D{
		{Key: fieldCourierName, Value: bson.D{{Key: "$in", Value: scope.CourierNames}}},
		{Key: fieldAWB, Value: bson.D{{Key: "$exists", Value: true}, {Key: "$ne", Value: ""}}},
		{Key: fieldTrackingStatus, Value: bson.D{{Key: "$nin", Value: tracking.Terminal}}},
	}
	if scope.NoDataOnly {
		f = append(f, bson.E{Key: fieldNoDataAt, Value: bson.D{{Key: "$exists", Value: true}}})
	}
	if scope.adaptive() {
		return append(f, dueFilter(scope, r))
	}
	r = IDRange{After: uniformID(r.After), Last: uniformID(r.Last)}
	idRange := bson.D{}
	if r.After != "" {
		idRange = append(idRange, bson.E{Key: "$gt", Value: docID(r.After)})
	}
	if r.Last != "" {
		idRange = append(idRange, bson.E{Key: "$lte", Value: docID(r.Last)})
	}
	if len(idRange) > 0 {
		f = append(f, bson.E{Key: "_id", Value: idRange})
	}
	return f
}

// inIDOrder sorts a sweep read by _id and, given a limit, returns the whole
// bounded answer in one reply: batchSize = limit, or the first batch holds
// 101, and a negative limit (find's singleBatch) closes the cursor, or
// FerretDB leaves it open and the driver spends a getMore round trip to find
// it empty.
func inIDOrder(limit int) *options.FindOptionsBuilder {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(-int64(limit)).SetBatchSize(int32(limit))
	}
	return opts
}

// activeKeys reads the scope's active orders in r in the walk's order (by _id,
// or highest risk first when adaptive), at most limit (0: all).
func (s *Store) activeKeys(ctx context.Context, scope SweepScope, r IDRange, limit int) ([]sweepKey, error) {
	opts := sweepOrder(scope, limit).SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: fieldPollRisk, Value: 1}, {Key: fieldNextPollAt, Value: 1}})
	cur, err := s.coll(OrdersCollection).Find(ctx, activeFilter(scope, r), opts)
	if err != nil {
		return nil, fmt.Errorf("orders: list active: %w", err)
	}
	var docs []struct {
		ID   any `bson:"_id"`
		Risk any `bson:"poll_risk"`
		Next any `bson:"next_poll_at"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("orders: read active: %w", err)
	}
	keys := make([]sweepKey, len(docs))
	for i, d := range docs {
		keys[i] = sweepKey{id: idString(d.ID), tier: tierOf(d.Risk), next: nextPollOf(d.Next)}
	}
	return keys, nil
}

// NextPartition finds the next partition of at most size active orders after
// the cursor: it returns the partition's last cursor and its size (0: none
// left, or an adaptive walk's budget spent). Only the bounds travel through
// workflow history, never the orders.
func (s *Store) NextPartition(ctx context.Context, scope SweepScope, after string, size int) (last string, count int, err error) {
	size = scope.budgetLeft(after, size)
	if size == 0 {
		return "", 0, nil
	}
	keys, err := s.activeKeys(ctx, scope, IDRange{After: after}, size)
	if err != nil || len(keys) == 0 {
		return "", 0, err
	}
	return scope.cursorAfter(keys, len(keys)-1, scope.walkFrom(IDRange{After: after})), len(keys), nil
}

// PartitionBatches reads the next partition of at most size active orders
// after the cursor, in one round trip, and cuts it into ranges of at most
// batch orders: a partition's bounds and its batches' bounds at once (count 0: none left).
func (s *Store) PartitionBatches(ctx context.Context, scope SweepScope, after string, size, batch int) (batches []IDRange, count int, err error) {
	size = scope.budgetLeft(after, size)
	if size == 0 {
		return nil, 0, nil
	}
	keys, err := s.activeKeys(ctx, scope, IDRange{After: after}, size)
	if err != nil || len(keys) == 0 {
		return nil, 0, err
	}
	return scope.cutRanges(IDRange{After: after}, keys, batch), len(keys), nil
}

// cutRanges cuts keys in walk order (all in r) into ranges of at most batch orders.
func (scope SweepScope) cutRanges(r IDRange, keys []sweepKey, batch int) []IDRange {
	from, after := scope.walkFrom(r), r.After
	var out []IDRange
	for lo := 0; lo < len(keys); lo += batch {
		last := scope.cursorAfter(keys, min(lo+batch, len(keys))-1, from)
		out = append(out, IDRange{After: after, Last: last})
		after = last
	}
	return out
}

// BatchRanges cuts a partition into ranges of at most batch active orders each.
func (s *Store) BatchRanges(ctx context.Context, scope SweepScope, partition IDRange, batch int) ([]IDRange, error) {
	keys, err := s.activeKeys(ctx, scope, partition, 0)
	if err != nil {
		return nil, err
	}
	return scope.cutRanges(partition, keys, batch), nil
}

// PollTarget is an active order as a poll needs it.
type PollTarget struct {
	OrderID        string
	AWB            string
	Courier        string
	TrackingStatus string
	StatusAt       time.Time
	// FirstSeen holds tracking_timestamps (keys as stored: rto_in_transit…).
	FirstSeen map[string]time.Time
	Claimed   bool // rto_claim is set: its first RTO has an owner
	RawStatus string
	NoData    bool // tracking_no_data_at is set
	// PushedAt and PushSource: the last push (or status report) on the order, for adaptive polling.
	PushedAt   time.Time
	PushSource string
}

// OrdersToPoll reads the scope's active orders in r, at most limit.
func (s *Store) OrdersToPoll(ctx context.Context, scope SweepScope, r IDRange, limit int) ([]PollTarget, error) {
	return s.pollTargets(ctx, activeFilter(scope, r), sweepOrder(scope, limit))
}

// pollTargets reads the orders filter selects, as opts sorts and bounds them.
func (s *Store) pollTargets(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]PollTarget, error) {
	cur, err := s.coll(OrdersCollection).Find(ctx, filter, opts.
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: fieldAWB, Value: 1}, {Key: fieldCourierName, Value: 1},
			{Key: fieldTrackingStatus, Value: 1}, {Key: fieldTrackingStatusAt, Value: 1}, {Key: fieldTrackingStamps, Value: 1},
			{Key: fieldRTOClaim, Value: 1}, {Key: fieldRawStatus, Value: 1}, {Key: fieldNoDataAt, Value: 1},
			{Key: fieldPushedAt, Value: 1}, {Key: fieldPushSource, Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("orders: read batch: %w", err)
	}
	var docs []struct {
		ID        any                  `bson:"_id"`
		AWB       string               `bson:"awb"`
		Courier   string               `bson:"courier_name"`
		Status    string               `bson:"tracking_status"`
		StatusAt  time.Time            `bson:"tracking_status_at"`
		FirstSeen map[string]time.Time `bson:"tracking_timestamps"`
		Claim     any                  `bson:"rto_claim"`
		Raw       string               `bson:"tracking_raw_status"`
		NoDataAt  any                  `bson:"tracking_no_data_at"`
		PushedAt  time.Time            `bson:"tracking_pushed_at"`
		PushSrc   string               `bson:"tracking_push_source"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("orders: decode batch: %w", err)
	}
	out := make([]PollTarget, len(docs))
	for i, d := range docs {
		out[i] = PollTarget{OrderID: idString(d.ID), AWB: d.AWB, Courier: d.Courier, TrackingStatus: d.Status,
			StatusAt: d.StatusAt, FirstSeen: d.FirstSeen, Claimed: d.Claim != nil,
			RawStatus: d.Raw, NoData: d.NoDataAt != nil, PushedAt: d.PushedAt, PushSource: d.PushSrc}
	}
	return out, nil
}

// PollMark is what a poll learned about one order besides its canonical status.
type PollMark struct {
	OrderID string
	// Raw is the courier's own status ("" when it had no data).
	Raw string
	// NoData: the primary tracker found nothing (set tracking_no_data_at if absent).
	NoData bool
	// ClearNoData: the primary tracker found data again (unset tracking_no_data_at).
	ClearNoData bool
	// Plan, in adaptive polling, is the order's next poll (next_poll_at, poll_risk).
	Plan *PollPlan
}

// RecordPollMarks writes, in one bulk write, only the marks that change
// something: a new raw status, a first no-data time, a cleared no-data mark;
// and, in adaptive polling, every polled order's next poll.
func (s *Store) RecordPollMarks(ctx context.Context, marks []PollMark, now time.Time) (int64, error) {
	models := pollMarkModels(marks, now)
	if len(models) == 0 {
		return 0, nil
	}
	res, err := s.coll(OrdersCollection).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return 0, fmt.Errorf("orders: record poll marks: %w", err)
	}
	return res.ModifiedCount, nil
}

// ApplyPoll is what one poll writes, in one round trip: the observations
// through the status-update path's guarded updates (ApplyObservations) and the
// poll marks (RecordPollMarks) in a single unordered bulk write (they touch
// different fields). Then, only when an observation is in the RTO family, one
// read lists the unclaimed orders among them, as ApplyObservations does.
func (s *Store) ApplyPoll(ctx context.Context, obs []tracking.Observation, marks []PollMark, now time.Time) (ApplyResult, error) {
	models, rto := observationModels(obs)
	models = append(models, pollMarkModels(marks, now)...)
	if len(models) == 0 {
		return ApplyResult{}, nil
	}
	res, err := s.coll(OrdersCollection).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return ApplyResult{}, fmt.Errorf("orders: apply poll (%d observations, %d marks): %w", len(obs), len(marks), err)
	}
	out := ApplyResult{Modified: res.ModifiedCount}
	if len(rto) > 0 {
		if out.RTOCandidates, err = s.unclaimedRTO(ctx, rto); err != nil {
			return ApplyResult{}, err
		}
	}
	return out, nil
}

func pollMarkModels(marks []PollMark, now time.Time) []mongo.WriteModel {
	var models []mongo.WriteModel
	for _, m := range marks {
		id := docID(m.OrderID)
		if m.Plan != nil {
			models = append(models, updateByID(id, nil, bson.D{{Key: "$set", Value: m.Plan.fields()}}))
		}
		if m.NoData {
			models = append(models, updateByID(id,
				bson.D{{Key: fieldNoDataAt, Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: fieldNoDataAt, Value: now.UTC()}}}}))
			continue
		}
		if m.Raw != "" {
			models = append(models, updateByID(id,
				bson.D{{Key: fieldRawStatus, Value: bson.D{{Key: "$ne", Value: m.Raw}}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: fieldRawStatus, Value: m.Raw}}}}))
		}
		if m.ClearNoData {
			models = append(models, updateByID(id,
				bson.D{{Key: fieldNoDataAt, Value: bson.D{{Key: "$exists", Value: true}}}},
				bson.D{{Key: "$unset", Value: bson.D{{Key: fieldNoDataAt, Value: ""}}}}))
		}
	}
	return models
}
