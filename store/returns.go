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

// Fields of a customer return shipment on its order.
const (
	fieldReturnAWB   = "return_awb"    // the return shipment's own AWB, as a push or poll named it
	fieldReturnAWBAt = "return_awb_at" // when orderflow first learned it
)

// RecordReturnAWB stores the AWB of an order's customer return shipment,
// with when it was learned. A newer return shipment of the same order
// replaces the old one (the sweep follows the latest); the same AWB again
// writes nothing. False when the order does not exist or already has it.
func (s *Store) RecordReturnAWB(ctx context.Context, orderID, returnAWB string, at time.Time) (bool, error) {
	res, err := s.coll(OrdersCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: docID(orderID)}, {Key: fieldReturnAWB, Value: bson.D{{Key: "$ne", Value: returnAWB}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: fieldReturnAWB, Value: returnAWB}, {Key: fieldReturnAWBAt, Value: at}}}})
	if err != nil {
		return false, fmt.Errorf("orders: record return awb: %w", err)
	}
	return res.ModifiedCount > 0, nil
}

// ReturnTarget is an order whose return shipment the sweep polls.
type ReturnTarget struct {
	OrderID        string
	ReturnAWB      string
	Courier        string
	TrackingStatus string
	StatusAt       time.Time
	DeliveredAt    time.Time
	FirstSeen      map[string]time.Time
}

// returnsFilter is the return shipments a sweep polls: orders of the scope's
// couriers with a return AWB, delivered or with a return under way (not yet
// returned), delivered at or after deliveredSince.
func returnsFilter(courierNames []string, deliveredSince time.Time, after string) bson.D {
	f := bson.D{
		{Key: fieldCourierName, Value: bson.D{{Key: "$in", Value: courierNames}}},
		{Key: fieldReturnAWB, Value: bson.D{{Key: "$exists", Value: true}, {Key: "$ne", Value: ""}}},
		{Key: fieldTrackingStatus, Value: bson.D{{Key: "$in", Value: []string{tracking.Delivered, tracking.Return}}}},
		{Key: tracking.TimestampField(tracking.Delivered), Value: bson.D{{Key: "$gte", Value: deliveredSince}}},
	}
	if after != "" {
		f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: docID(after)}}})
	}
	return f
}

// ReturnsToPoll reads, in _id order after the cursor, at most limit orders
// whose return shipment is due a poll (returnsFilter).
func (s *Store) ReturnsToPoll(ctx context.Context, courierNames []string, deliveredSince time.Time, after string, limit int) ([]ReturnTarget, error) {
	cur, err := s.coll(OrdersCollection).Find(ctx, returnsFilter(courierNames, deliveredSince, after),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: fieldReturnAWB, Value: 1}, {Key: fieldCourierName, Value: 1},
				{Key: fieldTrackingStatus, Value: 1}, {Key: fieldTrackingStatusAt, Value: 1}, {Key: fieldTrackingStamps, Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("orders: read return shipments: %w", err)
	}
	var docs []struct {
		ID        any                  `bson:"_id"`
		ReturnAWB string               `bson:"return_awb"`
		Courier   string               `bson:"courier_name"`
		Status    string               `bson:"tracking_status"`
		StatusAt  time.Time            `bson:"tracking_status_at"`
		FirstSeen map[string]time.Time `bson:"tracking_timestamps"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("orders: decode return shipments: %w", err)
	}
	out := make([]ReturnTarget, len(docs))
	for i, d := range docs {
		out[i] = ReturnTarget{OrderID: idString(d.ID), ReturnAWB: d.ReturnAWB, Courier: d.Courier,
			TrackingStatus: d.Status, StatusAt: d.StatusAt, DeliveredAt: d.FirstSeen["delivered"], FirstSeen: d.FirstSeen}
	}
	return out, nil
}

// returnPollIndex serves ReturnsToPoll: orders without a return AWB sit at
// the index's null end, so the read touches only the orders with a return
// shipment, a small share of the collection.
var returnPollIndex = mongo.IndexModel{
	Keys:    bson.D{{Key: fieldReturnAWB, Value: 1}},
	Options: options.Index().SetName("orderflow_return_awb"),
}
