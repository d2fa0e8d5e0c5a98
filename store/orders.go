package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/tracking"
)

// Fields orderflow writes on the merchant's orders.
const (
	fieldTrackingStatus   = "tracking_status"
	fieldTrackingStatusAt = "tracking_status_at" // event time of tracking_status: no older event overwrites it
	fieldTrackingSource   = "tracking_source"
	fieldRTOClaim         = "rto_claim"
)

// ApplyResult says what applying a batch of observations did.
type ApplyResult struct {
	// Modified counts document writes that changed something (status or first-seen timestamp).
	Modified int64
	// RTOCandidates are orders observed in the RTO family that no RTOCancel has claimed yet.
	RTOCandidates []RTOCandidate
}

// RTOCandidate is an order that may be having its first RTO.
type RTOCandidate struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Source  string `json:"source"`
	AWB     string `json:"awb"`
	Courier string `json:"courier"`
}

// ApplyObservations is the status-update path shared by polls and pushes. In
// one bulk write it moves each order to the observed status only if the
// observation is newer than the status the order holds (and differs from it,
// and tracking.MayReplace allows it: a customer return moves only forward),
// and records the first time each status was seen. Then, in one read, it lists
// RTO-family observations on orders without an RTO claim: the caller starts
// RTOCancel for them, whose claim decides who is first.
func (s *Store) ApplyObservations(ctx context.Context, obs []tracking.Observation) (ApplyResult, error) {
	if len(obs) == 0 {
		return ApplyResult{}, nil
	}
	models, rto := observationModels(obs)
	res, err := s.coll(OrdersCollection).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return ApplyResult{}, fmt.Errorf("orders: apply %d observations: %w", len(obs), err)
	}
	out := ApplyResult{Modified: res.ModifiedCount}
	if len(rto) > 0 {
		if out.RTOCandidates, err = s.unclaimedRTO(ctx, rto); err != nil {
			return ApplyResult{}, err
		}
	}
	return out, nil
}

// observationModels are the guarded updates applying obs, and the earliest
// RTO-family observation per order (whose claim must then be checked).
func observationModels(obs []tracking.Observation) ([]mongo.WriteModel, map[string]tracking.Observation) {
	models := make([]mongo.WriteModel, 0, 2*len(obs))
	rto := map[string]tracking.Observation{}
	for _, o := range obs {
		id := docID(o.OrderID)
		at := o.EventTime.UTC()
		models = append(models,
			updateByID(id,
				bson.D{
					{Key: fieldTrackingStatus, Value: bson.D{{Key: "$nin", Value: keptStatuses(o.Status)}}},
					{Key: "$or", Value: bson.A{
						bson.D{{Key: fieldTrackingStatusAt, Value: bson.D{{Key: "$exists", Value: false}}}},
						bson.D{{Key: fieldTrackingStatusAt, Value: bson.D{{Key: "$lt", Value: at}}}},
					}},
				},
				bson.D{{Key: "$set", Value: bson.D{
					{Key: fieldTrackingStatus, Value: o.Status},
					{Key: fieldTrackingStatusAt, Value: at},
					{Key: fieldTrackingSource, Value: o.Source},
				}}}),
			// First seen: set when absent, or moved earlier when an older event arrives late.
			updateByID(id,
				bson.D{{Key: "$or", Value: bson.A{
					bson.D{{Key: tracking.TimestampField(o.Status), Value: bson.D{{Key: "$exists", Value: false}}}},
					bson.D{{Key: tracking.TimestampField(o.Status), Value: bson.D{{Key: "$gt", Value: at}}}},
				}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: tracking.TimestampField(o.Status), Value: at}}}}),
		)
		if tracking.IsRTO(o.Status) {
			// Keyed by the id as the store spells it: an ObjectID reported in
			// upper-case hex is the same order, and its candidate must say so.
			key := idString(id)
			if prev, seen := rto[key]; !seen || o.EventTime.Before(prev.EventTime) {
				o.OrderID = key
				rto[key] = o
			}
		}
	}
	return models, rto
}

// keptStatuses are the statuses an order keeps against an observation of
// next, whatever its time: next itself and tracking.NotReplacedBy(next).
func keptStatuses(next string) bson.A {
	kept := bson.A{next}
	for _, s := range tracking.NotReplacedBy(next) {
		kept = append(kept, s)
	}
	return kept
}

func (s *Store) unclaimedRTO(ctx context.Context, rto map[string]tracking.Observation) ([]RTOCandidate, error) {
	ids := make(bson.A, 0, len(rto))
	for id := range rto {
		ids = append(ids, docID(id))
	}
	cur, err := s.coll(OrdersCollection).Find(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: fieldRTOClaim, Value: bson.D{{Key: "$exists", Value: false}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "awb", Value: 1}, {Key: "courier_name", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("orders: find unclaimed RTO: %w", err)
	}
	var docs []struct {
		ID      any    `bson:"_id"`
		AWB     string `bson:"awb"`
		Courier string `bson:"courier_name"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("orders: read unclaimed RTO: %w", err)
	}
	out := make([]RTOCandidate, 0, len(docs))
	for _, d := range docs {
		o := rto[idString(d.ID)]
		out = append(out, RTOCandidate{OrderID: o.OrderID, Status: o.Status, Source: o.Source, AWB: d.AWB, Courier: d.Courier})
	}
	return out, nil
}

// RTOClaim is the durable record that one RTOCancel chain owns an order's first RTO.
type RTOClaim struct {
	OrderID    string
	WorkflowID string
	ChainID    string // the workflow's first run id: stable across its retries and resets
	Status     string
	ClaimedAt  time.Time
}

// OrderSnapshot is what RTOCancel needs of an order to build the CRM payload.
type OrderSnapshot struct {
	OrderID        string         `json:"order_id"`
	MarketplaceID  string         `json:"marketplace_id"`
	Customer       map[string]any `json:"customer"`
	TotalAmt       any            `json:"total_amt"`
	AWB            string         `json:"awb"`
	Courier        string         `json:"courier"`
	TrackingStatus string         `json:"tracking_status"`
}

// ClaimFirstRTO makes chain c the one owner of the order's first RTO, unless
// another chain owns it already. The authority is an insert into rto_claims
// keyed by the order id: the unique _id makes two racing claims have exactly
// one winner on any Mongo-compatible store (a conditional findAndModify is not
// atomic on every one of them). It is idempotent: the same chain claiming again
// wins again, so an activity retry after a lost reply is safe. The claim is
// mirrored on the order (rto_claim) so later observations skip it cheaply.
// It returns won=false when the order is missing or owned by another chain.
func (s *Store) ClaimFirstRTO(ctx context.Context, c RTOClaim) (OrderSnapshot, bool, error) {
	snap, found, err := s.orderSnapshot(ctx, c.OrderID)
	if err != nil || !found {
		return OrderSnapshot{}, false, err
	}
	claim := bson.D{
		{Key: "_id", Value: docID(c.OrderID)},
		{Key: "workflow_id", Value: c.WorkflowID},
		{Key: "chain_id", Value: c.ChainID},
		{Key: "status", Value: c.Status},
		{Key: "claimed_at", Value: c.ClaimedAt.UTC()},
	}
	_, err = s.coll(RTOClaimsCollection).InsertOne(ctx, claim)
	if mongo.IsDuplicateKeyError(err) {
		var existing struct {
			ChainID string `bson:"chain_id"`
		}
		if err := s.coll(RTOClaimsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: docID(c.OrderID)}}).Decode(&existing); err != nil {
			return OrderSnapshot{}, false, fmt.Errorf("rto_claims: read existing claim: %w", err)
		}
		if existing.ChainID != c.ChainID {
			return OrderSnapshot{}, false, nil
		}
	} else if err != nil {
		return OrderSnapshot{}, false, fmt.Errorf("rto_claims: insert: %w", err)
	}
	if _, err := s.coll(OrdersCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: docID(c.OrderID)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: fieldRTOClaim, Value: claim[1:]}}}}); err != nil {
		return OrderSnapshot{}, false, fmt.Errorf("orders: mirror rto claim: %w", err)
	}
	return snap, true, nil
}

// ReadOrder is what a webhook payload needs of an order, claiming nothing:
// found is false when the order does not exist.
func (s *Store) ReadOrder(ctx context.Context, orderID string) (OrderSnapshot, bool, error) {
	return s.orderSnapshot(ctx, orderID)
}

func (s *Store) orderSnapshot(ctx context.Context, orderID string) (OrderSnapshot, bool, error) {
	var doc struct {
		Marketplace    any            `bson:"marketplace"`
		Customer       map[string]any `bson:"customer"`
		TotalAmt       any            `bson:"total_amt"`
		AWB            string         `bson:"awb"`
		Courier        string         `bson:"courier_name"`
		TrackingStatus string         `bson:"tracking_status"`
	}
	err := s.coll(OrdersCollection).FindOne(ctx, bson.D{{Key: "_id", Value: docID(orderID)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return OrderSnapshot{}, false, nil
	}
	if err != nil {
		return OrderSnapshot{}, false, fmt.Errorf("orders: read %s: %w", orderID, err)
	}
	return OrderSnapshot{
		OrderID: orderID, MarketplaceID: idString(doc.Marketplace), Customer: doc.Customer,
		TotalAmt: plainNumber(doc.TotalAmt), AWB: doc.AWB, Courier: doc.Courier, TrackingStatus: doc.TrackingStatus,
	}, true, nil
}

// plainNumber makes BSON numeric types JSON-friendly (Decimal128 has no JSON number form).
func plainNumber(v any) any {
	if d, ok := v.(bson.Decimal128); ok {
		var f float64
		if _, err := fmt.Sscan(d.String(), &f); err == nil {
			return f
		}
		return d.String()
	}
	return v
}

// MarketplaceName returns the name of marketplace id, "" when it does not exist.
func (s *Store) MarketplaceName(ctx context.Context, id string) (string, error) {
	var doc struct {
		Name string `bson:"name"`
	}
	err := s.coll(MarketplacesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: docID(id)}},
		options.FindOne().SetProjection(bson.D{{Key: "name", Value: 1}})).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("marketplaces: find: %w", err)
	}
	return doc.Name, nil
}

// OrderExists reports whether the merchant's orders collection holds the
// order (its id as the API and workflows spell it: 24 hex digits for an
// ObjectID, in either case, or the merchant's own string id).
func (s *Store) OrderExists(ctx context.Context, orderID string) (bool, error) {
	err := s.coll(OrdersCollection).FindOne(ctx, bson.D{{Key: "_id", Value: docID(orderID)}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	}
	return false, fmt.Errorf("orders: find %s: %w", OrdersCollection, err)
}
