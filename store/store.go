// Package store is orderflow's MongoDB access: the merchant's own orders and
// marketplaces collections (the names the in-house tracking cron used, kept
// as they are) and the collections orderflow owns (webhook configuration,
// delivery logs, claims, push and recovery records). docs/mongodb.md lists
// every collection, field and index used here.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Collection names.
const (
	OrdersCollection            = "orders"
	MarketplacesCollection      = "marketplaces"
	EventsCollection            = "webhook_events"
	AuthsCollection             = "webhook_auths"
	PayloadsCollection          = "webhook_payloads"
	ConditionsCollection        = "webhook_conditions"
	WebhooksCollection          = "webhooks"
	WebhookDeliveriesCollection = "webhook_deliveries"
	RTOClaimsCollection         = "rto_claims"
)

// ErrNotFound is returned when a document asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// IsUnavailable reports whether err says the database could not be reached
// or did not answer in time (no server to select, a dropped connection, an
// operation past its deadline), as opposed to refusing the operation itself.
// A caller that gave up (context.Canceled) is not the database's fault.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	return mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.Is(err, mongo.ErrClientDisconnected)
}

// OperationTimeout bounds every operation of the client it is given to,
// server selection included, whenever the caller's context has no deadline
// of its own (the driver's client-side operation timeout). The starter's store
// uses it: an HTTP handler must answer 503 within seconds when the database is
// away, not wait out the connect timeout. The worker's store does not: its
// activities have their own timeouts and retries.
func OperationTimeout(d time.Duration) func(*options.ClientOptions) {
	return func(o *options.ClientOptions) { o.SetTimeout(d) }
}

// Store wraps one database.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
}

// Connect dials uri and pings it within timeout. Nested documents decode as
// maps, so order data travels through workflow history as plain JSON objects.
// extra adjusts the client options (the benchmark adds a command monitor).
func Connect(ctx context.Context, uri, database string, timeout time.Duration, extra ...func(*options.ClientOptions)) (*Store, error) {
	opts := options.Client().ApplyURI(uri).
		SetConnectTimeout(timeout).
		SetServerSelectionTimeout(timeout).
		SetBSONOptions(&options.BSONOptions{DefaultDocumentM: true})
	for _, adjust := range extra {
		adjust(opts)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: ping %s: %w", database, err)
	}
	return &Store{client: client, db: client.Database(database)}, nil
}

// Close disconnects.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// Ping reports whether the database answers; it serves /healthz.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx, readpref.Primary()) }

// Database exposes the database for tests and the demo seeder.
func (s *Store) Database() *mongo.Database { return s.db }

func (s *Store) coll(name string) *mongo.Collection { return s.db.Collection(name) }

// EnsureIndexes creates the indexes orderflow relies on. It never touches the
// merchant's orders indexes beyond the ones listed in the README.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		EventsCollection:     {{Keys: bson.D{{Key: "name", Value: 1}}, Options: options.Index().SetUnique(true).SetName("name_unique")}},
		ConditionsCollection: {{Keys: bson.D{{Key: "event", Value: 1}}, Options: options.Index().SetName("event")}},
		WebhooksCollection:   {{Keys: bson.D{{Key: "events", Value: 1}, {Key: "module_name", Value: 1}}, Options: options.Index().SetName("events_module")}},
		WebhookDeliveriesCollection: {
			{Keys: bson.D{{Key: "order_id", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("order_created")},
			{Keys: bson.D{{Key: "webhook_id", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("webhook_created")},
			{Keys: bson.D{{Key: "ok", Value: 1}, {Key: "created_at", Value: -1}}, Options: options.Index().SetName("ok_created")},
		},
		// Push events find their order by waybill or fulfilment code (store/push.go).
		OrdersCollection: {
			{Keys: bson.D{{Key: OrderFieldAWB, Value: 1}}, Options: options.Index().SetName("orderflow_awb")},
			{Keys: bson.D{{Key: OrderFieldFulfilmentCode, Value: 1}}, Options: options.Index().SetName("orderflow_fulfilment_code")},
			adaptivePollIndex,
			returnPollIndex,
		},
		PushEventsCollection: {{Keys: bson.D{{Key: "outcome", Value: 1}, {Key: "received_at", Value: -1}}, Options: options.Index().SetName("outcome_received")}},
	}
	for coll, models := range cardCounterIndexes() {
		indexes[coll] = append(indexes[coll], models...)
	}
	for coll, models := range recoveryIndexes() {
		indexes[coll] = append(indexes[coll], models...)
	}
	for coll, models := range deliveryRecordIndexes() {
		indexes[coll] = append(indexes[coll], models...)
	}
	for coll, models := range indexes {
		if err := s.ensureCollectionIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	if err := s.dropRetiredIndex(ctx, OrdersCollection, retiredAdaptivePollIndex); err != nil {
		return err
	}
	return s.ensureRecordsTTL(ctx)
}

// dropRetiredIndex drops an index orderflow created and no longer uses, when
// it is there (only ever one of orderflow's own names). The worker and the
// starter both try at start: the loser finds it gone, which is not an error.
func (s *Store) dropRetiredIndex(ctx context.Context, coll, name string) error {
	specs, err := s.coll(coll).Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("mongo: list indexes on %s: %w", coll, err)
	}
	for _, sp := range specs {
		if sp.Name != name {
			continue
		}
		if err := s.coll(coll).Indexes().DropOne(ctx, name); err != nil && !isIndexNotFound(err) {
			return fmt.Errorf("mongo: drop retired index %s on %s: %w", name, coll, err)
		}
	}
	return nil
}

// isIndexNotFound: the index is already gone (MongoDB's IndexNotFound, code 27).
func isIndexNotFound(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 27 || ce.Name == "IndexNotFound")
}

// ensureCollectionIndexes creates the missing indexes of one collection. The
// worker and the starter do this at the same moment on start; FerretDB v1
// fails the loser's create (dropping its connection) where MongoDB would no-op,
// so a failed create is retried after listing again.
func (s *Store) ensureCollectionIndexes(ctx context.Context, coll string, models []mongo.IndexModel) error {
	for attempt := 1; ; attempt++ {
		missing, err := s.missingIndexes(ctx, coll, models)
		if err != nil || len(missing) == 0 {
			return err
		}
		_, err = s.coll(coll).Indexes().CreateMany(ctx, missing)
		if err == nil {
			return nil
		}
		if attempt == 3 {
			return fmt.Errorf("mongo: indexes on %s: %w", coll, err)
		}
	}
}

// missingIndexes keeps the models whose name is not there yet: every process
// calls EnsureIndexes at start, and re-creating an existing index crashes
// FerretDB v1's handler (MongoDB would accept it as a no-op).
func (s *Store) missingIndexes(ctx context.Context, coll string, models []mongo.IndexModel) ([]mongo.IndexModel, error) {
	specs, err := s.coll(coll).Indexes().ListSpecifications(ctx)
	if err != nil {
		return nil, fmt.Errorf("mongo: list indexes on %s: %w", coll, err)
	}
	have := map[string]bool{}
	for _, sp := range specs {
		have[sp.Name] = true
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		var o options.IndexOptions
		for _, set := range m.Options.List() {
			_ = set(&o)
		}
		if o.Name == nil || !have[*o.Name] {
			missing = append(missing, m)
		}
	}
	return missing, nil
}

// findAll reads every document a query matches into a non-nil slice (an
// empty list answers [] in JSON), naming the collection in its errors.
func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: find: %w", c.Name(), err)
	}
	out := []T{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("%s: read: %w", c.Name(), err)
	}
	return out, nil
}

// updateByID is a bulk-write update of the order whose _id is id, when it
// also meets the conditions in where.
//
// It is an updateMany, though an _id matches one document at most: FerretDB v1
// keeps the read behind every matched updateOne open, holding one pool
// connection, until the whole bulk write ends, so a bulk with more matches
// than its pool (100 connections on SQLite, 50 by default on PostgreSQL)
// waits forever for a connection. An updateMany reads to the end of its query
// and hands the connection back before the next statement. MongoDB treats
// both alike.
func updateByID(id any, where bson.D, update bson.D) *mongo.UpdateManyModel {
	filter := append(bson.D{{Key: "_id", Value: id}}, where...)
	return mongo.NewUpdateManyModel().SetFilter(filter).SetUpdate(update)
}

// docID turns an API or workflow id string back into the _id it was made
// from: an ObjectID when it is 24 hex digits, else the string itself (merchants
// with string order ids keep them).
func docID(id string) any {
	if oid, err := bson.ObjectIDFromHex(id); err == nil {
		return oid
	}
	return id
}

// idString is the inverse of docID.
func idString(v any) string {
	switch x := v.(type) {
	case bson.ObjectID:
		return x.Hex()
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
