package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The configuration API refuses to delete a document others still name, and
// to save one naming a document that does not exist. These are its questions.

// EventUsers counts the webhooks and the conditions that name an event.
func (s *Store) EventUsers(ctx context.Context, name string) (webhooks, conditions int64, err error) {
	if webhooks, err = s.Webhooks().Count(ctx, bson.D{{Key: "events", Value: name}}); err != nil {
		return 0, 0, err
	}
	conditions, err = s.Conditions().Count(ctx, bson.D{{Key: "event", Value: name}})
	return webhooks, conditions, err
}

// AuthUsers counts the webhooks that authenticate with an auth.
func (s *Store) AuthUsers(ctx context.Context, authID string) (int64, error) {
	return s.Webhooks().Count(ctx, bson.D{{Key: "auth_id", Value: authID}})
}

// PayloadUsers counts the webhooks that send a payload.
func (s *Store) PayloadUsers(ctx context.Context, payloadID string) (int64, error) {
	return s.Webhooks().Count(ctx, bson.D{{Key: "payload_id", Value: payloadID}})
}

// WebhookUsers counts the conditions that name a webhook.
func (s *Store) WebhookUsers(ctx context.Context, webhookID string) (int64, error) {
	return s.Conditions().Count(ctx, bson.D{{Key: "webhook_id", Value: webhookID}})
}

// EventNamed reports whether an event of that name exists.
func (s *Store) EventNamed(ctx context.Context, name string) (bool, error) {
	n, err := s.Events().Count(ctx, bson.D{{Key: "name", Value: name}})
	return n > 0, err
}

// ProfileConnectors counts a business profile's connector accounts.
func (s *Store) ProfileConnectors(ctx context.Context, profileID string) (int64, error) {
	return s.ConnectorAccounts().Count(ctx, bson.D{{Key: "profile_id", Value: profileID}})
}

// BillingConnectorsRouting counts the billing connectors whose
// billing_account_reference routes retries to a payment connector.
func (s *Store) BillingConnectorsRouting(ctx context.Context, paymentConnectorID string) (int64, error) {
	return s.ConnectorAccounts().Count(ctx, bson.D{{
		Key:   "feature_metadata.revenue_recovery.billing_account_reference." + paymentConnectorID,
		Value: bson.D{{Key: "$exists", Value: true}},
	}})
}
