package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EndpointHealthCollection holds one circuit breaker per destination.
const EndpointHealthCollection = "endpoint_health"

// Endpoint states as stored; half-open is an open endpoint whose probe is out.
const (
	EndpointClosed   = "closed"
	EndpointOpen     = "open"
	EndpointDisabled = "disabled"
)

// EndpointHealth is one destination's circuit breaker, keyed by kind and id
// (a CRM webhook id or a merchant profile id), never by URL: fixing a typo in
// the URL keeps the state and what was parked behind it. Every change is an
// atomic conditional update, so concurrent deliveries agree on who opened,
// probed or disabled it.
type EndpointHealth struct {
	ID            string `bson:"_id" json:"-"` // kind + "/" + destination id
	Kind          string `bson:"kind" json:"kind"`
	DestinationID string `bson:"destination_id" json:"destination_id"`
	State         string `bson:"state" json:"state"`
	// ConsecutiveFailures counts 5xx, 408, 429, timeouts and transport errors in a row.
	ConsecutiveFailures int `bson:"consecutive_failures" json:"consecutive_failures"`
	// FailingSince is the first failure of the current run; a 2xx clears it.
	FailingSince time.Time `bson:"failing_since,omitempty" json:"failing_since,omitzero"`
	OpenedAt     time.Time `bson:"opened_at,omitempty" json:"opened_at,omitzero"`
	// NextProbeAt is when an open endpoint lets its next probe through.
	NextProbeAt time.Time `bson:"next_probe_at,omitempty" json:"next_probe_at,omitzero"`
	// Draining is set while parked deliveries are released oldest first:
	// until it clears, a delivery the drain has not released parks behind them.
	Draining       bool      `bson:"draining,omitempty" json:"draining"`
	DisabledAt     time.Time `bson:"disabled_at,omitempty" json:"disabled_at,omitzero"`
	DisabledReason string    `bson:"disabled_reason,omitempty" json:"disabled_reason,omitempty"`
	LastStatusCode int       `bson:"last_status_code,omitempty" json:"last_status_code,omitempty"`
	LastError      string    `bson:"last_error,omitempty" json:"last_error,omitempty"`
	UpdatedAt      time.Time `bson:"updated_at" json:"updated_at"`
}

// EndpointKey is the _id of a destination's breaker.
func EndpointKey(kind, destinationID string) string { return kind + "/" + destinationID }

// ClosedEndpoint is the state of a destination with no breaker record yet.
func ClosedEndpoint(kind, destinationID string) EndpointHealth {
	return EndpointHealth{ID: EndpointKey(kind, destinationID), Kind: kind, DestinationID: destinationID, State: EndpointClosed}
}

// EndpointHealthByID loads a destination's breaker, or ErrNotFound when
// nothing was ever recorded for it.
func (s *Store) EndpointHealthByID(ctx context.Context, kind, destinationID string) (EndpointHealth, error) {
	var h EndpointHealth
	err := s.coll(EndpointHealthCollection).FindOne(ctx, bson.D{{Key: "_id", Value: EndpointKey(kind, destinationID)}}).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ClosedEndpoint(kind, destinationID), ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("endpoint_health: find: %w", err)
	}
	return h, nil
}

// EndpointFailure is one counted failure (5xx, 408, 429, timeout, transport error).
type EndpointFailure struct {
	Kind, DestinationID string
	StatusCode          int
	Error               string
	At                  time.Time
	// Threshold failures in a row open the endpoint; its first probe is HalfOpen later.
	Threshold int
	HalfOpen  time.Duration
	// DisableAfter disables an endpoint failing this long; Reason says so.
	DisableAfter time.Duration
}

// Breaker transitions a write made, for the caller to act on.
const (
	TransitionNone     = ""
	TransitionOpened   = "opened"
	TransitionDisabled = "disabled"
	TransitionClosed   = "closed" // an open endpoint answered 2xx: its parked deliveries drain
)

// RecordEndpointFailure counts a failure, opens the endpoint at the
// threshold and disables it once it has failed for DisableAfter. It returns
// the state after the write and the transition this write made, if any:
// exactly one writer sees each transition.
func (s *Store) RecordEndpointFailure(ctx context.Context, f EndpointFailure) (EndpointHealth, string, error) {
	c, key := s.coll(EndpointHealthCollection), EndpointKey(f.Kind, f.DestinationID)
	var h EndpointHealth
	err := c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{
		{Key: "$setOnInsert", Value: bson.D{{Key: "kind", Value: f.Kind}, {Key: "destination_id", Value: f.DestinationID}, {Key: "state", Value: EndpointClosed}}},
		{Key: "$inc", Value: bson.D{{Key: "consecutive_failures", Value: 1}}},
		{Key: "$min", Value: bson.D{{Key: "failing_since", Value: f.At}}},
		{Key: "$set", Value: bson.D{{Key: "last_status_code", Value: f.StatusCode}, {Key: "last_error", Value: f.Error}, {Key: "updated_at", Value: f.At}}},
	}, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&h)
	if err != nil {
		return h, TransitionNone, fmt.Errorf("endpoint_health: count a failure: %w", err)
	}
	if h.State != EndpointDisabled && !h.FailingSince.IsZero() && f.At.Sub(h.FailingSince) >= f.DisableAfter {
		reason := fmt.Sprintf("failing since %s (%d failures in a row)", h.FailingSince.UTC().Format(time.RFC3339), h.ConsecutiveFailures)
		return s.disable(ctx, h, reason, f.At)
	}
	if h.State == EndpointClosed && h.ConsecutiveFailures >= f.Threshold {
		won, err := s.transition(ctx, key, bson.D{{Key: "state", Value: EndpointClosed}}, bson.D{
			{Key: "state", Value: EndpointOpen}, {Key: "opened_at", Value: f.At}, {Key: "next_probe_at", Value: f.At.Add(f.HalfOpen)},
			{Key: "draining", Value: false},
		}, nil)
		if err != nil || !won {
			return h, TransitionNone, err
		}
		h.State, h.OpenedAt, h.NextProbeAt, h.Draining = EndpointOpen, f.At, f.At.Add(f.HalfOpen), false
		return h, TransitionOpened, nil
	}
	return h, TransitionNone, nil
}

// DisableEndpoint disables a destination at once (it answered 410 Gone). It
// reports whether this call disabled it (false: it already was).
func (s *Store) DisableEndpoint(ctx context.Context, kind, destinationID, reason string, at time.Time) (EndpointHealth, string, error) {
	var h EndpointHealth
	err := s.coll(EndpointHealthCollection).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: EndpointKey(kind, destinationID)}}, bson.D{
		{Key: "$setOnInsert", Value: bson.D{{Key: "kind", Value: kind}, {Key: "destination_id", Value: destinationID}, {Key: "state", Value: EndpointClosed}}},
		{Key: "$set", Value: bson.D{{Key: "updated_at", Value: at}}},
	}, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&h)
	if err != nil {
		return h, TransitionNone, fmt.Errorf("endpoint_health: upsert: %w", err)
	}
	if h.State == EndpointDisabled {
		return h, TransitionNone, nil
	}
	return s.disable(ctx, h, reason, at)
}

func (s *Store) disable(ctx context.Context, h EndpointHealth, reason string, at time.Time) (EndpointHealth, string, error) {
	won, err := s.transition(ctx, h.ID, bson.D{{Key: "state", Value: bson.D{{Key: "$ne", Value: EndpointDisabled}}}}, bson.D{
		{Key: "state", Value: EndpointDisabled}, {Key: "disabled_at", Value: at}, {Key: "disabled_reason", Value: reason}, {Key: "draining", Value: false},
	}, nil)
	if err != nil || !won {
		return h, TransitionNone, err
	}
	h.State, h.DisabledAt, h.DisabledReason, h.Draining = EndpointDisabled, at, reason, false
	return h, TransitionDisabled, nil
}

// RecordEndpointSuccess notes a 2xx: the run of failures ends, and an open
// endpoint closes and starts draining (TransitionClosed). A disabled
// endpoint stays disabled: only an operator re-enables it.
func (s *Store) RecordEndpointSuccess(ctx context.Context, kind, destinationID string, at time.Time) (string, error) {
	key := EndpointKey(kind, destinationID)
	reset := bson.D{{Key: "consecutive_failures", Value: 0}, {Key: "updated_at", Value: at}}
	clear := bson.D{{Key: "failing_since", Value: ""}, {Key: "opened_at", Value: ""}, {Key: "next_probe_at", Value: ""}}
	won, err := s.transition(ctx, key, bson.D{{Key: "state", Value: EndpointOpen}},
		append(bson.D{{Key: "state", Value: EndpointClosed}, {Key: "draining", Value: true}}, reset...), clear)
	if err != nil {
		return TransitionNone, err
	}
	if won {
		return TransitionClosed, nil
	}
	// Closed (or new: the breaker's state is kept from a destination's
	// first answer, so the metrics list it) or disabled: the run ends.
	_, err = s.coll(EndpointHealthCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{
		{Key: "$setOnInsert", Value: bson.D{{Key: "kind", Value: kind}, {Key: "destination_id", Value: destinationID}, {Key: "state", Value: EndpointClosed}}},
		{Key: "$set", Value: reset},
		{Key: "$unset", Value: clear[:1]},
	}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return TransitionNone, fmt.Errorf("endpoint_health: record a success: %w", err)
	}
	return TransitionNone, nil
}

// EndpointHealths lists every destination's breaker (one per destination
// that ever answered), for the breaker-state metric.
func (s *Store) EndpointHealths(ctx context.Context) ([]EndpointHealth, error) {
	return findAll[EndpointHealth](ctx, s.coll(EndpointHealthCollection), bson.D{}, options.Find().SetLimit(100000))
}

// BreakerState is the state the API and metrics show: half_open for an
// open endpoint whose probe is due or out.
func (h EndpointHealth) BreakerState(now time.Time) string {
	if h.State == EndpointOpen && !h.NextProbeAt.After(now) {
		return "half_open"
	}
	if h.State == "" {
		return EndpointClosed
	}
	return h.State
}

// ClaimEndpointProbe lets one delivery through an open endpoint whose
// half-open interval has passed; every other caller gets false until the
// next interval.
func (s *Store) ClaimEndpointProbe(ctx context.Context, kind, destinationID string, interval time.Duration, at time.Time) (bool, error) {
	return s.transition(ctx, EndpointKey(kind, destinationID),
		bson.D{{Key: "state", Value: EndpointOpen}, {Key: "next_probe_at", Value: bson.D{{Key: "$lte", Value: at}}}},
		bson.D{{Key: "next_probe_at", Value: at.Add(interval)}, {Key: "updated_at", Value: at}}, nil)
}

// EnableEndpoint re-enables (or closes) a destination and starts draining
// what was parked behind it; ErrNotFound when nothing was ever recorded for it.
func (s *Store) EnableEndpoint(ctx context.Context, kind, destinationID string, at time.Time) (EndpointHealth, error) {
	var h EndpointHealth
	err := s.coll(EndpointHealthCollection).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: EndpointKey(kind, destinationID)}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "state", Value: EndpointClosed}, {Key: "consecutive_failures", Value: 0}, {Key: "draining", Value: true}, {Key: "updated_at", Value: at}}},
		{Key: "$unset", Value: bson.D{{Key: "failing_since", Value: ""}, {Key: "opened_at", Value: ""}, {Key: "next_probe_at", Value: ""},
			{Key: "disabled_at", Value: ""}, {Key: "disabled_reason", Value: ""}}},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ClosedEndpoint(kind, destinationID), ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("endpoint_health: enable: %w", err)
	}
	return h, nil
}

// FinishEndpointDrain ends a closed endpoint's drain: deliveries go straight out again.
func (s *Store) FinishEndpointDrain(ctx context.Context, kind, destinationID string, at time.Time) error {
	_, err := s.transition(ctx, EndpointKey(kind, destinationID), bson.D{{Key: "state", Value: EndpointClosed}},
		bson.D{{Key: "draining", Value: false}, {Key: "updated_at", Value: at}}, nil)
	return err
}

// transition applies set (and unset) when the breaker matches cond, and
// reports whether it did: the atomic step every state change goes through.
func (s *Store) transition(ctx context.Context, key string, cond, set, unset bson.D) (bool, error) {
	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	res, err := s.coll(EndpointHealthCollection).UpdateOne(ctx, append(bson.D{{Key: "_id", Value: key}}, cond...), update)
	if err != nil {
		return false, fmt.Errorf("endpoint_health: update: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// ParkedCursor is where a drain got to: the last released record's parking time and id.
type ParkedCursor struct {
	ParkedAt time.Time
	ID       string
}

// ParkedDeliveries returns up to limit parked records of a destination after
// the cursor, oldest parking first (by the parked index), without their event data.
func (s *Store) ParkedDeliveries(ctx context.Context, kind, destinationID string, after ParkedCursor, limit int64) ([]DeliveryRecord, error) {
	q := bson.D{{Key: "destination_id", Value: destinationID}, {Key: "status", Value: RecordParked}, {Key: "kind", Value: kind}}
	if !after.ParkedAt.IsZero() {
		q = append(q, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "parked_at", Value: bson.D{{Key: "$gt", Value: after.ParkedAt}}}},
			bson.D{{Key: "parked_at", Value: after.ParkedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
		}})
	}
	return findAll[DeliveryRecord](ctx, s.coll(DeliveryRecordsCollection), q, options.Find().
		SetSort(bson.D{{Key: "parked_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(limit).
		SetProjection(bson.D{{Key: "data", Value: 0}, {Key: "body", Value: 0}}))
}
