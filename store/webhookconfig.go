package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/webhook"
)

// Event is the webhook system's first resource: a named event webhooks
// subscribe to (order.rto).
type Event struct {
	ID          bson.ObjectID `bson:"_id,omitempty" json:"id"`
	Name        string        `bson:"name" json:"name"`
	ModuleName  string        `bson:"module_name" json:"module_name"`
	Description string        `bson:"description,omitempty" json:"description,omitempty"`
	Timestamps  `bson:",inline"`
}

// Auth is the webhook system's token auth. AuthPayload holds write-only secrets.
type Auth struct {
	ID                bson.ObjectID  `bson:"_id,omitempty" json:"id"`
	Name              string         `bson:"name" json:"name"`
	Type              string         `bson:"type" json:"type"`
	AuthURL           string         `bson:"auth_url" json:"auth_url"`
	AuthPayload       map[string]any `bson:"auth_payload" json:"auth_payload"`
	ResponseTokenPath string         `bson:"response_token_path" json:"response_token_path"`
	// Version changes on every update, so cached tokens of the old config are not reused.
	Version    int64 `bson:"version" json:"version"`
	Timestamps `bson:",inline"`
}

// TokenAuth is the webhook package's view of a.
func (a Auth) TokenAuth() *webhook.TokenAuth {
	return &webhook.TokenAuth{ID: a.ID.Hex(), Version: a.Version, URL: a.AuthURL, Payload: a.AuthPayload, TokenPath: a.ResponseTokenPath}
}

// Payload is the webhook system's payload mapping: output field → dot path
// into the event data.
type Payload struct {
	ID         bson.ObjectID   `bson:"_id,omitempty" json:"id"`
	Name       string          `bson:"name" json:"name"`
	ModuleName string          `bson:"module_name" json:"module_name"`
	Mapping    webhook.Mapping `bson:"mapping" json:"mapping"`
	Timestamps `bson:",inline"`
}

// Condition is one of the webhook system's firing conditions. It applies to every webhook of Event, or only
// to WebhookID when set.
type Condition struct {
	ID                bson.ObjectID `bson:"_id,omitempty" json:"id"`
	Event             string        `bson:"event" json:"event"`
	WebhookID         string        `bson:"webhook_id,omitempty" json:"webhook_id,omitempty"`
	webhook.Condition `bson:",inline"`
	Timestamps        `bson:",inline"`
}

// Webhook is the webhook system's destination: URL, events, auth and payload.
type Webhook struct {
	ID         bson.ObjectID `bson:"_id,omitempty" json:"id"`
	Name       string        `bson:"name" json:"name"`
	URL        string        `bson:"url" json:"url"`
	ModuleName string        `bson:"module_name" json:"module_name"`
	Events     []string      `bson:"events" json:"events"`
	AuthID     string        `bson:"auth_id,omitempty" json:"auth_id,omitempty"`
	PayloadID  string        `bson:"payload_id" json:"payload_id"`
	Active     *bool         `bson:"active" json:"active"`
	// Retry overrides the CRM webhook's back-off and retry window; nil, or
	// a field left out, keeps the default.
	Retry      *WebhookRetry `bson:"retry,omitempty" json:"retry,omitempty"`
	Timestamps `bson:",inline"`
}

// WebhookRetry is a CRM webhook's own retry schedule, in the API's units:
// exponential back-off from InitialIntervalSeconds, multiplied by
// BackoffCoefficient after each failure, capped at MaximumIntervalSeconds,
// for WindowSeconds after the delivery was first scheduled.
type WebhookRetry struct {
	InitialIntervalSeconds *int     `bson:"initial_interval_seconds,omitempty" json:"initial_interval_seconds,omitempty"`
	MaximumIntervalSeconds *int     `bson:"maximum_interval_seconds,omitempty" json:"maximum_interval_seconds,omitempty"`
	BackoffCoefficient     *float64 `bson:"backoff_coefficient,omitempty" json:"backoff_coefficient,omitempty"`
	WindowSeconds          *int     `bson:"window_seconds,omitempty" json:"window_seconds,omitempty"`
}

// IsActive treats an unset flag as active, as the API's default.
func (w Webhook) IsActive() bool { return w.Active == nil || *w.Active }

// Timestamps are kept on every configuration document.
type Timestamps struct {
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt time.Time `bson:"updated_at" json:"updated_at"`
}

// Repo is create/read/update/delete/list over one configuration collection.
type Repo[T any] struct{ c *mongo.Collection }

// Events, Auths, Payloads, Conditions and Webhooks are the configuration repositories.
func (s *Store) Events() Repo[Event]         { return Repo[Event]{s.coll(EventsCollection)} }
func (s *Store) Auths() Repo[Auth]           { return Repo[Auth]{s.coll(AuthsCollection)} }
func (s *Store) Payloads() Repo[Payload]     { return Repo[Payload]{s.coll(PayloadsCollection)} }
func (s *Store) Conditions() Repo[Condition] { return Repo[Condition]{s.coll(ConditionsCollection)} }
func (s *Store) Webhooks() Repo[Webhook]     { return Repo[Webhook]{s.coll(WebhooksCollection)} }

// ErrDuplicate is returned when a unique field (an event name) is taken.
var ErrDuplicate = errors.New("duplicate")

// Insert stores doc and returns its new id.
func (r Repo[T]) Insert(ctx context.Context, doc *T) (bson.ObjectID, error) {
	res, err := r.c.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		return bson.ObjectID{}, ErrDuplicate
	}
	if err != nil {
		return bson.ObjectID{}, fmt.Errorf("%s: insert: %w", r.c.Name(), err)
	}
	return res.InsertedID.(bson.ObjectID), nil
}

// Get loads the document with id, or ErrNotFound.
func (r Repo[T]) Get(ctx context.Context, id string) (T, error) {
	var doc T
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return doc, ErrNotFound
	}
	err = r.c.FindOne(ctx, bson.D{{Key: "_id", Value: oid}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return doc, ErrNotFound
	}
	if err != nil {
		return doc, fmt.Errorf("%s: get: %w", r.c.Name(), err)
	}
	return doc, nil
}

// Find lists documents matching filter, oldest first.
func (r Repo[T]) Find(ctx context.Context, filter bson.D) ([]T, error) {
	if filter == nil {
		filter = bson.D{}
	}
	return findAll[T](ctx, r.c, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

// Count counts documents matching filter.
func (r Repo[T]) Count(ctx context.Context, filter bson.D) (int64, error) {
	if filter == nil {
		filter = bson.D{}
	}
	n, err := r.c.CountDocuments(ctx, filter)
	if err != nil {
		return 0, fmt.Errorf("%s: count: %w", r.c.Name(), err)
	}
	return n, nil
}

// Replace overwrites the document with id, or returns ErrNotFound.
func (r Repo[T]) Replace(ctx context.Context, id string, doc *T) error {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return ErrNotFound
	}
	res, err := r.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: oid}}, doc)
	if mongo.IsDuplicateKeyError(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("%s: replace: %w", r.c.Name(), err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// Delete removes the document with id, or returns ErrNotFound.
func (r Repo[T]) Delete(ctx context.Context, id string) error {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return ErrNotFound
	}
	res, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: oid}})
	if err != nil {
		return fmt.Errorf("%s: delete: %w", r.c.Name(), err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// WebhookTarget is an active webhook with the conditions that decide whether it fires.
type WebhookTarget struct {
	Webhook    Webhook
	Conditions []webhook.Condition
}

// WebhooksForEvent lists the active webhooks of module subscribed to event,
// each with its conditions (the event's shared ones plus its own).
func (s *Store) WebhooksForEvent(ctx context.Context, event, module string) ([]WebhookTarget, error) {
	hooks, err := s.Webhooks().Find(ctx, bson.D{{Key: "events", Value: event}, {Key: "module_name", Value: module}})
	if err != nil {
		return nil, err
	}
	conds, err := s.Conditions().Find(ctx, bson.D{{Key: "event", Value: event}})
	if err != nil {
		return nil, err
	}
	var out []WebhookTarget
	for _, h := range hooks {
		if !h.IsActive() {
			continue
		}
		t := WebhookTarget{Webhook: h}
		for _, c := range conds {
			if c.WebhookID == "" || c.WebhookID == h.ID.Hex() {
				t.Conditions = append(t.Conditions, c.Condition)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// DeliveryConfig is everything needed to send one webhook.
type DeliveryConfig struct {
	Webhook Webhook
	Payload Payload
	Auth    *Auth // nil when the webhook has no auth
}

// DeliveryConfig loads a webhook with its payload and auth.
func (s *Store) DeliveryConfig(ctx context.Context, webhookID string) (DeliveryConfig, error) {
	h, err := s.Webhooks().Get(ctx, webhookID)
	if err != nil {
		return DeliveryConfig{}, fmt.Errorf("webhook %s: %w", webhookID, err)
	}
	p, err := s.Payloads().Get(ctx, h.PayloadID)
	if err != nil {
		return DeliveryConfig{}, fmt.Errorf("payload %s of webhook %s: %w", h.PayloadID, webhookID, err)
	}
	cfg := DeliveryConfig{Webhook: h, Payload: p}
	if h.AuthID != "" {
		a, err := s.Auths().Get(ctx, h.AuthID)
		if err != nil {
			return DeliveryConfig{}, fmt.Errorf("auth %s of webhook %s: %w", h.AuthID, webhookID, err)
		}
		cfg.Auth = &a
	}
	return cfg, nil
}

// Stamp sets the creation and update times; every configuration document embeds Timestamps.
func (t *Timestamps) Stamp(created, updated time.Time) {
	t.CreatedAt, t.UpdatedAt = created.UTC(), updated.UTC()
}

// Created is when the document was first stored.
func (t Timestamps) Created() time.Time { return t.CreatedAt }
