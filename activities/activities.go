// Package activities holds every side effect orderflow's workflows perform,
// one file per area or integration. Activities are methods on a few structs
// that hold their dependencies (Activities for the RTO path, SweepActivities,
// Recovery, Redrive, DeliveryRecords); workflows refer to them through nil
// pointers for type-checked names. Inputs and results are plain structs: store
// and client types are converted inside the activity.
package activities

import (
	"context"
	"time"

	"orderflow/delivery"
	"orderflow/observability"
	"orderflow/store"
	"orderflow/tracking"
	"orderflow/webhook"
)

// Store is what the activities need of MongoDB; *store.Store implements it.
type Store interface {
	ApplyObservations(ctx context.Context, obs []tracking.Observation) (store.ApplyResult, error)
	ClaimFirstRTO(ctx context.Context, c store.RTOClaim) (store.OrderSnapshot, bool, error)
	MarketplaceName(ctx context.Context, id string) (string, error)
	WebhooksForEvent(ctx context.Context, event, module string) ([]store.WebhookTarget, error)
	DeliveryConfig(ctx context.Context, webhookID string) (store.DeliveryConfig, error)
	RecordDeliveries(ctx context.Context, ds []store.Delivery) error
}

// Activities holds the dependencies of every activity.
type Activities struct {
	Store    Store
	Push     PushStore        // push tracking webhooks (activities/push.go)
	Webhooks *delivery.Sender // sends the CRM's webhooks (activities/rto.go)
	Tokens   *webhook.Tokens  // the CRM webhooks' auth tokens
	Records  *DeliveryRecords // one record per delivery (activities/records.go); nil keeps none
	// Endpoints is every destination's circuit breaker (activities/endpoints.go); nil has none.
	Endpoints *Endpoints
	Metrics   *observability.Metrics
	// MarketplaceLookupTimeout bounds the marketplace read (the in-house cron's 5 s bound).
	MarketplaceLookupTimeout time.Duration
	Now                      func() time.Time
	// Polling marks each order a push reports for adaptive polling; nil (uniform polling) writes nothing.
	Polling *PushPolling
	// Returns records customer return shipments' AWBs (activities/returns.go); nil records none.
	Returns ReturnStore
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
