package activities

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"orderflow/store"
)

// RecoveryRestarts is what restarts and card updates need of MongoDB: the
// recoveries collection, the paid-elsewhere guard, the attempts of earlier
// generations and the recovery_restarts audit.
type RecoveryRestarts interface {
	SaveRecovery(ctx context.Context, r store.Recovery) error
	RecoveryByWorkflowID(ctx context.Context, workflowID string) (store.Recovery, error)
	CustomerRecoveries(ctx context.Context, profileID, customerID string) ([]store.Recovery, error)
	ClaimRecoveryGeneration(ctx context.Context, workflowID string, from int, now time.Time) (bool, error)
	InvoiceSettledElsewhere(ctx context.Context, profileID, invoiceID string) (bool, error)
	MaxRecoveryAttempt(ctx context.Context, profileID, invoiceID string) (int, error)
	RecordRecoveryRestart(ctx context.Context, a store.RecoveryRestart) error
}

// DefaultCardUpdateResumeWithin is how long after a recovery ended
// hard_declined, exhausted or network_limited a card update still resumes it
// when the configuration sets nothing.
const DefaultCardUpdateResumeWithin = 30 * 24 * time.Hour

// PaymentMethodUpdate is a customer's card update: the payload of the
// payment_method_updated signal. PaymentMethodToken is empty when the
// platform did not say which method is new: the retry uses the stored one.
type PaymentMethodUpdate struct {
	EventID             string `json:"event_id"`
	Platform            string `json:"platform"`
	EventType           string `json:"event_type"`
	ConnectorCustomerID string `json:"connector_customer_id"`
	PaymentMethodToken  string `json:"payment_method_token,omitempty"`
	CardNetwork         string `json:"card_network,omitempty"`
	CardFunding         string `json:"card_funding,omitempty"`
}

// RecoveryRestart is workflows.RevenueRecoveryInput's restart: what the first
// run of a new generation starts from. PriorRetries are our retries of the
// earlier generations (read from recovery_attempts), so attempt numbers and
// the retry count carry on across generations.
type RecoveryRestart struct {
	PriorRetries        int    `json:"prior_retries"`
	RetryNow            bool   `json:"retry_now,omitempty"` // a card update: retry at once, not on the schedule
	Reason              string `json:"reason,omitempty"`
	Amount              int64  `json:"amount"`
	Currency            string `json:"currency"`
	ConnectorCustomerID string `json:"connector_customer_id"`
	PaymentMethodToken  string `json:"payment_method_token"`
	CardNetwork         string `json:"card_network,omitempty"`
	CardFunding         string `json:"card_funding,omitempty"`
}

// RecoveryStateRecord is where a RevenueRecovery stands, as it records it in
// the recoveries collection.
type RecoveryStateRecord struct {
	WorkflowID          string    `json:"workflow_id"`
	ProfileID           string    `json:"profile_id"`
	InvoiceID           string    `json:"invoice_id"`
	MerchantID          string    `json:"merchant_id"`
	BillingConnectorID  string    `json:"billing_connector_id"`
	PaymentConnectorID  string    `json:"payment_connector_id"`
	ConnectorCustomerID string    `json:"connector_customer_id"`
	PaymentMethodToken  string    `json:"payment_method_token"`
	CardNetwork         string    `json:"card_network,omitempty"`
	Amount              int64     `json:"amount"`
	Currency            string    `json:"currency"`
	Status              string    `json:"status"`
	Open                bool      `json:"open"`
	Generation          int       `json:"generation"`
	RetryCount          int       `json:"retry_count"`
	StartedAt           time.Time `json:"started_at"`
}

// RecordRecoveryState writes where a recovery stands (its end time once it is
// closed). A later generation's document is never overwritten by an earlier one.
func (r *Recovery) RecordRecoveryState(ctx context.Context, in RecoveryStateRecord) error {
	now := r.now().UTC()
	rec := store.Recovery{WorkflowID: in.WorkflowID, ProfileID: in.ProfileID, InvoiceID: in.InvoiceID, MerchantID: in.MerchantID,
		BillingConnectorID: in.BillingConnectorID, PaymentConnectorID: in.PaymentConnectorID, ConnectorCustomerID: in.ConnectorCustomerID,
		PaymentMethodToken: in.PaymentMethodToken, CardNetwork: in.CardNetwork, Amount: in.Amount, Currency: in.Currency,
		Status: in.Status, Open: in.Open, Generation: in.Generation, RetryCount: in.RetryCount, StartedAt: in.StartedAt.UTC(), UpdatedAt: now}
	if !in.Open {
		rec.EndedAt = &now
	}
	return r.Store.SaveRecovery(ctx, rec)
}

// Who asks for a restart.
const (
	RestartByAPI        = "api"
	RestartByCLI        = "cli"
	RestartByCardUpdate = "card_update"
)

// Restart outcomes. Every one but RestartDone is a refusal.
const (
	RestartDone     = "restarted"
	RestartOpen     = "open"              // the recovery runs: nothing to restart
	RestartUnknown  = "not_found"         // no recovery of this invoice on record
	RestartFinal    = "final"             // ended succeeded, cancelled or monitoring: never restarted
	RestartSettled  = "settled_elsewhere" // our retry or the platform was paid, or the invoice was cancelled
	RestartTooOld   = "too_old"           // a card update after the resume period
	RestartUnstable = "not_resumable"     // on record as open, yet no run: ask again shortly
)

// Resumable statuses: a recovery that ended so may be restarted.
var resumableStatuses = map[string]bool{"hard_declined": true, "exhausted": true, "network_limited": true}

// RestartRecoveryInput asks for a new generation of a closed recovery.
type RestartRecoveryInput struct {
	WorkflowID  string `json:"workflow_id"`
	ProfileID   string `json:"profile_id"`
	InvoiceID   string `json:"invoice_id"`
	TaskQueue   string `json:"task_queue"`
	Trigger     string `json:"trigger"`
	RequestedBy string `json:"requested_by"`
	Reason      string `json:"reason"`
	// Update, for a card update, is the new payment method: the new run retries at once with it.
	Update *PaymentMethodUpdate `json:"update,omitempty"`
	// ClosedWithin, when set, refuses a recovery that ended longer ago (card updates).
	ClosedWithin time.Duration `json:"closed_within,omitempty"`
}

// RestartRecoveryResult is what became of a restart request.
type RestartRecoveryResult struct {
	Outcome     string `json:"outcome"`
	WorkflowID  string `json:"workflow_id"`
	RunID       string `json:"run_id,omitempty"`
	Generation  int    `json:"generation,omitempty"`
	PriorStatus string `json:"prior_status,omitempty"`
}

// RestartRecovery starts the next generation of a recovery that ended
// hard_declined, exhausted or network_limited: a new run of the same workflow
// ID (allowed for this start only: every other start of the ID rejects a
// duplicate), a schedule from now (or a retry at once for a card update),
// payment keys of the new generation, and attempts counted on from the
// earlier generations. It refuses an open recovery, one that ended otherwise,
// and an invoice paid (by us or elsewhere) or cancelled. Every request is
// audited in recovery_restarts.
func (r *Recovery) RestartRecovery(ctx context.Context, in RestartRecoveryInput) (RestartRecoveryResult, error) {
	res, start, err := r.planRestart(ctx, in)
	if err != nil {
		return RestartRecoveryResult{}, err
	}
	if start != nil {
		res, err = r.startGeneration(ctx, in, res, *start)
		if err != nil {
			return RestartRecoveryResult{}, err
		}
	}
	audit := store.RecoveryRestart{WorkflowID: in.WorkflowID, ProfileID: in.ProfileID, InvoiceID: in.InvoiceID, Trigger: in.Trigger,
		RequestedBy: in.RequestedBy, Reason: in.Reason, Outcome: res.Outcome, Generation: res.Generation, PriorStatus: res.PriorStatus,
		RunID: res.RunID, At: r.now().UTC()}
	if err := r.Store.RecordRecoveryRestart(ctx, audit); err != nil {
		if res.Outcome == RestartDone {
			// The run started: a retry of this request would only be refused as open. Log the gap loudly.
			r.logger(ctx).Error("restart not audited", "workflow_id", in.WorkflowID, "error", err)
			return res, nil
		}
		return RestartRecoveryResult{}, err
	}
	return res, nil
}

// planRestart decides; start is the new run's input when the restart is granted.
func (r *Recovery) planRestart(ctx context.Context, in RestartRecoveryInput) (RestartRecoveryResult, *RevenueRecoveryStart, error) {
	res := RestartRecoveryResult{WorkflowID: in.WorkflowID}
	rec, err := r.Store.RecoveryByWorkflowID(ctx, in.WorkflowID)
	if errors.Is(err, store.ErrNotFound) {
		res.Outcome = RestartUnknown
		return res, nil, nil
	}
	if err != nil {
		return res, nil, err
	}
	res.PriorStatus, res.Generation = rec.Status, rec.Generation
	running, err := r.isRunning(ctx, in.WorkflowID)
	if err != nil {
		return res, nil, err
	}
	if outcome := r.refusal(rec, running, in); outcome != "" {
		res.Outcome = outcome
		return res, nil, nil
	}
	settled, err := r.settled(ctx, rec)
	if err != nil || settled {
		res.Outcome = RestartSettled
		return res, nil, err
	}
	prior, err := r.Store.MaxRecoveryAttempt(ctx, rec.ProfileID, rec.InvoiceID)
	if err != nil {
		return res, nil, err
	}
	route, err := r.ResolveRecoveryEvent(ctx, ResolveRecoveryEventInput{ProfileID: rec.ProfileID, ConnectorID: rec.BillingConnectorID,
		PaymentConnectorID: rec.PaymentConnectorID})
	if err != nil {
		return res, nil, err
	}
	restart := &RecoveryRestart{PriorRetries: max(prior, rec.RetryCount), Reason: in.Reason, Amount: rec.Amount, Currency: rec.Currency,
		ConnectorCustomerID: rec.ConnectorCustomerID, PaymentMethodToken: rec.PaymentMethodToken, CardNetwork: rec.CardNetwork}
	if u := in.Update; u != nil {
		restart.RetryNow = true
		if u.PaymentMethodToken != "" {
			restart.PaymentMethodToken, restart.CardNetwork, restart.CardFunding = u.PaymentMethodToken, u.CardNetwork, u.CardFunding
		}
	}
	return res, &RevenueRecoveryStart{ProfileID: rec.ProfileID, MerchantID: route.MerchantID, InvoiceID: rec.InvoiceID,
		BillingConnectorID: rec.BillingConnectorID, PaymentConnectorID: rec.PaymentConnectorID, Policy: route.Policy,
		PSyncDelays: route.PSyncDelays, Restart: restart}, nil
}

// refusal names why a recovery on record cannot restart now, or "".
func (r *Recovery) refusal(rec store.Recovery, running bool, in RestartRecoveryInput) string {
	switch {
	case running:
		return RestartOpen
	case rec.Open && rec.Status != store.RecoveryRestartStatus:
		return RestartUnstable // closed without writing its end (terminated): operations look first
	case rec.Status == store.RecoveryRestartStatus:
		return "" // a claimed generation whose run never started: claim the next one
	case !resumableStatuses[rec.Status]:
		return RestartFinal
	case in.ClosedWithin > 0 && (rec.EndedAt == nil || r.now().Sub(*rec.EndedAt) > in.ClosedWithin):
		return RestartTooOld
	}
	return ""
}

// settled is the paid-elsewhere guard: our own retry charged the invoice, or
// the platform reported it paid or cancelled.
func (r *Recovery) settled(ctx context.Context, rec store.Recovery) (bool, error) {
	paid, err := r.Store.InvoiceRecovered(ctx, rec.ProfileID, rec.InvoiceID)
	if err != nil || paid {
		return paid, err
	}
	return r.Store.InvoiceSettledElsewhere(ctx, rec.ProfileID, rec.InvoiceID)
}

// startGeneration claims the next generation number, then starts its run.
func (r *Recovery) startGeneration(ctx context.Context, in RestartRecoveryInput, res RestartRecoveryResult,
	start RevenueRecoveryStart) (RestartRecoveryResult, error) {
	claimed, err := r.Store.ClaimRecoveryGeneration(ctx, in.WorkflowID, res.Generation, r.now().UTC())
	if err != nil {
		return res, err
	}
	if !claimed { // another restart got there first
		res.Outcome = RestartOpen
		return res, nil
	}
	res.Generation++
	start.Generation = res.Generation
	run, err := r.temporal(ctx).ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        in.WorkflowID,
		TaskQueue: in.TaskQueue,
		// The one start of this ID that may follow a closed run: the generation
		// in the input keeps its payment keys apart from every earlier run's.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			RecoveryInvoiceIDAttr.ValueSet(start.InvoiceID),
			RecoveryStatusAttr.ValueSet(RecoveryScheduledStatus),
			RecoveryRetryCountAttr.ValueSet(int64(start.Restart.PriorRetries))),
	}, RevenueRecoveryWorkflowType, start)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		res.Outcome = RestartOpen
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Outcome, res.RunID = RestartDone, run.GetRunID()
	return res, nil
}

func (r *Recovery) isRunning(ctx context.Context, workflowID string) (bool, error) {
	d, err := r.temporal(ctx).DescribeWorkflowExecution(ctx, workflowID, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil // past retention: the recoveries document speaks for it
	}
	if err != nil {
		return false, err
	}
	return d.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// ErrorLogger is where an error outside an activity is logged: the
// activity's own logger, or Recovery.Logger, satisfy it.
type ErrorLogger interface {
	Error(msg string, keyvals ...any)
}

func (r *Recovery) logger(ctx context.Context) ErrorLogger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	if r.Logger != nil {
		return r.Logger
	}
	return nopLogger{}
}

type nopLogger struct{}

func (nopLogger) Error(string, ...any) {}

// HandOffPaymentMethodUpdateInput is a customer's card update for every recovery of theirs.
type HandOffPaymentMethodUpdateInput struct {
	ProfileID string              `json:"profile_id"`
	TaskQueue string              `json:"task_queue"`
	Update    PaymentMethodUpdate `json:"update"`
}

// HandOffPaymentMethodUpdateResult lists the recoveries the update reached.
type HandOffPaymentMethodUpdateResult struct {
	Signalled []string `json:"signalled,omitempty"` // open: each retries at once
	Restarted []string `json:"restarted,omitempty"` // closed recently: each resumes in a new generation
}

// HandOffPaymentMethodUpdate finds the customer's recoveries through the
// recoveries collection's customer index: an open one is signalled, one that
// ended hard_declined, exhausted or network_limited within the resume period
// is restarted with the new method; the rest are left alone. Running it again
// (a retried local activity) is harmless: a recovery ignores an update it has
// seen, and a restarted one is open by then.
func (r *Recovery) HandOffPaymentMethodUpdate(ctx context.Context, in HandOffPaymentMethodUpdateInput) (HandOffPaymentMethodUpdateResult, error) {
	recs, err := r.Store.CustomerRecoveries(ctx, in.ProfileID, in.Update.ConnectorCustomerID)
	if err != nil {
		return HandOffPaymentMethodUpdateResult{}, err
	}
	var out HandOffPaymentMethodUpdateResult
	for _, rec := range recs {
		signalled, restarted, err := r.reachRecovery(ctx, in, rec)
		if err != nil {
			return HandOffPaymentMethodUpdateResult{}, err
		}
		if signalled {
			out.Signalled = append(out.Signalled, rec.WorkflowID)
		}
		if restarted {
			out.Restarted = append(out.Restarted, rec.WorkflowID)
		}
	}
	return out, nil
}

func (r *Recovery) reachRecovery(ctx context.Context, in HandOffPaymentMethodUpdateInput, rec store.Recovery) (signalled, restarted bool, err error) {
	if rec.Open {
		err := r.temporal(ctx).SignalWorkflow(ctx, rec.WorkflowID, "", PaymentMethodUpdatedSignalName, in.Update)
		var notFound *serviceerror.NotFound
		if !errors.As(err, &notFound) {
			return err == nil, false, err
		}
	}
	if !resumableStatuses[rec.Status] && rec.Status != store.RecoveryRestartStatus && !rec.Open {
		return false, false, nil
	}
	within := r.CardUpdateResumeWithin
	if within <= 0 {
		within = DefaultCardUpdateResumeWithin
	}
	u := in.Update
	res, err := r.RestartRecovery(ctx, RestartRecoveryInput{WorkflowID: rec.WorkflowID, ProfileID: rec.ProfileID, InvoiceID: rec.InvoiceID,
		TaskQueue: in.TaskQueue, Trigger: RestartByCardUpdate, RequestedBy: u.Platform + ":" + u.EventID,
		Reason: "the customer updated their payment method (" + u.EventType + ")", Update: &u, ClosedWithin: within})
	if err != nil {
		return false, false, err
	}
	if res.Outcome == RestartOpen { // restarted meanwhile (or by this request's earlier try): reach the new run
		err := r.temporal(ctx).SignalWorkflow(ctx, rec.WorkflowID, "", PaymentMethodUpdatedSignalName, u)
		return err == nil, false, err
	}
	return false, res.Outcome == RestartDone, nil
}
