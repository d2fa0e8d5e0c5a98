package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/tracking"
)

// Fields adaptive polling reads and writes on orders (docs/mongodb.md).
const (
	fieldNextPollAt = "next_poll_at"         // the first sweep at or after it polls the order; unset: due now
	fieldPollRisk   = "poll_risk"            // a tracking.Risk: a short budget is spent highest first
	fieldPushedAt   = "tracking_pushed_at"   // when a push (or a status report) last reported the order
	fieldPushSource = "tracking_push_source" // which source that was
)

// adaptivePollIndex serves an adaptive sweep's reads: a courier's orders in
// the walk's order (highest poll_risk first, then the longest due first by
// next_poll_at, then _id). A sweep in uniform mode does not use it; it is
// built either way, so switching the mode needs no index build first.
var adaptivePollIndex = mongo.IndexModel{
	Keys:    bson.D{{Key: fieldCourierName, Value: 1}, {Key: fieldPollRisk, Value: -1}, {Key: fieldNextPollAt, Value: 1}, {Key: "_id", Value: 1}},
	Options: options.Index().SetName("orderflow_adaptive_poll_due"),
}

// retiredAdaptivePollIndex is the index of the walk in _id order within a
// tier ({courier_name, poll_risk: -1, _id, next_poll_at}), which starved a
// tier's high-_id orders. orderflow created it, so EnsureIndexes drops it.
const retiredAdaptivePollIndex = "orderflow_adaptive_poll"

// dueCursorPrefix marks an adaptive sweep's cursors. An adaptive sweep walks
// its due orders highest risk first and, within a tier, the longest due
// first (next_poll_at ascending, unset first, then _id), so its position is a
// tier, a next_poll_at and an _id. It also carries the sweep's due time,
// fixed at the sweep's first read so that an order polled during the sweep
// (its next_poll_at now later than the due time) is not due again until the
// next sweep, and it counts the orders handed out so far for the budget:
// "due2:<seen>:<due time>:<tier>:<next_poll_at>:<id>", times in Unix
// milliseconds, "-" for none. The workflows carry cursors as opaque strings.
const dueCursorPrefix = "due2:"

// legacyDueCursorPrefix marks the cursors of the walk in _id order within a
// tier ("due:<seen>:<tier>:<id>"). A sweep that started before the deploy
// continues from the start of that tier's dated orders with its count kept,
// so it stays within its budget.
const legacyDueCursorPrefix = "due:"

// dueCursor is a position in an adaptive walk: after tier's orders up to (next, id).
type dueCursor struct {
	seen  int       // orders handed out up to here in this sweep
	dueAt time.Time // the sweep's due time; zero: not fixed yet
	tier  int       // index in tracking.Risks; len(tracking.Risks): no known risk yet
	next  time.Time // the order's next_poll_at; zero: unset (sorts first)
	id    string
}

// walkStart is before every tier; walkEnd after every tier (an open upper bound).
var (
	walkStart = dueCursor{tier: -1}
	walkEnd   = dueCursor{tier: len(tracking.Risks) + 1}
)

func (c dueCursor) String() string {
	return fmt.Sprintf("%s%d:%s:%d:%s:%s", dueCursorPrefix, c.seen, millis(c.dueAt), c.tier, millis(c.next), c.id)
}

func millis(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func parseMillis(s string) (time.Time, bool) {
	if s == "-" {
		return time.Time{}, true
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	return time.UnixMilli(ms).UTC(), err == nil
}

// parseDueCursor reads a cursor; ok is false for "" or a cursor of the
// uniform walk (left by a sweep that started before the mode changed), which
// an adaptive walk reads as its start.
func parseDueCursor(s string) (c dueCursor, ok bool) {
	if rest, legacy := strings.CutPrefix(s, legacyDueCursorPrefix); legacy {
		return parseLegacyDueCursor(rest)
	}
	rest, found := strings.CutPrefix(s, dueCursorPrefix)
	parts := strings.SplitN(rest, ":", 5)
	if !found || len(parts) != 5 {
		return walkStart, false
	}
	seen, err1 := strconv.Atoi(parts[0])
	dueAt, ok1 := parseMillis(parts[1])
	tier, err2 := strconv.Atoi(parts[2])
	next, ok2 := parseMillis(parts[3])
	if err1 != nil || err2 != nil || !ok1 || !ok2 || tier < 0 || tier > len(tracking.Risks) {
		return walkStart, false
	}
	return dueCursor{seen: seen, dueAt: dueAt, tier: tier, next: next, id: parts[4]}, true
}

func parseLegacyDueCursor(rest string) (dueCursor, bool) {
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 {
		return walkStart, false
	}
	seen, err1 := strconv.Atoi(parts[0])
	tier, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || tier < 0 || tier > len(tracking.Risks) {
		return walkStart, false
	}
	return dueCursor{seen: seen, tier: tier, id: parts[2]}, true
}

// uniformID is a cursor as the uniform walk reads it: an adaptive cursor
// (a sweep that started before the mode changed) gives its _id.
func uniformID(s string) string {
	if c, ok := parseDueCursor(s); ok {
		return c.id
	}
	return s
}

// walkFrom is where an adaptive walk of r starts, with the sweep's due time:
// the one its cursors carry, or (the sweep's first read) the scope's.
func (scope SweepScope) walkFrom(r IDRange) dueCursor {
	from, _ := parseDueCursor(r.After)
	if from.dueAt.IsZero() {
		last, _ := parseDueCursor(r.Last)
		from.dueAt = last.dueAt
	}
	if from.dueAt.IsZero() {
		from.dueAt = scope.DueAt.UTC().Truncate(time.Millisecond)
	}
	return from
}

// tierOf places a stored poll_risk among tracking.Risks; none (or a value
// orderflow never writes) is the last tier.
func tierOf(v any) int {
	var r int64
	switch x := v.(type) {
	case int32:
		r = int64(x)
	case int64:
		r = x
	case float64:
		r = int64(x)
	default:
		return len(tracking.Risks)
	}
	for i, risk := range tracking.Risks {
		if int64(risk) == r {
			return i
		}
	}
	return len(tracking.Risks)
}

// nextPollOf reads a stored next_poll_at; unset (or not a date) is zero.
func nextPollOf(v any) time.Time {
	switch x := v.(type) {
	case bson.DateTime:
		return x.Time().UTC()
	case time.Time:
		return x.UTC()
	}
	return time.Time{}
}

func riskValues() bson.A {
	out := bson.A{}
	for _, r := range tracking.Risks {
		out = append(out, int(r))
	}
	return out
}

// tierFilter selects one tier: an equality on poll_risk, or (the last tier)
// every order without a known one.
func tierFilter(tier int) bson.D {
	if tier < len(tracking.Risks) {
		return bson.D{{Key: fieldPollRisk, Value: int(tracking.Risks[tier])}}
	}
	return bson.D{{Key: fieldPollRisk, Value: bson.D{{Key: "$nin", Value: riskValues()}}}}
}

var nextPollUnset = bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$exists", Value: false}}}}

// afterInTier selects a tier's orders strictly after c in the tier's order:
// next_poll_at ascending (unset first), then _id.
func afterInTier(c dueCursor) bson.D {
	idAfter := bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: docID(c.id)}}}
	if c.next.IsZero() {
		return bson.D{{Key: "$or", Value: bson.A{
			append(nextPollUnset, idAfter),
			bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$exists", Value: true}}}},
		}}}
	}
	return bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$gt", Value: c.next}}}},
		bson.D{{Key: fieldNextPollAt, Value: c.next}, idAfter},
	}}}
}

// upToInTier selects a tier's orders up to c (inclusive) in the tier's order.
func upToInTier(c dueCursor) bson.D {
	idUpTo := bson.E{Key: "_id", Value: bson.D{{Key: "$lte", Value: docID(c.id)}}}
	if c.next.IsZero() {
		return append(nextPollUnset, idUpTo)
	}
	return bson.D{{Key: "$or", Value: bson.A{
		nextPollUnset,
		bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$lt", Value: c.next}}}},
		bson.D{{Key: fieldNextPollAt, Value: c.next}, idUpTo},
	}}}
}

// dueRange selects the orders strictly after from and up to to (inclusive) in
// the walk's order: tier by tier, the longest due first within a tier.
func dueRange(from, to dueCursor) bson.D {
	var clauses bson.A
	for tier := max(from.tier, 0); tier <= min(to.tier, len(tracking.Risks)); tier++ {
		bounds := bson.A{tierFilter(tier)}
		if tier == from.tier {
			bounds = append(bounds, afterInTier(from))
		}
		if tier == to.tier {
			bounds = append(bounds, upToInTier(to))
		}
		if len(bounds) == 1 {
			clauses = append(clauses, bounds[0])
			continue
		}
		clauses = append(clauses, bson.D{{Key: "$and", Value: bounds}})
	}
	if len(clauses) == 0 {
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}} // an empty range
	}
	return bson.D{{Key: "$or", Value: clauses}}
}

// dueFilter is an adaptive scope's part of the active filter: the orders due
// at the sweep's due time (next_poll_at unset or not after it) within r.
func dueFilter(scope SweepScope, r IDRange) bson.E {
	from, to := scope.walkFrom(r), walkEnd
	if r.Last != "" {
		to, _ = parseDueCursor(r.Last)
	}
	due := bson.D{{Key: "$or", Value: bson.A{
		nextPollUnset,
		bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$lte", Value: from.dueAt}}}},
	}}}
	return bson.E{Key: "$and", Value: bson.A{due, dueRange(from, to)}}
}

// sweepOrder sorts a sweep read in the walk's order (by _id, or highest risk
// first and then the longest due for an adaptive scope) and bounds it as
// inIDOrder does.
func sweepOrder(scope SweepScope, limit int) *options.FindOptionsBuilder {
	opts := inIDOrder(limit)
	if scope.adaptive() {
		opts.SetSort(bson.D{{Key: fieldPollRisk, Value: -1}, {Key: fieldNextPollAt, Value: 1}, {Key: "_id", Value: 1}})
	}
	return opts
}

// sweepKey is one order's place in a walk.
type sweepKey struct {
	id   string
	tier int
	next time.Time // next_poll_at; zero: unset
}

// cursorAfter is the cursor after keys[i], for a walk that was at from
// before keys[0].
func (scope SweepScope) cursorAfter(keys []sweepKey, i int, from dueCursor) string {
	if !scope.adaptive() {
		return keys[i].id
	}
	return dueCursor{seen: from.seen + i + 1, dueAt: from.dueAt, tier: keys[i].tier, next: keys[i].next, id: keys[i].id}.String()
}

// budgetLeft is how many more orders an adaptive walk may hand out after the
// cursor, at most size (size when there is no budget).
func (scope SweepScope) budgetLeft(after string, size int) int {
	if !scope.adaptive() || scope.Budget <= 0 {
		return size
	}
	from, _ := parseDueCursor(after)
	return max(min(size, scope.Budget-from.seen), 0)
}

// PollPlan is an order's next poll as adaptive polling decided it.
type PollPlan struct {
	NextPollAt time.Time
	Risk       tracking.Risk
}

func (p PollPlan) fields() bson.D {
	return bson.D{{Key: fieldNextPollAt, Value: p.NextPollAt.UTC()}, {Key: fieldPollRisk, Value: int(p.Risk)}}
}

// UnplannedOrders reads up to limit of the scope's active orders that
// adaptive polling has never planned (no poll_risk): new orders, or every
// order when the mode is switched on. On MongoDB the adaptive walk's index
// serves the read (poll_risk: null is an equality).
func (s *Store) UnplannedOrders(ctx context.Context, scope SweepScope, limit int) ([]PollTarget, error) {
	filter := activeFilter(SweepScope{CourierNames: scope.CourierNames, NoDataOnly: scope.NoDataOnly}, IDRange{})
	filter = append(filter, bson.E{Key: fieldPollRisk, Value: nil})
	return s.pollTargets(ctx, filter, inIDOrder(limit))
}

// FirstPlan is an order's first poll plan, from its stored state.
type FirstPlan struct {
	OrderID string
	Plan    PollPlan
}

// RecordFirstPlans writes each order's first plan in one unordered bulk
// write, unless a poll or a push planned the order meanwhile: theirs is
// newer. It returns how many orders it planned.
func (s *Store) RecordFirstPlans(ctx context.Context, plans []FirstPlan) (int64, error) {
	if len(plans) == 0 {
		return 0, nil
	}
	unplanned := bson.D{{Key: fieldPollRisk, Value: nil}}
	models := make([]mongo.WriteModel, 0, len(plans))
	for _, p := range plans {
		models = append(models, updateByID(docID(p.OrderID), unplanned, bson.D{{Key: "$set", Value: p.Plan.fields()}}))
	}
	res, err := s.coll(OrdersCollection).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return 0, fmt.Errorf("orders: record %d first poll plans: %w", len(plans), err)
	}
	return res.ModifiedCount, nil
}

// PushMark is a push's (or a status report's) mark on an order for adaptive
// polling: who reported it, when, and the next poll that follows.
type PushMark struct {
	OrderID string
	Source  string
	At      time.Time
	Plan    PollPlan
}

// RecordPushMarks writes the marks in one unordered bulk write.
func (s *Store) RecordPushMarks(ctx context.Context, marks []PushMark) error {
	if len(marks) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(marks))
	for _, m := range marks {
		set := append(m.Plan.fields(), bson.E{Key: fieldPushedAt, Value: m.At.UTC()}, bson.E{Key: fieldPushSource, Value: m.Source})
		models = append(models, updateByID(docID(m.OrderID), nil, bson.D{{Key: "$set", Value: set}}))
	}
	if _, err := s.coll(OrdersCollection).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("orders: record %d push marks: %w", len(marks), err)
	}
	return nil
}
