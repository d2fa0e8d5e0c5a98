package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/tracking/push"
)

// Collections of the push tracking webhooks.
const (
	PushEventsCollection      = "push_events"
	StockLevelsCollection     = "stock_levels"
	PushCredentialsCollection = "push_credentials"
)

// Fields of the merchant's orders a push event can be matched on.
const (
	OrderFieldID             = "_id"
	OrderFieldAWB            = "awb"
	OrderFieldFulfilmentCode = "fulfilment_code"
)

// Push event outcomes, as recorded in push_events (push.Outcome* say what each means).
const (
	PushOutcomeApplied        = push.OutcomeApplied
	PushOutcomeUnmatched      = push.OutcomeUnmatched
	PushOutcomeCustomerReturn = push.OutcomeCustomerReturn
	PushOutcomeTest           = push.OutcomeTest
	PushOutcomeStock          = push.OutcomeStock
	PushOutcomeIgnored        = push.OutcomeIgnored
)

// OrderRef is one way to find an order: an orders field and its value.
type OrderRef struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// FindOrder returns the id of the first order matching one of refs, tried in
// order; found is false when none does.
func (s *Store) FindOrder(ctx context.Context, refs []OrderRef) (string, bool, error) {
	for _, ref := range refs {
		if ref.Value == "" {
			continue
		}
		var value any = ref.Value
		if ref.Field == OrderFieldID {
			value = docID(ref.Value)
		}
		var doc struct {
			ID any `bson:"_id"`
		}
		err := s.coll(OrdersCollection).FindOne(ctx, bson.D{{Key: ref.Field, Value: value}},
			options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("orders: find by %s: %w", ref.Field, err)
		}
		return idString(doc.ID), true, nil
	}
	return "", false, nil
}

// PushEvent is the record of one received push event, whatever became of it.
// Its _id is the ingest workflow's ID, so recording it again is a no-op.
type PushEvent struct {
	ID         string     `bson:"_id" json:"id"`
	Source     string     `bson:"source" json:"source"`
	Account    string     `bson:"account" json:"account"`
	Outcome    string     `bson:"outcome" json:"outcome"`
	Event      string     `bson:"event" json:"event"` // fulfilment event name, or Clickpost's code and description
	Waybill    string     `bson:"waybill,omitempty" json:"waybill,omitempty"`
	OrderRefs  []OrderRef `bson:"order_refs,omitempty" json:"order_refs,omitempty"`
	OrderID    string     `bson:"order_id,omitempty" json:"order_id,omitempty"`
	Statuses   []string   `bson:"statuses,omitempty" json:"statuses,omitempty"` // canonical, one per scan
	EventTime  time.Time  `bson:"event_time" json:"event_time"`
	ReceivedAt time.Time  `bson:"received_at" json:"received_at"`
	RecordedAt time.Time  `bson:"recorded_at" json:"recorded_at"`
}

// RecordPushEvent upserts ev by its _id: a retried activity writes it once.
func (s *Store) RecordPushEvent(ctx context.Context, ev PushEvent) error {
	_, err := s.coll(PushEventsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: ev.ID}},
		bson.D{{Key: "$set", Value: ev}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("push_events: record: %w", err)
	}
	return nil
}

// PushEventFilter selects push events for the API; empty fields match all.
type PushEventFilter struct {
	Source  string
	Outcome string
	OrderID string
	Limit   int64
}

// PushEvents lists recorded push events, newest first.
func (s *Store) PushEvents(ctx context.Context, f PushEventFilter) ([]PushEvent, error) {
	filter := bson.D{}
	for _, kv := range []struct{ k, v string }{{"source", f.Source}, {"outcome", f.Outcome}, {"order_id", f.OrderID}} {
		if kv.v != "" {
			filter = append(filter, bson.E{Key: kv.k, Value: kv.v})
		}
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return findAll[PushEvent](ctx, s.coll(PushEventsCollection), filter,
		options.Find().SetSort(bson.D{{Key: "received_at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(f.Limit))
}

// StockLevel is the latest known stock of a product in one warehouse area.
type StockLevel struct {
	ID              string    `bson:"_id" json:"id"`
	Account         string    `bson:"account" json:"account"`
	MerchantCode    string    `bson:"merchant_code" json:"merchant_code"`
	ProductCode     string    `bson:"product_code" json:"product_code"`
	WarehouseCode   string    `bson:"warehouse_code" json:"warehouse_code"`
	WarehouseID     int64     `bson:"warehouse_id" json:"warehouse_id"`
	WarehouseAreaID int64     `bson:"warehouse_area_id" json:"warehouse_area_id"`
	SKUID           int64     `bson:"sku_id" json:"sku_id"`
	StockID         int64     `bson:"stock_id" json:"stock_id"`
	Quantity        int64     `bson:"quantity" json:"quantity"`
	RealQuantity    int64     `bson:"real_quantity" json:"real_quantity"`
	UpdatedAt       time.Time `bson:"updated_at" json:"updated_at"` // the platform's time of this level
	EventID         string    `bson:"event_id" json:"event_id"`     // the push event that wrote it
}

// ApplyStockLevel writes l unless the stored level is at least as new: an
// older event arriving late changes nothing. The upsert's filter only matches
// an older document; when a newer one exists the upsert collides on _id, which
// is the "stale" answer.
func (s *Store) ApplyStockLevel(ctx context.Context, l StockLevel) (applied bool, err error) {
	_, err = s.coll(StockLevelsCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: l.ID}, {Key: "updated_at", Value: bson.D{{Key: "$lt", Value: l.UpdatedAt.UTC()}}}},
		bson.D{{Key: "$set", Value: l}}, options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stock_levels: apply: %w", err)
	}
	return true, nil
}

// StockLevels lists levels, optionally of one product.
func (s *Store) StockLevels(ctx context.Context, productCode string) ([]StockLevel, error) {
	filter := bson.D{}
	if productCode != "" {
		filter = append(filter, bson.E{Key: "product_code", Value: productCode})
	}
	return findAll[StockLevel](ctx, s.coll(StockLevelsCollection), filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(1000))
}

// PushCredential is an account's webhook keys or signing secrets set through
// the configuration API. The secrets are write-only: the API never returns them.
type PushCredential struct {
	Source    string    `bson:"source"`
	Account   string    `bson:"account"`
	Secrets   []string  `bson:"secrets"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func pushCredentialID(source, account string) string { return source + ":" + account }

// SetPushCredential replaces the secrets of (source, account).
func (s *Store) SetPushCredential(ctx context.Context, c PushCredential) error {
	_, err := s.coll(PushCredentialsCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: pushCredentialID(c.Source, c.Account)}},
		bson.D{{Key: "$set", Value: c}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("push_credentials: set: %w", err)
	}
	return nil
}

// DeletePushCredential removes (source, account); ErrNotFound when absent.
func (s *Store) DeletePushCredential(ctx context.Context, source, account string) error {
	res, err := s.coll(PushCredentialsCollection).DeleteOne(ctx, bson.D{{Key: "_id", Value: pushCredentialID(source, account)}})
	if err != nil {
		return fmt.Errorf("push_credentials: delete: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// PushCredentials returns every stored credential.
func (s *Store) PushCredentials(ctx context.Context) ([]PushCredential, error) {
	cur, err := s.coll(PushCredentialsCollection).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("push_credentials: find: %w", err)
	}
	var out []PushCredential
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("push_credentials: read: %w", err)
	}
	return out, nil
}
