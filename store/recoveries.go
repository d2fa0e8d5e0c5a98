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

// Collections of a recovery's life beyond Temporal's retention: where each
// invoice's recovery stands (found by invoice or by customer), and the audit
// of every restart asked for.
const (
	RecoveriesCollection       = "recoveries"
	RecoveryRestartsCollection = "recovery_restarts"
)

// Recovery is where one invoice's RevenueRecovery stands, written by the
// workflow when its status or payment method changes. It outlives the
// workflow's history so a closed recovery can be restarted, and its
// connector_customer_id index lets a customer's card update find every
// recovery of theirs without a search attribute (customer ids are personal
// data, kept out of Temporal's visibility store). It holds no card data: the
// payment method is the processor's token.
type Recovery struct {
	WorkflowID          string     `bson:"_id" json:"workflow_id"`
	ProfileID           string     `bson:"profile_id" json:"profile_id"`
	InvoiceID           string     `bson:"invoice_id" json:"invoice_id"`
	MerchantID          string     `bson:"merchant_id" json:"merchant_id"`
	BillingConnectorID  string     `bson:"billing_connector_id" json:"billing_connector_id"`
	PaymentConnectorID  string     `bson:"payment_connector_id" json:"payment_connector_id"`
	ConnectorCustomerID string     `bson:"connector_customer_id" json:"-"`
	PaymentMethodToken  string     `bson:"payment_method_token" json:"-"`
	Amount              int64      `bson:"amount" json:"amount"`
	Currency            string     `bson:"currency" json:"currency"`
	CardNetwork         string     `bson:"card_network,omitempty" json:"card_network,omitempty"`
	Status              string     `bson:"status" json:"status"`
	Open                bool       `bson:"open" json:"open"`
	Generation          int        `bson:"generation" json:"generation"`
	RetryCount          int        `bson:"retry_count" json:"retry_count"`
	StartedAt           time.Time  `bson:"started_at" json:"started_at"`
	EndedAt             *time.Time `bson:"ended_at,omitempty" json:"ended_at,omitempty"`
	UpdatedAt           time.Time  `bson:"updated_at" json:"updated_at"`
}

// RecoveryRestartStatus is a Recovery's status while a restart claims its
// next generation and the new run has not yet written its own.
const RecoveryRestartStatus = "restarting"

// SaveRecovery writes a recovery's standing, unless a later generation
// already wrote it (an old run's delayed write never hides a restart).
func (s *Store) SaveRecovery(ctx context.Context, r Recovery) error {
	filter := bson.D{{Key: "_id", Value: r.WorkflowID}, {Key: "generation", Value: bson.D{{Key: "$lte", Value: r.Generation}}}}
	_, err := s.coll(RecoveriesCollection).ReplaceOne(ctx, filter, r, options.Replace().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // a later generation holds the document
	}
	if err != nil {
		return fmt.Errorf("recoveries: save: %w", err)
	}
	return nil
}

// RecoveryByWorkflowID loads a recovery's standing, or ErrNotFound.
func (s *Store) RecoveryByWorkflowID(ctx context.Context, workflowID string) (Recovery, error) {
	var r Recovery
	err := s.coll(RecoveriesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: workflowID}}).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Recovery{}, ErrNotFound
	}
	if err != nil {
		return Recovery{}, fmt.Errorf("recoveries: find: %w", err)
	}
	return r, nil
}

// CustomerRecoveries lists a profile's recoveries of one customer at the
// payment processor, open or closed (at most 100, newest first).
func (s *Store) CustomerRecoveries(ctx context.Context, profileID, customerID string) ([]Recovery, error) {
	if customerID == "" {
		return nil, nil
	}
	return findAll[Recovery](ctx, s.coll(RecoveriesCollection),
		bson.D{{Key: "profile_id", Value: profileID}, {Key: "connector_customer_id", Value: customerID}},
		options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}}).SetLimit(100))
}

// ClaimRecoveryGeneration moves a closed recovery (or one whose claimed
// generation never started a run) from generation `from` to the next, in one
// conditional update: of two restarts racing, one claims it (true) and the
// other finds it taken (false). A claimed number is never handed out again,
// so no two runs share payment idempotency keys.
func (s *Store) ClaimRecoveryGeneration(ctx context.Context, workflowID string, from int, now time.Time) (bool, error) {
	res, err := s.coll(RecoveriesCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: workflowID}, {Key: "generation", Value: from}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "open", Value: false}}, bson.D{{Key: "status", Value: RecoveryRestartStatus}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "generation", Value: from + 1}, {Key: "open", Value: true},
			{Key: "status", Value: RecoveryRestartStatus}, {Key: "updated_at", Value: now}}}})
	if err != nil {
		return false, fmt.Errorf("recoveries: claim generation: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// InvoiceSettledElsewhere reports whether the billing platform said the
// invoice was paid or cancelled (a success or cancel event that was not our
// own attempt). recovery_events keeps it after Temporal forgets the recovery:
// a restart must never charge such an invoice.
func (s *Store) InvoiceSettledElsewhere(ctx context.Context, profileID, invoiceID string) (bool, error) {
	err := s.coll(RecoveryEventsCollection).FindOne(ctx, bson.D{
		{Key: "profile_id", Value: profileID}, {Key: "invoice_id", Value: invoiceID},
		{Key: "kind", Value: bson.D{{Key: "$in", Value: bson.A{"payment_success", "invoice_cancel"}}}},
		{Key: "action", Value: bson.D{{Key: "$ne", Value: "no_action"}}}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recovery_events: find: %w", err)
	}
	return true, nil
}

// MaxRecoveryAttempt is the highest attempt number of our retries of an
// invoice, over every generation (0 when none).
func (s *Store) MaxRecoveryAttempt(ctx context.Context, profileID, invoiceID string) (int, error) {
	var a RecoveryAttempt
	err := s.coll(RecoveryAttemptsCollection).FindOne(ctx,
		bson.D{{Key: "profile_id", Value: profileID}, {Key: "invoice_id", Value: invoiceID}, {Key: "triggered_by", Value: "internal"}},
		options.FindOne().SetSort(bson.D{{Key: "attempt", Value: -1}})).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("recovery_attempts: find: %w", err)
	}
	return a.Attempt, nil
}

// RecoveryRestart is the audit of one restart asked for, granted or refused.
type RecoveryRestart struct {
	ID          bson.ObjectID `bson:"_id,omitempty" json:"id"`
	WorkflowID  string        `bson:"workflow_id" json:"workflow_id"`
	ProfileID   string        `bson:"profile_id" json:"profile_id"`
	InvoiceID   string        `bson:"invoice_id" json:"invoice_id"`
	Trigger     string        `bson:"trigger" json:"trigger"`           // api, cli, card_update
	RequestedBy string        `bson:"requested_by" json:"requested_by"` // the API key's fingerprint, the CLI's user, or the event id
	Reason      string        `bson:"reason" json:"reason"`
	Outcome     string        `bson:"outcome" json:"outcome"`
	Generation  int           `bson:"generation,omitempty" json:"generation,omitempty"`
	PriorStatus string        `bson:"prior_status,omitempty" json:"prior_status,omitempty"`
	RunID       string        `bson:"run_id,omitempty" json:"run_id,omitempty"`
	At          time.Time     `bson:"at" json:"at"`
}

// RecordRecoveryRestart appends to the restart audit.
func (s *Store) RecordRecoveryRestart(ctx context.Context, a RecoveryRestart) error {
	if _, err := s.coll(RecoveryRestartsCollection).InsertOne(ctx, a); err != nil {
		return fmt.Errorf("recovery_restarts: insert: %w", err)
	}
	return nil
}

// RecoveryRestarts lists an invoice's restart audit, oldest first.
func (s *Store) RecoveryRestarts(ctx context.Context, profileID, invoiceID string) ([]RecoveryRestart, error) {
	return findAll[RecoveryRestart](ctx, s.coll(RecoveryRestartsCollection),
		bson.D{{Key: "profile_id", Value: profileID}, {Key: "invoice_id", Value: invoiceID}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
}

// recoveryRestartIndexes are EnsureIndexes' additions for restarts and card updates.
func recoveryRestartIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		RecoveriesCollection: {{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "connector_customer_id", Value: 1}},
			Options: options.Index().SetName("profile_customer")}},
		RecoveryRestartsCollection: {{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "invoice_id", Value: 1}, {Key: "at", Value: 1}},
			Options: options.Index().SetName("profile_invoice_at")}},
	}
}
