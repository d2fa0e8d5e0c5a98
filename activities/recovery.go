package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"orderflow/delivery"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
)

// Error types of the recovery activities that retry policies treat as final.
const (
	// ErrTypeRecoveryConfig: a profile or connector account is missing or unusable.
	ErrTypeRecoveryConfig = "RecoveryConfigMissing"
	// ErrTypePaymentRejected: the payment processor refused the request itself (not a decline).
	ErrTypePaymentRejected = "PaymentRequestRejected"
	// ErrTypeRecoveryWebhookGaveUp: the merchant's endpoint failed every try of the schedule.
	ErrTypeRecoveryWebhookGaveUp = "RecoveryWebhookGaveUp"
	// ErrTypeRecordBackRejected: the billing platform refused the record-back.
	ErrTypeRecordBackRejected = "RecordBackRejected"
)

// RecoveryStore is everything the recovery activities need of MongoDB, one
// small interface per activity file; *store.Store implements it.
type RecoveryStore interface {
	RecoveryAccounts
	RecoveryPaymentLog
	RecoveryEventLog
	RecoveryRestarts
}

// RecoveryAccounts are the business profiles and connector accounts every
// recovery activity reads its configuration from.
type RecoveryAccounts interface {
	Profile(ctx context.Context, id string) (store.BusinessProfile, error)
	ConnectorAccount(ctx context.Context, id string) (store.ConnectorAccount, error)
}

// RecoveryPaymentLog logs what charges and merchant webhooks did
// (recovery_attempts, recovery_webhook_deliveries).
type RecoveryPaymentLog interface {
	RecordRecoveryAttempt(ctx context.Context, a store.RecoveryAttempt) error
	RecordRecoveryWebhookDelivery(ctx context.Context, d store.RecoveryWebhookDelivery) error
}

// DefaultRecoveryWebhookRetryDelays is Hyperswitch's outgoing webhook schedule:
// +1 m, 5 m ×2, 10 m ×5, 1 h ×5, 6 h ×3 — 16 retries over about a day.
var DefaultRecoveryWebhookRetryDelays = func() []time.Duration {
	var d []time.Duration
	for _, f := range []struct {
		every time.Duration
		n     int
	}{{time.Minute, 1}, {5 * time.Minute, 2}, {10 * time.Minute, 5}, {time.Hour, 5}, {6 * time.Hour, 3}} {
		for range f.n {
			d = append(d, f.every)
		}
	}
	return d
}()

// MerchantWebhookRetry is the merchant webhook's default schedule,
// DefaultRecoveryWebhookRetryDelays; its retry policy is derived from it.
var MerchantWebhookRetry = delivery.Delays(DefaultRecoveryWebhookRetryDelays...)

// Recovery holds the dependencies of revenue recovery's activities, apart
// from the RTO activities' struct.
type Recovery struct {
	Store      RecoveryStore
	Connectors *connector.Client
	// WebhookClient sends merchant webhooks; its timeout bounds one POST.
	WebhookClient *delivery.Sender
	// Records keeps one record per merchant webhook (activities/records.go); nil keeps none.
	Records *DeliveryRecords
	// Endpoints is every destination's circuit breaker (activities/endpoints.go); nil has none.
	Endpoints *Endpoints
	// WebhookRetryDelays is the outgoing webhook's own retry schedule.
	WebhookRetryDelays []time.Duration
	Metrics            *observability.Metrics
	Now                func() time.Time
	// Temporal hands billing events to RevenueRecovery; nil uses the worker's own client.
	Temporal client.Client
	// CardUpdateResumeWithin is how long after a recovery ended resumable a
	// card update still restarts it (0: DefaultCardUpdateResumeWithin).
	CardUpdateResumeWithin time.Duration
	// Logger is for restarts asked outside an activity (the HTTP API, the CLI); nil logs nothing.
	Logger ErrorLogger
	// NetworkRules are the card networks' retry limits, counted in Cards; nil Cards checks none.
	NetworkRules recovery.NetworkRules
	Cards        CardCounters
	// PastRetries are the profiles' recorded retries adaptive timing counts;
	// nil counts none (every adaptive retry keeps the cascading time).
	PastRetries PastRetries
	adaptive    adaptiveStats
}

func (r *Recovery) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// temporal is the client restarts and hand-offs use: r.Temporal, else the
// worker's own (inside an activity).
func (r *Recovery) temporal(ctx context.Context) client.Client {
	if r.Temporal != nil {
		return r.Temporal
	}
	return activity.GetClient(ctx)
}

func configError(what string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(what+" not found", ErrTypeRecoveryConfig, nil)
	}
	return err
}

func (r *Recovery) stripeAccount(ctx context.Context, id string) (connector.StripeAccount, error) {
	acct, err := r.Store.ConnectorAccount(ctx, id)
	if err != nil {
		return connector.StripeAccount{}, configError("payment connector "+id, err)
	}
	if acct.ConnectorType != store.PaymentProcessor || acct.ConnectorName != recovery.Stripe || acct.Disabled {
		return connector.StripeAccount{}, temporal.NewNonRetryableApplicationError(
			"connector "+id+" is not an enabled stripe payment processor", ErrTypeRecoveryConfig, nil)
	}
	return connector.StripeAccount{BaseURL: acct.BaseURL, APIKey: acct.AccountDetails.APIKey}, nil
}

// Payment statuses a charge or a sync reports (the payment processor's, reduced to three).
const (
	PaymentSucceeded  = connector.StatusSucceeded
	PaymentProcessing = connector.StatusProcessing
	PaymentFailed     = connector.StatusFailed
)

// PaymentResult is a charge's or a sync's outcome as the workflow sees it. A
// decline is a result, not an error. Its JSON is the payment connector's, so
// recorded histories keep replaying.
type PaymentResult struct {
	PaymentIntentID string `json:"payment_intent_id"`
	Status          string `json:"status"` // PaymentSucceeded, PaymentProcessing or PaymentFailed
	StripeStatus    string `json:"stripe_status"`
	ErrorCode       string `json:"error_code,omitempty"`
	DeclineCode     string `json:"decline_code,omitempty"`
	AdviceCode      string `json:"advice_code,omitempty"`
	ErrorMessage    string `json:"error_message,omitempty"`
	// The issuer's raw response code and Mastercard's Merchant Advice Code.
	NetworkDeclineCode string `json:"network_decline_code,omitempty"`
	NetworkAdviceCode  string `json:"network_advice_code,omitempty"`
	// CardBrand is the card's brand when the card-network rules were checked.
	CardBrand string `json:"card_brand,omitempty"`
	// NetworkRule names the card-network rule that blocked the charge (Status
	// PaymentBlocked) or, on a decline, that forbids any further charge on the card.
	NetworkRule string `json:"network_rule,omitempty"`
	// BlockedUntil is when a blocked charge may be made; nil with PaymentBlocked means never.
	BlockedUntil *time.Time `json:"blocked_until,omitempty"`
}

func paymentResultOf(r connector.PaymentResult) PaymentResult {
	return PaymentResult{PaymentIntentID: r.PaymentIntentID, Status: r.Status, StripeStatus: r.StripeStatus,
		ErrorCode: r.ErrorCode, DeclineCode: r.DeclineCode, AdviceCode: r.AdviceCode, ErrorMessage: r.ErrorMessage,
		NetworkDeclineCode: r.NetworkDeclineCode, NetworkAdviceCode: r.NetworkAdviceCode}
}

// ChargeInput is one retry of an invoice, its idempotency key derived in the workflow.
type ChargeInput struct {
	WorkflowID         string `json:"workflow_id"`
	ProfileID          string `json:"profile_id"`
	InvoiceID          string `json:"invoice_id"`
	PaymentConnectorID string `json:"payment_connector_id"`
	Attempt            int    `json:"attempt"`
	IdempotencyKey     string `json:"idempotency_key"`
	Amount             int64  `json:"amount"`
	Currency           string `json:"currency"`
	CustomerID         string `json:"customer_id"`
	PaymentMethodToken string `json:"payment_method_token"`
	// PaymentIntentID is set for a sync (PSYNC) of an attempt already made.
	PaymentIntentID string `json:"payment_intent_id,omitempty"`
	// NetworkRules asks for the card networks' rules to be checked before the
	// charge, counted across the invoices of MerchantID.
	NetworkRules bool   `json:"network_rules,omitempty"`
	MerchantID   string `json:"merchant_id,omitempty"`
	// RetriedDeclineClass is the class of the decline this retry follows,
	// recorded with the attempt for adaptive timing's statistics.
	RetriedDeclineClass string `json:"retried_decline_class,omitempty"`
}

// ChargeInvoice creates and confirms a PaymentIntent off-session. The
// Idempotency-Key makes a retry of this activity (or a worker dying mid-call)
// a replay at the processor, never a second charge. A decline is a result;
// transport errors and 5xx are retried; other refusals are final. When the
// workflow asks, the card networks' rules are checked first: a charge they
// refuse is not sent and answers PaymentBlocked.
func (r *Recovery) ChargeInvoice(ctx context.Context, in ChargeInput) (PaymentResult, error) {
	acct, err := r.stripeAccount(ctx, in.PaymentConnectorID)
	if err != nil {
		return PaymentResult{}, err
	}
	gate, err := r.admitCharge(ctx, acct, in)
	if err != nil {
		return PaymentResult{}, err
	}
	if blocked, ok := gate.blockedResult(); ok {
		r.count(PaymentBlocked)
		cardBlockedLog(ctx, in, blocked)
		return blocked, nil
	}
	res, err := r.Connectors.CreateAndConfirm(ctx, acct, connector.PaymentRequest{
		Amount: in.Amount, Currency: in.Currency, Customer: in.CustomerID, PaymentMethod: in.PaymentMethodToken,
		IdempotencyKey: in.IdempotencyKey,
		Metadata:       map[string]string{"invoice_id": in.InvoiceID, "attempt": fmt.Sprint(in.Attempt), "source": "orderflow_revenue_recovery"},
	})
	if err != nil {
		r.count("error")
		return PaymentResult{}, paymentError(err)
	}
	rule, err := r.settleCharge(ctx, gate, in, res)
	if err != nil { // retried: the charge replays under its key and is settled again
		return PaymentResult{}, err
	}
	r.count(res.Status)
	r.recordAttempt(ctx, in, res)
	out := paymentResultOf(res)
	gate.annotate(&out, rule)
	return out, nil
}

// SyncPayment reads a processing PaymentIntent's status (Hyperswitch's PSYNC).
func (r *Recovery) SyncPayment(ctx context.Context, in ChargeInput) (PaymentResult, error) {
	acct, err := r.stripeAccount(ctx, in.PaymentConnectorID)
	if err != nil {
		return PaymentResult{}, err
	}
	res, err := r.Connectors.Retrieve(ctx, acct, in.PaymentIntentID)
	if err != nil {
		return PaymentResult{}, paymentError(err)
	}
	r.recordAttempt(ctx, in, res)
	return paymentResultOf(res), nil
}

func paymentError(err error) error {
	if connector.IsRetryable(err) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePaymentRejected, nil)
}

func (r *Recovery) count(result string) {
	if r.Metrics != nil {
		r.Metrics.RecoveryAttempts.WithLabelValues(result).Inc()
	}
}

// recordAttempt logs the attempt; a failed write is logged, not returned: the
// charge happened and must not be repeated only to log it.
func (r *Recovery) recordAttempt(ctx context.Context, in ChargeInput, res connector.PaymentResult) {
	err := r.Store.RecordRecoveryAttempt(ctx, store.RecoveryAttempt{
		IdempotencyKey: in.IdempotencyKey, WorkflowID: in.WorkflowID, ProfileID: in.ProfileID, InvoiceID: in.InvoiceID,
		Attempt: in.Attempt, TriggeredBy: string(recovery.Internal), PaymentIntentID: res.PaymentIntentID, Status: res.Status,
		ErrorCode: res.ErrorCode, DeclineCode: res.DeclineCode, Amount: in.Amount, Currency: in.Currency, UpdatedAt: r.now().UTC(),
		RetriedDeclineClass: in.RetriedDeclineClass,
	})
	if err != nil {
		activity.GetLogger(ctx).Error("recording a recovery attempt failed", "invoice_id", in.InvoiceID, "attempt", in.Attempt, "error", err)
	}
}

// RecordBackInput tells the billing platform an invoice was paid by our retry.
type RecordBackInput struct {
	BillingConnectorID string `json:"billing_connector_id"`
	InvoiceID          string `json:"invoice_id"`
	Amount             int64  `json:"amount"`
	Currency           string `json:"currency"`
	PaymentIntentID    string `json:"payment_intent_id"`
}

// RecordBack records our successful payment at the billing platform.
func (r *Recovery) RecordBack(ctx context.Context, in RecordBackInput) error {
	acct, err := r.Store.ConnectorAccount(ctx, in.BillingConnectorID)
	if err != nil {
		return configError("billing connector "+in.BillingConnectorID, err)
	}
	err = r.Connectors.RecordBack(ctx, billingAccount(acct), recovery.PaidInvoice{InvoiceID: in.InvoiceID, Amount: in.Amount,
		Currency: in.Currency, PaymentIntentID: in.PaymentIntentID})
	if err != nil && !connector.IsRetryable(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRecordBackRejected, nil)
	}
	return err
}

// RecoveryWebhookInput is one outgoing recovery webhook: the exact body bytes,
// built once by the workflow, sent unchanged on every retry with the same event_id.
type RecoveryWebhookInput struct {
	ProfileID  string `json:"profile_id"`
	InvoiceID  string `json:"invoice_id"`
	WorkflowID string `json:"workflow_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	Body       []byte `json:"body"`
	// Parking is set by a workflow that parks the delivery behind the
	// profile's unhealthy endpoint (the endpoint breaker).
	Parking
}

// RecoveryWebhookResult is the merchant's 2xx, or, for a parkable delivery,
// that it parked.
type RecoveryWebhookResult struct {
	StatusCode int `json:"status_code"`
	Attempts   int `json:"attempts"`
	ParkOutcome
}

// DeliverRecoveryWebhook POSTs the body to the profile's webhook URL through
// the shared sender, signed with its payment_response_hash_key:
// X-Webhook-Signature-512 (hex HMAC-SHA512 of the body) and Standard Webhooks
// headers (webhook-id = event_id). Every attempt is logged to
// recovery_webhook_deliveries, and the delivery's record in delivery_records
// (keyed by the event id, holding the body for a re-drive) follows its
// status. Any non-2xx is retried after the next delay of the profile's
// schedule (merchantSchedule, through NextRetryDelay); past the last,
// it gives up with ErrTypeRecoveryWebhookGaveUp. Every answer feeds the
// profile's circuit breaker; a parkable delivery asks it first and parks
// (returns ParkOutcome) while the endpoint is open, disabled or draining,
// its schedule going on from AttemptsBefore when it resumes.
func (r *Recovery) DeliverRecoveryWebhook(ctx context.Context, in RecoveryWebhookInput) (RecoveryWebhookResult, error) {
	rec := merchantRecord(in)
	attempt := int(activity.GetInfo(ctx).Attempt)
	var probe bool
	if in.Parkable && r.Endpoints != nil {
		// Asked first, so a delivery that parks again stays parked in its record.
		v, err := r.Endpoints.admit(ctx, store.KindMerchantWebhook, in.ProfileID, in.Released)
		if err != nil {
			return RecoveryWebhookResult{}, err
		}
		if v.park {
			return RecoveryWebhookResult{ParkOutcome: r.Endpoints.park(ctx, r.Records, rec, v, attempt-1, nil)}, nil
		}
		probe = v.probe
	}
	if err := r.Records.start(ctx, rec, in.Resumed); err != nil {
		return RecoveryWebhookResult{}, err
	}
	var attempts []delivery.Attempt
	res, err := r.deliverMerchant(ctx, in, attempt+in.AttemptsBefore, func(ctx context.Context, ats []delivery.Attempt) error {
		attempts = ats
		return r.recordWebhookAttempts(ctx, in, ats)
	})
	if r.Endpoints != nil && len(attempts) > 0 {
		// A delivery that is not parkable (a run started before parking)
		// still feeds the breaker, and keeps its own list of delays.
		v := r.Endpoints.observe(ctx, store.KindMerchantWebhook, in.ProfileID, attempts, probe)
		if in.Parkable && v.park {
			return RecoveryWebhookResult{ParkOutcome: r.Endpoints.park(ctx, r.Records, rec, v, attemptsSpent(attempt, probe), attempts)}, nil
		}
	}
	r.Records.finish(ctx, rec, recordStatus(ctx, err, []string{ErrTypeRecoveryConfig}, ErrTypeRecoveryWebhookGaveUp), attempts, "")
	if err != nil {
		return RecoveryWebhookResult{}, err
	}
	return RecoveryWebhookResult{StatusCode: res.StatusCode, Attempts: attempt + in.AttemptsBefore}, nil
}

// merchantRecord is the delivery record of one (invoice, event type)
// webhook: the exact body, sent unchanged on a re-drive.
func merchantRecord(in RecoveryWebhookInput) store.DeliveryRecord {
	return store.DeliveryRecord{
		ID: in.EventID, Kind: store.KindMerchantWebhook, DestinationID: in.ProfileID, Event: in.EventType,
		InvoiceID: in.InvoiceID, WorkflowID: in.WorkflowID, EventID: in.EventID, Body: in.Body,
	}
}

// merchantMessage builds a merchant webhook's POST from the profile's current
// URL, signing key and retry schedule.
func (r *Recovery) merchantMessage(ctx context.Context, in RecoveryWebhookInput, attempt int) (delivery.Message, error) {
	prof, err := r.Store.Profile(ctx, in.ProfileID)
	if err != nil {
		return delivery.Message{}, configError("profile "+in.ProfileID, err)
	}
	retry := r.merchantSchedule(prof)
	msg := delivery.Message{URL: prof.WebhookURL, Event: in.EventType, ID: in.EventID, Body: in.Body, Attempt: attempt,
		Retry: &retry, DestinationID: in.ProfileID}
	if key := prof.PaymentResponseHashKey; key != "" {
		msg.Signers = []delivery.Signer{delivery.HMACSHA512{Key: key}, delivery.StandardWebhooks{Secret: key}}
	}
	return msg, nil
}

// deliverMerchant builds and sends one merchant webhook on the merchant channel.
func (r *Recovery) deliverMerchant(ctx context.Context, in RecoveryWebhookInput, attempt int, log delivery.LogFunc) (delivery.Result, error) {
	msg, err := r.merchantMessage(ctx, in, attempt)
	if err != nil {
		return delivery.Result{}, err
	}
	msg.Log = log
	return r.webhookClient().Deliver(ctx, r.merchantChannel(), msg)
}

func (r *Recovery) webhookClient() *delivery.Sender {
	if r.WebhookClient == nil {
		return NewRecoveryWebhookClient(30 * time.Second)
	}
	return r.WebhookClient
}

// MerchantWebhookMaxTotalDelay is the most a profile's retry delays may add
// up to: the delivery activity's ScheduleToClose (workflows/options.go) ends
// every delivery whatever its schedule says.
const MerchantWebhookMaxTotalDelay = 72 * time.Hour

// merchantSchedule is the list of delays a profile's merchant webhooks
// follow: the profile's own, else the worker's WebhookRetryDelays, else
// Hyperswitch's default.
func (r *Recovery) merchantSchedule(p store.BusinessProfile) delivery.Schedule {
	if d := p.WebhookRetryDelays(); len(d) > 0 {
		return delivery.Delays(d...)
	}
	if r.WebhookRetryDelays != nil {
		return delivery.Delays(r.WebhookRetryDelays...)
	}
	return MerchantWebhookRetry
}

// merchantChannel is the merchant as a receiver: every non-2xx is retried on
// the list of delays, as Hyperswitch retries its outgoing webhooks. Each
// message carries its profile's own list.
func (r *Recovery) merchantChannel() delivery.Channel {
	ch := delivery.Channel{
		Name:              "merchant webhook",
		Kind:              store.KindMerchantWebhook,
		Retry:             MerchantWebhookRetry,
		RetryEveryFailure: true,
		Errors:            delivery.ErrorTypes{Retryable: errTypeRecoveryWebhookRetryable, GaveUp: ErrTypeRecoveryWebhookGaveUp},
	}
	if r.Metrics != nil {
		ch.Metrics = delivery.Metrics{Outcomes: r.Metrics.RecoveryWebhooks, Latency: r.Metrics.RecoveryWebhookLatency,
			Destinations: r.Metrics.DestinationDeliveries, DestinationLatency: r.Metrics.DestinationLatency}
	}
	return ch
}

// errTypeRecoveryWebhookRetryable: the merchant did not answer 2xx and the schedule has another try.
const errTypeRecoveryWebhookRetryable = "RecoveryWebhookRetryable"

// recordWebhookAttempts writes the attempts as recovery_webhook_deliveries stores them.
func (r *Recovery) recordWebhookAttempts(ctx context.Context, in RecoveryWebhookInput, attempts []delivery.Attempt) error {
	var errs []error
	for _, at := range attempts {
		errs = append(errs, r.Store.RecordRecoveryWebhookDelivery(ctx, store.RecoveryWebhookDelivery{
			ProfileID: in.ProfileID, InvoiceID: in.InvoiceID, EventID: in.EventID, EventType: in.EventType, WorkflowID: in.WorkflowID,
			Attempt: int32(at.Try), StatusCode: at.StatusCode, LatencyMS: at.Latency.Milliseconds(), OK: at.OK(), Error: at.Error,
			CreatedAt: at.At,
		}))
	}
	return errors.Join(errs...)
}

// NewRecoveryWebhookClient makes the merchant webhooks' sender: one POST is
// bounded by timeout, redirects are not followed (a signed body goes only where configured).
func NewRecoveryWebhookClient(timeout time.Duration) *delivery.Sender {
	return delivery.NewSender(delivery.Options{Timeout: timeout})
}
