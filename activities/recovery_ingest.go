package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
)

// ErrTypeBillingEventUnusable: the platform's API refused the look-up of a
// thin event's objects (a 4xx), or what it returned cannot be used. A retry
// will not help; the billing webhook is answered 400 when it is still waiting.
const ErrTypeBillingEventUnusable = "BillingEventUnusable"

// RecoveryEventLog is what ingesting a billing event needs of MongoDB beyond
// the accounts: whether our attempt log knows its transaction and invoice
// (triggered_by and the only-once guard), and recovery_events.
type RecoveryEventLog interface {
	IsInternalAttempt(ctx context.Context, profileID, transactionID string) (bool, error)
	InvoiceRecovered(ctx context.Context, profileID, invoiceID string) (bool, error)
	RecordRecoveryEvent(ctx context.Context, e store.RecoveryEvent) (inserted bool, err error)
}

// CompleteRecoveryEventInput is a thin billing event (Lookup set) of a billing connector.
type CompleteRecoveryEventInput struct {
	ConnectorID string         `json:"connector_id"`
	Event       recovery.Event `json:"event"`
}

// CompleteRecoveryEvent fetches what a thin event leaves out from the
// platform's API: Stripe's failed charge, Recurly's transaction and invoice.
// The platform being down is retried; a 4xx or an unusable answer is final.
func (r *Recovery) CompleteRecoveryEvent(ctx context.Context, in CompleteRecoveryEventInput) (recovery.Event, error) {
	acct, err := r.Store.ConnectorAccount(ctx, in.ConnectorID)
	if err != nil {
		return recovery.Event{}, configError("billing connector "+in.ConnectorID, err)
	}
	ev, err := r.Connectors.CompleteEvent(ctx, billingAccount(acct), in.Event)
	if err != nil && (errors.Is(err, recovery.ErrMalformed) || !connector.IsRetryable(err)) {
		return recovery.Event{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBillingEventUnusable, nil)
	}
	return ev, err
}

func billingAccount(acct store.ConnectorAccount) connector.BillingAccount {
	return connector.BillingAccount{Platform: acct.ConnectorName, BaseURL: acct.BaseURL, APIKey: acct.AccountDetails.APIKey}
}

// ResolveRecoveryEventInput names what a billing event needs looked up in Mongo.
type ResolveRecoveryEventInput struct {
	ProfileID     string `json:"profile_id"`
	ConnectorID   string `json:"connector_id"`
	InvoiceID     string `json:"invoice_id"`
	TransactionID string `json:"transaction_id,omitempty"`
	// GatewayAccountID picks the payment connector through billing_account_reference.
	GatewayAccountID string `json:"gateway_account_id,omitempty"`
	// PaymentConnectorID, when set (the recovery API names it), is the payment connector whatever the map says.
	PaymentConnectorID string `json:"payment_connector_id,omitempty"`
}

// RecoveryRoute is what the profile, the billing connector and our attempt
// log say about a billing event: who made its attempt, and where and how a
// recovery of its invoice would run.
type RecoveryRoute struct {
	TriggeredBy recovery.TriggeredBy `json:"triggered_by"`
	MerchantID  string               `json:"merchant_id"`
	Platform    string               `json:"platform"`
	// Monitoring: the profile only watches, it never retries.
	Monitoring bool `json:"monitoring,omitempty"`
	// RetryThreshold is billing_connector_retry_threshold: the platform dunns that many times first.
	RetryThreshold int `json:"retry_threshold"`
	// PaymentConnectorID is "" when no payment connector is mapped to the event's gateway.
	PaymentConnectorID string          `json:"payment_connector_id,omitempty"`
	Policy             recovery.Policy `json:"policy"`
	PSyncDelays        []time.Duration `json:"psync_delays,omitempty"`
	// InvoiceRecovered: one of our retries already charged the invoice.
	InvoiceRecovered bool `json:"invoice_recovered,omitempty"`
}

// ResolveRecoveryEvent reads the profile and the billing connector, and
// whether the event's transaction and invoice are ours (triggered_by, and the
// only-once guard that outlives Temporal's retention).
func (r *Recovery) ResolveRecoveryEvent(ctx context.Context, in ResolveRecoveryEventInput) (RecoveryRoute, error) {
	prof, err := r.Store.Profile(ctx, in.ProfileID)
	if err != nil {
		return RecoveryRoute{}, configError("profile "+in.ProfileID, err)
	}
	acct, err := r.Store.ConnectorAccount(ctx, in.ConnectorID)
	if err != nil {
		return RecoveryRoute{}, configError("billing connector "+in.ConnectorID, err)
	}
	rm := acct.Recovery()
	route := RecoveryRoute{TriggeredBy: recovery.External, MerchantID: prof.MerchantID, Platform: acct.ConnectorName,
		Monitoring: prof.RetryAlgorithm == recovery.Monitoring, RetryThreshold: rm.BillingConnectorRetryThreshold,
		PaymentConnectorID: in.PaymentConnectorID, Policy: prof.Policy(rm.MaxRetryCount), PSyncDelays: prof.PSyncDelays()}
	if route.PaymentConnectorID == "" {
		route.PaymentConnectorID = rm.PaymentConnectorID(in.GatewayAccountID)
	}
	ours, err := r.Store.IsInternalAttempt(ctx, in.ProfileID, in.TransactionID)
	if err != nil {
		return RecoveryRoute{}, err
	}
	if ours {
		route.TriggeredBy = recovery.Internal
	}
	if in.InvoiceID != "" {
		if route.InvoiceRecovered, err = r.Store.InvoiceRecovered(ctx, in.ProfileID, in.InvoiceID); err != nil {
			return RecoveryRoute{}, err
		}
	}
	return route, nil
}

// RecoveryHandOffInput is a billing event for its invoice's RevenueRecovery.
type RecoveryHandOffInput struct {
	WorkflowID string          `json:"workflow_id"`
	TaskQueue  string          `json:"task_queue"`
	Action     recovery.Action `json:"action"`
	Event      recovery.Event  `json:"event"`
	// Start, when set, starts the recovery if none runs (Signal-With-Start);
	// without it the event only reaches a running recovery.
	Start *RevenueRecoveryStart `json:"start,omitempty"`
}

// RecoveryHandOffResult says whether a recovery took the event: false when
// none runs (signal only) or the invoice's recovery already closed (start).
type RecoveryHandOffResult struct {
	Delivered bool `json:"delivered"`
}

// HandOffRecoveryEvent signals the invoice's RevenueRecovery, starting it when
// asked (a failed payment). A recovery that already closed is never started
// again: REJECT_DUPLICATE keeps an invoice to one recovery. Delivering twice
// is harmless: the recovery ignores an event id it has seen.
func (r *Recovery) HandOffRecoveryEvent(ctx context.Context, in RecoveryHandOffInput) (RecoveryHandOffResult, error) {
	c := r.temporal(ctx)
	sig := RecoverySignal{Action: in.Action, Event: in.Event}
	if in.Start == nil {
		err := c.SignalWorkflow(ctx, in.WorkflowID, "", RecoveryEventSignalName, sig)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return RecoveryHandOffResult{}, nil
		}
		return RecoveryHandOffResult{Delivered: err == nil}, err
	}
	_, err := c.SignalWithStartWorkflow(ctx, in.WorkflowID, RecoveryEventSignalName, sig, client.StartWorkflowOptions{
		ID:                    in.WorkflowID,
		TaskQueue:             in.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			RecoveryInvoiceIDAttr.ValueSet(in.Start.InvoiceID),
			RecoveryStatusAttr.ValueSet(RecoveryAwaitingEvent),
			RecoveryRetryCountAttr.ValueSet(0)),
	}, RevenueRecoveryWorkflowType, *in.Start)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return RecoveryHandOffResult{}, nil
	}
	return RecoveryHandOffResult{Delivered: err == nil}, err
}

// RecordRecoveryEventInput is a billing event and what became of it.
type RecordRecoveryEventInput struct {
	ProfileID   string          `json:"profile_id"`
	ConnectorID string          `json:"connector_id"`
	Event       recovery.Event  `json:"event"`
	Action      recovery.Action `json:"action"`
	Outcome     string          `json:"outcome"`
	WorkflowID  string          `json:"workflow_id,omitempty"`
	ReceivedAt  time.Time       `json:"received_at"`
}

// RecordRecoveryEvent writes the event to recovery_events, once, and counts it.
func (r *Recovery) RecordRecoveryEvent(ctx context.Context, in RecordRecoveryEventInput) error {
	ev := in.Event
	inserted, err := r.Store.RecordRecoveryEvent(ctx, store.RecoveryEvent{ProfileID: in.ProfileID, ConnectorID: in.ConnectorID,
		Platform: ev.Platform, EventID: ev.EventID, EventType: ev.PlatformEventType, Kind: string(ev.Kind), InvoiceID: ev.InvoiceID,
		TransactionID: ev.TransactionID, Action: string(in.Action), Outcome: in.Outcome, WorkflowID: in.WorkflowID,
		ReceivedAt: in.ReceivedAt.UTC()})
	if err != nil {
		return err
	}
	if inserted && r.Metrics != nil {
		r.Metrics.RecoveryEvents.WithLabelValues(ev.Platform, string(in.Action), in.Outcome).Inc()
	}
	return nil
}
