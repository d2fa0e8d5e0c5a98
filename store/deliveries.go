package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Delivery is one logged webhook POST. It never holds a secret or a token.
type Delivery struct {
	ID             bson.ObjectID `bson:"_id,omitempty" json:"id"`
	WebhookID      string        `bson:"webhook_id" json:"webhook_id"`
	Event          string        `bson:"event" json:"event"`
	OrderID        string        `bson:"order_id" json:"order_id"`
	WorkflowID     string        `bson:"workflow_id" json:"workflow_id"`
	IdempotencyKey string        `bson:"idempotency_key" json:"idempotency_key"`
	Attempt        int32         `bson:"attempt" json:"attempt"` // the activity attempt that made this POST
	StatusCode     int           `bson:"status_code" json:"status_code"`
	LatencyMS      int64         `bson:"latency_ms" json:"latency_ms"`
	OK             bool          `bson:"ok" json:"ok"`
	Error          string        `bson:"error,omitempty" json:"error,omitempty"`
	AuthRefreshed  bool          `bson:"auth_refreshed,omitempty" json:"auth_refreshed,omitempty"`
	CreatedAt      time.Time     `bson:"created_at" json:"created_at"`
}

// DeliveryFilter selects deliveries for the API; empty fields match all.
type DeliveryFilter struct {
	OrderID    string
	WebhookID  string
	FailedOnly bool
	Limit      int64
}

// RecordDeliveries appends attempts to the delivery log.
func (s *Store) RecordDeliveries(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	docs := make([]any, len(ds))
	for i := range ds {
		docs[i] = ds[i]
	}
	if _, err := s.coll(WebhookDeliveriesCollection).InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("webhook_deliveries: insert: %w", err)
	}
	return nil
}

// Deliveries lists logged attempts, newest first.
func (s *Store) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	filter := bson.D{}
	if f.OrderID != "" {
		filter = append(filter, bson.E{Key: "order_id", Value: f.OrderID})
	}
	if f.WebhookID != "" {
		filter = append(filter, bson.E{Key: "webhook_id", Value: f.WebhookID})
	}
	if f.FailedOnly {
		filter = append(filter, bson.E{Key: "ok", Value: false})
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return findAll[Delivery](ctx, s.coll(WebhookDeliveriesCollection), filter,
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(f.Limit))
}
