package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orderflow/recovery"
)

// Revenue recovery's collections.
const (
	ProfilesCollection                  = "business_profiles"
	ConnectorAccountsCollection         = "connector_accounts"
	RecoveryAttemptsCollection          = "recovery_attempts"
	RecoveryEventsCollection            = "recovery_events"
	RecoveryWebhookDeliveriesCollection = "recovery_webhook_deliveries"
)

// Connector types, as Hyperswitch's merchant connector accounts name them.
const (
	BillingProcessor = "billing_processor"
	PaymentProcessor = "payment_processor"
)

// BusinessProfile is a merchant's recovery settings. PaymentResponseHashKey is write-only.
type BusinessProfile struct {
	ID                     bson.ObjectID      `bson:"_id,omitempty" json:"id"`
	MerchantID             string             `bson:"merchant_id" json:"merchant_id"`
	ProfileName            string             `bson:"profile_name,omitempty" json:"profile_name,omitempty"`
	WebhookURL             string             `bson:"webhook_url" json:"webhook_url"`
	PaymentResponseHashKey string             `bson:"payment_response_hash_key,omitempty" json:"payment_response_hash_key,omitempty"`
	RetryAlgorithm         recovery.Algorithm `bson:"revenue_recovery_retry_algorithm_type" json:"revenue_recovery_retry_algorithm_type"`
	// CascadingSchedule overrides Hyperswitch's default for this profile.
	CascadingSchedule *ScheduleConfig `bson:"cascading_schedule,omitempty" json:"cascading_schedule,omitempty"`
	// MaxRandomDelaySeconds bounds the jitter added to each retry (default 300).
	MaxRandomDelaySeconds *int `bson:"max_random_schedule_delay_in_seconds,omitempty" json:"max_random_schedule_delay_in_seconds,omitempty"`
	// SmartDelayScale multiplies the smart scheduler's delays (demos: 0.001).
	SmartDelayScale float64 `bson:"smart_delay_scale,omitempty" json:"smart_delay_scale,omitempty"`
	// PSyncDelaysSeconds are the waits before each status sync of a processing
	// payment (default 60 s, 5 min ×5, then hourly for a day).
	PSyncDelaysSeconds []int `bson:"psync_delays_seconds,omitempty" json:"psync_delays_seconds,omitempty"`
	// WebhookRetryDelaysSeconds are the waits after each failed merchant
	// webhook POST, then it gives up (default Hyperswitch's 1 m, 5 m ×2,
	// 10 m ×5, 1 h ×5, 6 h ×3).
	WebhookRetryDelaysSeconds []int `bson:"webhook_retry_delays_seconds,omitempty" json:"webhook_retry_delays_seconds,omitempty"`
	// TimeZone is the IANA zone (e.g. Asia/Kolkata, the default) adaptive
	// timing reads the hour of day and day of month of retries in.
	TimeZone   string `bson:"time_zone,omitempty" json:"time_zone,omitempty"`
	Timestamps `bson:",inline"`
}

// WebhookRetryDelays converts WebhookRetryDelaysSeconds; nil means the default.
func (p BusinessProfile) WebhookRetryDelays() []time.Duration {
	var out []time.Duration
	for _, s := range p.WebhookRetryDelaysSeconds {
		out = append(out, time.Duration(s)*time.Second)
	}
	return out
}

// PSyncDelays converts PSyncDelaysSeconds; nil means the workflow's default.
func (p BusinessProfile) PSyncDelays() []time.Duration {
	var out []time.Duration
	for _, s := range p.PSyncDelaysSeconds {
		out = append(out, time.Duration(s)*time.Second)
	}
	return out
}

// ScheduleConfig is a cascading schedule in the API's units (seconds).
type ScheduleConfig struct {
	StartAfterSeconds int `bson:"start_after_seconds" json:"start_after_seconds"`
	Frequencies       []struct {
		DelaySeconds int `bson:"delay_seconds" json:"delay_seconds"`
		Count        int `bson:"count" json:"count"`
	} `bson:"frequencies" json:"frequencies"`
}

// Schedule converts c to the domain's schedule.
func (c ScheduleConfig) Schedule() recovery.CascadingSchedule {
	s := recovery.CascadingSchedule{StartAfter: time.Duration(c.StartAfterSeconds) * time.Second}
	for _, f := range c.Frequencies {
		s.Frequencies = append(s.Frequencies, recovery.Frequency{Delay: time.Duration(f.DelaySeconds) * time.Second, Count: f.Count})
	}
	return s
}

// DefaultMaxRandomDelay is a profile's retry jitter when it sets none
// (Hyperswitch's max_random_schedule_delay_in_seconds default).
const DefaultMaxRandomDelay = 300 * time.Second

// Policy is the profile's scheduling policy for a billing connector's settings.
func (p BusinessProfile) Policy(maxRetryCount int) recovery.Policy {
	pol := recovery.Policy{Algorithm: p.RetryAlgorithm, Cascading: recovery.DefaultCascading, MaxRetryCount: maxRetryCount,
		MaxJitter: DefaultMaxRandomDelay, SmartScale: p.SmartDelayScale}
	if p.CascadingSchedule != nil {
		pol.Cascading = p.CascadingSchedule.Schedule()
	}
	if p.RetryAlgorithm == recovery.Adaptive {
		pol.TimeZone = p.TimeZone
		if pol.TimeZone == "" {
			pol.TimeZone = recovery.DefaultTimeZone
		}
	}
	if p.MaxRandomDelaySeconds != nil {
		pol.MaxJitter = time.Duration(*p.MaxRandomDelaySeconds) * time.Second
	}
	return pol
}

// ConnectorAccount is a merchant connector account, shaped like Hyperswitch's: a billing
// processor (webhook credentials + feature_metadata.revenue_recovery) or a
// payment processor (API key + base URL). Secrets are write-only.
type ConnectorAccount struct {
	ID              bson.ObjectID    `bson:"_id,omitempty" json:"id"`
	ProfileID       string           `bson:"profile_id" json:"profile_id"`
	ConnectorType   string           `bson:"connector_type" json:"connector_type"`
	ConnectorName   string           `bson:"connector_name" json:"connector_name"`
	BaseURL         string           `bson:"base_url,omitempty" json:"base_url,omitempty"`
	AccountDetails  ConnectorAuth    `bson:"connector_account_details" json:"connector_account_details"`
	WebhookDetails  WebhookDetails   `bson:"connector_webhook_details" json:"connector_webhook_details"`
	FeatureMetadata *FeatureMetadata `bson:"feature_metadata,omitempty" json:"feature_metadata,omitempty"`
	Disabled        bool             `bson:"disabled" json:"disabled"`
	// Kept as given, for compatibility with Hyperswitch's request body; unused.
	PaymentMethodsEnabled any            `bson:"payment_methods_enabled,omitempty" json:"payment_methods_enabled,omitempty"`
	FrmConfigs            any            `bson:"frm_configs,omitempty" json:"frm_configs,omitempty"`
	Metadata              map[string]any `bson:"metadata,omitempty" json:"metadata,omitempty"`
	Timestamps            `bson:",inline"`
}

// ConnectorAuth is connector_account_details. APIKey is write-only.
type ConnectorAuth struct {
	AuthType string `bson:"auth_type" json:"auth_type"` // HeaderKey, NoKey
	APIKey   string `bson:"api_key,omitempty" json:"api_key,omitempty"`
}

// WebhookDetails is connector_webhook_details: MerchantSecret is the current
// webhook secret (Stripe whsec_…, Recurly key, Standard Webhooks whsec_…,
// Chargebee's Basic password), AdditionalSecret the previous one while a
// secret rolls. Both write-only. Username is Chargebee's Basic user.
type WebhookDetails struct {
	MerchantSecret   string `bson:"merchant_secret,omitempty" json:"merchant_secret,omitempty"`
	AdditionalSecret string `bson:"additional_secret,omitempty" json:"additional_secret,omitempty"`
	Username         string `bson:"username,omitempty" json:"username,omitempty"`
}

// Secrets lists the webhook secrets to try, current first.
func (w WebhookDetails) Secrets() []string {
	var out []string
	for _, s := range []string{w.MerchantSecret, w.AdditionalSecret} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// FeatureMetadata holds revenue_recovery.
type FeatureMetadata struct {
	RevenueRecovery *RecoveryMetadata `bson:"revenue_recovery,omitempty" json:"revenue_recovery,omitempty"`
}

// RecoveryMetadata is a billing connector's feature_metadata.revenue_recovery.
type RecoveryMetadata struct {
	MaxRetryCount                  int               `bson:"max_retry_count" json:"max_retry_count"`
	BillingConnectorRetryThreshold int               `bson:"billing_connector_retry_threshold" json:"billing_connector_retry_threshold"`
	BillingAccountReference        map[string]string `bson:"billing_account_reference" json:"billing_account_reference"`
	SwitchPaymentMethodConfig      *struct {
		RetryThreshold             int `bson:"retry_threshold" json:"retry_threshold"`
		TimeThresholdAfterCreation int `bson:"time_threshold_after_creation" json:"time_threshold_after_creation"`
	} `bson:"switch_payment_method_config,omitempty" json:"switch_payment_method_config,omitempty"`
}

// Recovery returns the revenue_recovery settings, zero when absent.
func (c ConnectorAccount) Recovery() RecoveryMetadata {
	if c.FeatureMetadata == nil || c.FeatureMetadata.RevenueRecovery == nil {
		return RecoveryMetadata{}
	}
	return *c.FeatureMetadata.RevenueRecovery
}

// PaymentConnectorID picks the payment connector a billing connector routes
// to: the one billing_account_reference maps the gateway to, else the only entry.
func (m RecoveryMetadata) PaymentConnectorID(gatewayAccountID string) string {
	for payID, ref := range m.BillingAccountReference {
		if gatewayAccountID != "" && ref == gatewayAccountID {
			return payID
		}
	}
	if len(m.BillingAccountReference) == 1 {
		for payID := range m.BillingAccountReference {
			return payID
		}
	}
	return ""
}

// Profiles and ConnectorAccounts are the recovery configuration repositories.
func (s *Store) Profiles() Repo[BusinessProfile] {
	return Repo[BusinessProfile]{s.coll(ProfilesCollection)}
}

// ConnectorAccounts is the connector account repository.
func (s *Store) ConnectorAccounts() Repo[ConnectorAccount] {
	return Repo[ConnectorAccount]{s.coll(ConnectorAccountsCollection)}
}

// RecoveryAttempt is one of our payment attempts, keyed by its idempotency key.
type RecoveryAttempt struct {
	IdempotencyKey  string    `bson:"_id" json:"idempotency_key"`
	WorkflowID      string    `bson:"workflow_id" json:"workflow_id"`
	ProfileID       string    `bson:"profile_id" json:"profile_id"`
	InvoiceID       string    `bson:"invoice_id" json:"invoice_id"`
	Attempt         int       `bson:"attempt" json:"attempt"`
	TriggeredBy     string    `bson:"triggered_by" json:"triggered_by"`
	PaymentIntentID string    `bson:"payment_intent_id" json:"payment_intent_id"`
	Status          string    `bson:"status" json:"status"`
	ErrorCode       string    `bson:"error_code,omitempty" json:"error_code,omitempty"`
	DeclineCode     string    `bson:"decline_code,omitempty" json:"decline_code,omitempty"`
	Amount          int64     `bson:"amount" json:"amount"`
	Currency        string    `bson:"currency" json:"currency"`
	UpdatedAt       time.Time `bson:"updated_at" json:"updated_at"`
	// RetriedDeclineClass is the class of the decline this retry followed
	// (insufficient_funds, transient, soft): adaptive timing's statistics
	// count success per class. Absent on attempts recorded before it.
	RetriedDeclineClass string `bson:"retried_decline_class,omitempty" json:"retried_decline_class,omitempty"`
}

// RecordRecoveryAttempt writes (or rewrites, on an activity retry or a sync)
// the attempt under its idempotency key: one document per attempt however often it is written.
func (s *Store) RecordRecoveryAttempt(ctx context.Context, a RecoveryAttempt) error {
	_, err := s.coll(RecoveryAttemptsCollection).ReplaceOne(ctx, bson.D{{Key: "_id", Value: a.IdempotencyKey}}, a,
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("recovery_attempts: upsert: %w", err)
	}
	return nil
}

// IsInternalAttempt reports whether a payment processor transaction id is one of our own retries.
func (s *Store) IsInternalAttempt(ctx context.Context, profileID, transactionID string) (bool, error) {
	if transactionID == "" {
		return false, nil
	}
	err := s.coll(RecoveryAttemptsCollection).FindOne(ctx, bson.D{
		{Key: "profile_id", Value: profileID}, {Key: "payment_intent_id", Value: transactionID}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recovery_attempts: find: %w", err)
	}
	return true, nil
}

// InvoiceRecovered reports whether one of our retries already charged the
// invoice. Temporal forgets a closed recovery after its retention; this
// record does not, so a late failure event never starts a second recovery
// (and a second charge) of an invoice we were paid for.
func (s *Store) InvoiceRecovered(ctx context.Context, profileID, invoiceID string) (bool, error) {
	err := s.coll(RecoveryAttemptsCollection).FindOne(ctx, bson.D{
		{Key: "profile_id", Value: profileID}, {Key: "invoice_id", Value: invoiceID},
		{Key: "triggered_by", Value: "internal"}, {Key: "status", Value: attemptSucceeded}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recovery_attempts: find: %w", err)
	}
	return true, nil
}

// attemptSucceeded is the payment processor's status of a charge that went
// through (Stripe's "succeeded"), as the activities record it.
const attemptSucceeded = "succeeded"

// RecoveryAttempts lists an invoice's attempts in order.
func (s *Store) RecoveryAttempts(ctx context.Context, profileID, invoiceID string) ([]RecoveryAttempt, error) {
	return findAll[RecoveryAttempt](ctx, s.coll(RecoveryAttemptsCollection),
		bson.D{{Key: "profile_id", Value: profileID}, {Key: "invoice_id", Value: invoiceID}},
		options.Find().SetSort(bson.D{{Key: "attempt", Value: 1}}))
}

// MaxAdaptiveAttempts bounds how many of a profile's attempts adaptive
// timing's statistics read (the newest).
const MaxAdaptiveAttempts = 50000

// ProfileRetriesSince lists a profile's own retries (ours, not the billing
// platform's) recorded since since, newest first, at most MaxAdaptiveAttempts:
// adaptive timing's statistics are counted from them. A plain find on the
// profile_updated index, which FerretDB serves as MongoDB does.
func (s *Store) ProfileRetriesSince(ctx context.Context, profileID string, since time.Time) ([]RecoveryAttempt, error) {
	return findAll[RecoveryAttempt](ctx, s.coll(RecoveryAttemptsCollection),
		bson.D{{Key: "profile_id", Value: profileID}, {Key: "updated_at", Value: bson.D{{Key: "$gte", Value: since}}},
			{Key: "triggered_by", Value: string(recovery.Internal)}},
		options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}}).SetLimit(MaxAdaptiveAttempts).
			SetProjection(bson.D{{Key: "workflow_id", Value: 1}, {Key: "attempt", Value: 1}, {Key: "status", Value: 1},
				{Key: "error_code", Value: 1}, {Key: "decline_code", Value: 1}, {Key: "updated_at", Value: 1},
				{Key: "retried_decline_class", Value: 1}}))
}

// RecoveryEvent is one billing event received, whatever was done with it.
type RecoveryEvent struct {
	ID            bson.ObjectID `bson:"_id,omitempty" json:"id"`
	ProfileID     string        `bson:"profile_id" json:"profile_id"`
	ConnectorID   string        `bson:"connector_id" json:"connector_id"`
	Platform      string        `bson:"platform" json:"platform"`
	EventID       string        `bson:"event_id" json:"event_id"`
	EventType     string        `bson:"event_type" json:"event_type"`
	Kind          string        `bson:"kind" json:"kind"`
	InvoiceID     string        `bson:"invoice_id" json:"invoice_id"`
	TransactionID string        `bson:"transaction_id,omitempty" json:"transaction_id,omitempty"`
	Action        string        `bson:"action" json:"action"`
	Outcome       string        `bson:"outcome" json:"outcome"` // started_or_signalled, recorded_only, …
	WorkflowID    string        `bson:"workflow_id,omitempty" json:"workflow_id,omitempty"`
	ReceivedAt    time.Time     `bson:"received_at" json:"received_at"`
}

// RecordRecoveryEvent writes a billing event to the event log once: recording
// the same event (profile, connector, event id) again — an activity retried
// after its write landed — changes nothing and reports inserted = false.
func (s *Store) RecordRecoveryEvent(ctx context.Context, e RecoveryEvent) (inserted bool, err error) {
	filter := bson.D{{Key: "profile_id", Value: e.ProfileID}, {Key: "connector_id", Value: e.ConnectorID}, {Key: "event_id", Value: e.EventID}}
	res, err := s.coll(RecoveryEventsCollection).UpdateOne(ctx, filter, bson.D{{Key: "$setOnInsert", Value: e}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return false, fmt.Errorf("recovery_events: upsert: %w", err)
	}
	return res.UpsertedCount > 0, nil
}

// RecoveryEvents lists a profile's events, newest first (invoiceID optional).
func (s *Store) RecoveryEvents(ctx context.Context, profileID, invoiceID string) ([]RecoveryEvent, error) {
	f := bson.D{{Key: "profile_id", Value: profileID}}
	if invoiceID != "" {
		f = append(f, bson.E{Key: "invoice_id", Value: invoiceID})
	}
	return findAll[RecoveryEvent](ctx, s.coll(RecoveryEventsCollection), f,
		options.Find().SetSort(bson.D{{Key: "received_at", Value: -1}}).SetLimit(500))
}

// RecoveryWebhookDelivery is one POST of an outgoing recovery webhook. No secret, no signature.
type RecoveryWebhookDelivery struct {
	ID         bson.ObjectID `bson:"_id,omitempty" json:"id"`
	ProfileID  string        `bson:"profile_id" json:"profile_id"`
	InvoiceID  string        `bson:"invoice_id" json:"invoice_id"`
	EventID    string        `bson:"event_id" json:"event_id"`
	EventType  string        `bson:"event_type" json:"event_type"`
	WorkflowID string        `bson:"workflow_id" json:"workflow_id"`
	Attempt    int32         `bson:"attempt" json:"attempt"`
	StatusCode int           `bson:"status_code" json:"status_code"`
	LatencyMS  int64         `bson:"latency_ms" json:"latency_ms"`
	OK         bool          `bson:"ok" json:"ok"`
	Error      string        `bson:"error,omitempty" json:"error,omitempty"`
	CreatedAt  time.Time     `bson:"created_at" json:"created_at"`
}

// RecordRecoveryWebhookDelivery appends to the outgoing webhook log.
func (s *Store) RecordRecoveryWebhookDelivery(ctx context.Context, d RecoveryWebhookDelivery) error {
	if _, err := s.coll(RecoveryWebhookDeliveriesCollection).InsertOne(ctx, d); err != nil {
		return fmt.Errorf("recovery_webhook_deliveries: insert: %w", err)
	}
	return nil
}

// RecoveryWebhookDeliveries lists the attempts of an invoice's webhooks, oldest first.
func (s *Store) RecoveryWebhookDeliveries(ctx context.Context, profileID, invoiceID string) ([]RecoveryWebhookDelivery, error) {
	return findAll[RecoveryWebhookDelivery](ctx, s.coll(RecoveryWebhookDeliveriesCollection),
		bson.D{{Key: "profile_id", Value: profileID}, {Key: "invoice_id", Value: invoiceID}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}))
}

// recoveryIndexes are EnsureIndexes' additions for revenue recovery.
func recoveryIndexes() map[string][]mongo.IndexModel {
	m := map[string][]mongo.IndexModel{
		ConnectorAccountsCollection: {{Keys: bson.D{{Key: "profile_id", Value: 1}}, Options: options.Index().SetName("profile")}},
		RecoveryAttemptsCollection: {
			{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "payment_intent_id", Value: 1}}, Options: options.Index().SetName("profile_intent")},
			{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "invoice_id", Value: 1}}, Options: options.Index().SetName("profile_invoice")},
			{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "updated_at", Value: -1}}, Options: options.Index().SetName("profile_updated")},
		},
		RecoveryEventsCollection:            {{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "invoice_id", Value: 1}, {Key: "received_at", Value: -1}}, Options: options.Index().SetName("profile_invoice_received")}},
		RecoveryWebhookDeliveriesCollection: {{Keys: bson.D{{Key: "profile_id", Value: 1}, {Key: "invoice_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("profile_invoice_created")}},
	}
	for coll, models := range recoveryRestartIndexes() {
		m[coll] = append(m[coll], models...)
	}
	return m
}

// Profile loads a business profile by id, or ErrNotFound.
func (s *Store) Profile(ctx context.Context, id string) (BusinessProfile, error) {
	return s.Profiles().Get(ctx, id)
}

// ConnectorAccount loads a connector account by id, or ErrNotFound.
func (s *Store) ConnectorAccount(ctx context.Context, id string) (ConnectorAccount, error) {
	return s.ConnectorAccounts().Get(ctx, id)
}
