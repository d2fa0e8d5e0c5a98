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
// the walk's order (highest poll_risk first, then _id), next_poll_at read from
// the index. A sweep in uniform mode does not use it; it is built either way,
// so switching the mode needs no index build first.
var adaptivePollIndex = mongo.IndexModel{
	Keys:    bson.D{{Key: fieldCourierName, Value: 1}, {Key: fieldPollRisk, Value: -1}, {Key: "_id", Value: 1}, {Key: fieldNextPollAt, Value: 1}},
	Options: options.Index().SetName("orderflow_adaptive_poll"),
}

// dueCursorPrefix marks an adaptive sweep's cursors. An adaptive sweep walks
// its due orders highest risk first, so its position is a risk tier and an
// _id, and it counts the orders handed out so far for the budget:
// "due:<seen>:<tier>:<id>". The workflows carry cursors as opaque strings.
const dueCursorPrefix = "due:"

// dueCursor is a position in an adaptive walk: after tier's orders up to id.
type dueCursor struct {
	seen int // orders handed out up to here in this sweep
	tier int // index in tracking.Risks; len(tracking.Risks): no known risk yet
	id   string
}

// walkStart is before every tier; walkEnd after every tier (an open upper bound).
var (
	walkStart = dueCursor{tier: -1}
	walkEnd   = dueCursor{tier: len(tracking.Risks) + 1}
)

func (c dueCursor) String() string {
	return fmt.Sprintf("%s%d:%d:%s", dueCursorPrefix, c.seen, c.tier, c.id)
}

// parseDueCursor reads a cursor; "" (or a cursor of the uniform walk, left by
// a sweep that started before the mode changed) is the start of the walk.
func parseDueCursor(s string) dueCursor {
	parts := strings.SplitN(strings.TrimPrefix(s, dueCursorPrefix), ":", 3)
	if !strings.HasPrefix(s, dueCursorPrefix) || len(parts) != 3 {
		return walkStart
	}
	seen, err1 := strconv.Atoi(parts[0])
	tier, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || tier < 0 || tier > len(tracking.Risks) {
		return walkStart
	}
	return dueCursor{seen: seen, tier: tier, id: parts[2]}
}

// uniformID is a cursor as the uniform walk reads it: an adaptive cursor
// (a sweep that started before the mode changed) gives its _id.
func uniformID(s string) string {
	if c := parseDueCursor(s); c != walkStart {
		return c.id
	}
	return s
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

// dueRange selects the orders strictly after from and up to to (inclusive) in
// the walk's order: tier by tier, _id ascending within a tier.
func dueRange(from, to dueCursor) bson.D {
	var clauses bson.A
	for tier := max(from.tier, 0); tier <= min(to.tier, len(tracking.Risks)); tier++ {
		ids := bson.D{}
		if tier == from.tier {
			ids = append(ids, bson.E{Key: "$gt", Value: docID(from.id)})
		}
		if tier == to.tier {
			ids = append(ids, bson.E{Key: "$lte", Value: docID(to.id)})
		}
		c := tierFilter(tier)
		if len(ids) > 0 {
			c = append(c, bson.E{Key: "_id", Value: ids})
		}
		clauses = append(clauses, c)
	}
	if len(clauses) == 0 {
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}} // an empty range
	}
	return bson.D{{Key: "$or", Value: clauses}}
}

// dueFilter is an adaptive scope's part of the active filter: the orders due
// at scope.DueAt (next_poll_at unset or not after it) within r.
func dueFilter(scope SweepScope, r IDRange) bson.E {
	to := walkEnd
	if r.Last != "" {
		to = parseDueCursor(r.Last)
	}
	due := bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: fieldNextPollAt, Value: bson.D{{Key: "$lte", Value: scope.DueAt.UTC()}}}},
	}}}
	return bson.E{Key: "$and", Value: bson.A{due, dueRange(parseDueCursor(r.After), to)}}
}

// sweepOrder sorts a sweep read in the walk's order (by _id, or highest risk
// first for an adaptive scope) and bounds it as inIDOrder does.
func sweepOrder(scope SweepScope, limit int) *options.FindOptionsBuilder {
	opts := inIDOrder(limit)
	if scope.adaptive() {
		opts.SetSort(bson.D{{Key: fieldPollRisk, Value: -1}, {Key: "_id", Value: 1}})
	}
	return opts
}

// sweepKey is one order's place in a walk.
type sweepKey struct {
	id   string
	tier int
}

// cursorAfter is the cursor after keys[i], for a walk that had handed out
// seen orders before keys[0].
func (scope SweepScope) cursorAfter(keys []sweepKey, i, seen int) string {
	if !scope.adaptive() {
		return keys[i].id
	}
	return dueCursor{seen: seen + i + 1, tier: keys[i].tier, id: keys[i].id}.String()
}

// budgetLeft is how many more orders an adaptive walk may hand out after the
// cursor, at most size (size when there is no budget).
func (scope SweepScope) budgetLeft(after string, size int) int {
	if !scope.adaptive() || scope.Budget <= 0 {
		return size
	}
	return max(min(size, scope.Budget-parseDueCursor(after).seen), 0)
}

// PollPlan is an order's next poll as adaptive polling decided it.
type PollPlan struct {
	NextPollAt time.Time
	Risk       tracking.Risk
}

func (p PollPlan) fields() bson.D {
	return bson.D{{Key: fieldNextPollAt, Value: p.NextPollAt.UTC()}, {Key: fieldPollRisk, Value: int(p.Risk)}}
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
