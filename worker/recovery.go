package worker

import (
	"time"

	"orderflow/activities"
	"orderflow/observability"
	"orderflow/recovery/connector"
	"orderflow/store"
)

// Bounds of revenue recovery's outgoing calls.
const (
	recoveryConnectorTimeout = 30 * time.Second // one payment processor or billing platform call
	recoveryWebhookTimeout   = 15 * time.Second // one merchant webhook POST (Standard Webhooks: 15–30 s)
)

// NewRecoveryActivities builds revenue recovery's activities.
func NewRecoveryActivities(st *store.Store, m *observability.Metrics) *activities.Recovery {
	return &activities.Recovery{
		Store:         st,
		Connectors:    connector.New(recoveryConnectorTimeout),
		WebhookClient: activities.NewRecoveryWebhookClient(recoveryWebhookTimeout),
		Metrics:       m,
	}
}
