package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/recovery"
)

// Outcomes of a billing event, as recorded in recovery_events and answered to the platform.
const (
	OutcomeSignalled        = "signalled"        // handed to the invoice's RevenueRecovery (started if needed)
	OutcomeRecorded         = "recorded"         // NoAction / InvalidAction: nothing to do
	OutcomeMonitoring       = "monitoring"       // the profile only monitors
	OutcomeBelowThreshold   = "below_threshold"  // the platform is still dunning
	OutcomeNotRunning       = "no_recovery"      // success / cancel / pending for an invoice we are not recovering
	OutcomeAlreadyFinished  = "already_finished" // the invoice's recovery is over
	OutcomeNoPaymentAccount = "no_payment_connector"
	OutcomeNoPaymentMethod  = "no_payment_method" // nothing to retry off-session with
)

// RecoveryIngestInput is one verified, parsed billing event of a billing connector.
type RecoveryIngestInput struct {
	ProfileID   string         `json:"profile_id"`
	ConnectorID string         `json:"connector_id"`
	Event       recovery.Event `json:"event"`
	// Action is set by the recovery API, whose caller names it; a webhook's
	// action is decided here from the event and its attempt's triggered_by.
	Action recovery.Action `json:"action,omitempty"`
	// PaymentConnectorID is the recovery API's payment connector; a webhook's
	// comes from the billing connector's billing_account_reference.
	PaymentConnectorID string `json:"payment_connector_id,omitempty"`
	// FromAPI: an explicit instruction, which the platform-dunning threshold does not hold back.
	FromAPI    bool      `json:"from_api,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// RecoveryIngestResult is what became of the event: the billing webhook's answer.
type RecoveryIngestResult struct {
	Action     recovery.Action `json:"action"`
	Outcome    string          `json:"outcome"`
	WorkflowID string          `json:"workflow_id"` // the RevenueRecovery's, when signalled
	InvoiceID  string          `json:"invoice_id"`
}

// RecoveryIngest turns a billing event into recovery work. The ingress starts
// it before answering 200, under an ID derived from the event, so a redelivery
// is a duplicate and an acknowledged event is never lost: the platform's API,
// Mongo or Temporal being down delays it, its steps retry. It completes a thin
// event from the platform's API, asks Mongo who made the attempt
// (triggered_by) and where a recovery would run, decides the RecoveryAction
// (Hyperswitch's table) and its outcome, hands the event to the invoice's
// RevenueRecovery, and records it in recovery_events. Every step is a short,
// idempotent local activity: the ingress waits for the result to answer.
func RecoveryIngest(ctx workflow.Context, in RecoveryIngestInput) (RecoveryIngestResult, error) {
	logger := workflow.GetLogger(ctx)
	ev := in.Event
	if ev.Lookup != nil {
		var completed recovery.Event
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, billingLookup), ra.CompleteRecoveryEvent,
			activities.CompleteRecoveryEventInput{ConnectorID: in.ConnectorID, Event: ev}).Get(ctx, &completed)
		if err != nil {
			return RecoveryIngestResult{}, err
		}
		ev = completed
	}
	var route activities.RecoveryRoute
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, recoveryLookup), ra.ResolveRecoveryEvent,
		activities.ResolveRecoveryEventInput{ProfileID: in.ProfileID, ConnectorID: in.ConnectorID, InvoiceID: ev.InvoiceID,
			TransactionID: ev.TransactionID, GatewayAccountID: ev.GatewayAccountID, PaymentConnectorID: in.PaymentConnectorID}).Get(ctx, &route)
	if err != nil {
		return RecoveryIngestResult{}, err
	}
	action := in.Action
	if action == "" {
		action = recovery.DecideAction(ev.Kind, route.TriggeredBy)
	}
	res := RecoveryIngestResult{Action: action, InvoiceID: ev.InvoiceID}
	wfID := RevenueRecoveryWorkflowID(in.ProfileID, ev.InvoiceID)
	outcome, handOff := decideOutcome(in, ev, action, route)
	if outcome == OutcomeNoPaymentAccount {
		logger.Warn("no payment connector for this billing gateway: check billing_account_reference",
			"connector_id", in.ConnectorID, "gateway_account_id", ev.GatewayAccountID)
	}
	if handOff != nil {
		handOff.WorkflowID, handOff.TaskQueue, handOff.Event = wfID, workflow.GetInfo(ctx).TaskQueueName, ev
		var delivered activities.RecoveryHandOffResult
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, recoveryHandOff), ra.HandOffRecoveryEvent,
			*handOff).Get(ctx, &delivered)
		if err != nil {
			return RecoveryIngestResult{}, err
		}
		outcome = handOffOutcome(handOff, delivered.Delivered)
	}
	res.Outcome = outcome
	if outcome == OutcomeSignalled {
		res.WorkflowID = wfID
	}
	if action == recovery.RetryWithUpdatedPaymentMethod && workflow.GetVersion(ctx, changeCardUpdateIngest, workflow.DefaultVersion, 1) >= 1 {
		if outcome, res.WorkflowID, err = handOffCardUpdate(ctx, in, ev); err != nil {
			return RecoveryIngestResult{}, err
		}
		res.Outcome = outcome
	}
	err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, recoveryLookup), ra.RecordRecoveryEvent,
		activities.RecordRecoveryEventInput{ProfileID: in.ProfileID, ConnectorID: in.ConnectorID, Event: ev, Action: action,
			Outcome: outcome, WorkflowID: res.WorkflowID, ReceivedAt: in.ReceivedAt}).Get(ctx, nil)
	if err != nil {
		return res, err
	}
	logger.Info("billing event handled", "invoice_id", ev.InvoiceID, "platform", ev.Platform,
		"event_type", ev.PlatformEventType, "action", action, "outcome", outcome)
	return res, nil
}

// changeCardUpdateIngest versions the card-update hand-off: events of that
// kind were recorded as invalid_action before it.
const changeCardUpdateIngest = "card-update-ingest"

// handOffCardUpdate reaches every recovery of the event's customer: open ones
// retry at once, recently closed resumable ones restart. A customer with none
// is recorded as no_recovery: nothing starts, nothing is charged. workflowID
// is the first recovery reached (all of them are in the worker's log).
func handOffCardUpdate(ctx workflow.Context, in RecoveryIngestInput, ev recovery.Event) (outcome, workflowID string, err error) {
	var reached activities.HandOffPaymentMethodUpdateResult
	err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, recoveryHandOff), ra.HandOffPaymentMethodUpdate,
		activities.HandOffPaymentMethodUpdateInput{ProfileID: in.ProfileID, TaskQueue: workflow.GetInfo(ctx).TaskQueueName,
			Update: activities.PaymentMethodUpdate{EventID: ev.EventID, Platform: ev.Platform, EventType: ev.PlatformEventType,
				ConnectorCustomerID: ev.ConnectorCustomerID, PaymentMethodToken: ev.PaymentMethodToken,
				CardNetwork: ev.CardNetwork, CardFunding: ev.CardFunding}}).Get(ctx, &reached)
	if err != nil {
		return "", "", err
	}
	all := append(append([]string{}, reached.Signalled...), reached.Restarted...)
	if len(all) == 0 {
		return OutcomeNotRunning, "", nil
	}
	workflow.GetLogger(ctx).Info("card update handed to the customer's recoveries",
		"signalled", reached.Signalled, "restarted", reached.Restarted)
	return OutcomeSignalled, all[0], nil
}

// decideOutcome applies the action: a failed payment starts (or reaches) the
// invoice's recovery unless the profile only monitors, the platform is still
// dunning, there is nothing to charge off-session or nowhere to charge it, or
// our own retry already paid the invoice; success, cancel and pending reach a
// running recovery only; the rest is recorded. handOff is nil when the event
// goes no further.
func decideOutcome(in RecoveryIngestInput, ev recovery.Event, action recovery.Action,
	route activities.RecoveryRoute) (outcome string, handOff *activities.RecoveryHandOffInput) {
	switch action {
	case recovery.ScheduleFailedPayment:
		switch {
		case route.Monitoring:
			return OutcomeMonitoring, nil
		case !in.FromAPI && ev.PlatformAttemptCount <= route.RetryThreshold:
			return OutcomeBelowThreshold, nil
		case ev.PaymentMethodToken == "" || ev.ConnectorCustomerID == "":
			return OutcomeNoPaymentMethod, nil
		case route.PaymentConnectorID == "":
			return OutcomeNoPaymentAccount, nil
		case route.InvoiceRecovered:
			return OutcomeAlreadyFinished, nil
		}
		return "", &activities.RecoveryHandOffInput{Action: action, Start: &activities.RevenueRecoveryStart{
			ProfileID: in.ProfileID, MerchantID: route.MerchantID, InvoiceID: ev.InvoiceID, BillingConnectorID: in.ConnectorID,
			PaymentConnectorID: route.PaymentConnectorID, Policy: route.Policy, PSyncDelays: route.PSyncDelays}}
	case recovery.SuccessPaymentExternal, recovery.CancelInvoice, recovery.PendingPayment:
		return "", &activities.RecoveryHandOffInput{Action: action}
	}
	return OutcomeRecorded, nil
}

func handOffOutcome(h *activities.RecoveryHandOffInput, delivered bool) string {
	switch {
	case delivered:
		return OutcomeSignalled
	case h.Start != nil:
		return OutcomeAlreadyFinished
	}
	return OutcomeNotRunning
}

// RecoveryIngest's local activity options. The ingress waits a few seconds
// for the result; past that the steps keep retrying behind Temporal.
var (
	// billingLookup calls the platform's API; a 4xx or an unusable answer is final.
	billingLookup = workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeBillingEventUnusable, activities.ErrTypeRecoveryConfig},
		},
	}
	// recoveryLookup reads and writes Mongo: a store outage delays the event, never drops it.
	recoveryLookup = workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: localMongoRetryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeRecoveryConfig},
		},
	}
	// recoveryHandOff signals (or starts) the invoice's RevenueRecovery.
	recoveryHandOff = workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: localMongoRetryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}
)
