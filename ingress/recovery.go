package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
	"orderflow/workflows"
)

// Outcomes of a billing event, as recorded in recovery_events and answered.
const (
	outcomeSignalled        = "signalled"        // handed to the invoice's RevenueRecovery (started if needed)
	outcomeRecorded         = "recorded"         // NoAction / InvalidAction: nothing to do
	outcomeMonitoring       = "monitoring"       // the profile only monitors
	outcomeBelowThreshold   = "below_threshold"  // the platform is still dunning
	outcomeNotRunning       = "no_recovery"      // success / cancel / pending for an invoice we are not recovering
	outcomeAlreadyFinished  = "already_finished" // the invoice's recovery is over
	outcomeNoPaymentAccount = "no_payment_connector"
	outcomeNoPaymentMethod  = "no_payment_method" // nothing to retry off-session with
)

// recoveryIngress holds the recovery routes' dependencies.
type recoveryIngress struct {
	Deps
	fetch *connector.Client
}

// mountRecovery mounts revenue recovery's routes: the billing webhooks (open,
// verified by each connector's own scheme), the recovery API under /v2 and the
// profile and connector-account configuration under /v1 (API key).
func mountRecovery(root, api *http.ServeMux, d Deps) {
	h := &recoveryIngress{Deps: d, fetch: connector.New(10 * time.Second)}
	root.HandleFunc("POST /webhooks/revenue_recovery/{profile_id}/{connector_id}", h.webhook)
	root.Handle("/v2/", d.requireAPIKey(api))
	api.HandleFunc("POST /v2/payments/recovery", h.recoveryAPI)
	api.HandleFunc("GET /v1/recoveries/{profile_id}/{invoice_id}", h.state)
	mountRecoveryConfigAPI(api, d)
}

// webhook verifies the source over the raw bytes, parses the platform's
// payload, decides the RecoveryAction and hands the event to Temporal: 200
// only once it is durable there (503 if Temporal is unreachable), 401 for a bad
// signature, 400 for a malformed body, 404 for an unknown profile or connector.
func (h *recoveryIngress) webhook(w http.ResponseWriter, r *http.Request) {
	profileID, connID := r.PathValue("profile_id"), r.PathValue("connector_id")
	prof, acct, ok := h.billingConnector(r.Context(), w, profileID, connID)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "body exceeds the size limit", "")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "could not read body", "")
		return
	}
	if err := verifySource(acct, r.Header, body, h.Now()); err != nil {
		h.Logger.Warn("billing webhook not verified", zap.String("profile_id", profileID), zap.String("connector_id", connID),
			zap.String("platform", acct.ConnectorName), zap.String("reason", err.Error()))
		h.Metrics.RecoveryEvents.WithLabelValues(acct.ConnectorName, "", "unverified").Inc()
		writeError(w, http.StatusUnauthorized, "webhook signature not verified", "")
		return
	}
	ev, err := recovery.Parse(acct.ConnectorName, body, r.Header)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if ev.Lookup != nil {
		if ev, err = h.complete(r.Context(), acct, ev); err != nil {
			h.answerLookupError(w, acct, err)
			return
		}
	}
	by, err := h.triggeredBy(r.Context(), profileID, ev)
	if err != nil {
		h.unavailable(w, "store", err)
		return
	}
	action := recovery.DecideAction(ev.Kind, by)
	h.dispatch(r.Context(), w, prof, acct, ev, action, true)
}

// billingConnector loads the profile and its billing connector, answering 404 for either unknown.
func (h *recoveryIngress) billingConnector(ctx context.Context, w http.ResponseWriter, profileID, connID string) (store.BusinessProfile, store.ConnectorAccount, bool) {
	prof, err := h.Store.Profile(ctx, profileID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown profile", "")
		return prof, store.ConnectorAccount{}, false
	}
	if err != nil {
		h.configUnavailable(w, err)
		return prof, store.ConnectorAccount{}, false
	}
	acct, err := h.Store.ConnectorAccount(ctx, connID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (acct.ProfileID != profileID || acct.Disabled ||
		acct.ConnectorType != store.BillingProcessor || !recovery.IsBillingPlatform(acct.ConnectorName))) {
		writeError(w, http.StatusNotFound, "unknown connector", "")
		return prof, acct, false
	}
	if err != nil {
		h.configUnavailable(w, err)
		return prof, acct, false
	}
	return prof, acct, true
}

// configUnavailable answers a webhook whose connector could not be read: the
// platform must retry (503), as when Temporal is down; nothing was recorded.
func (h *recoveryIngress) configUnavailable(w http.ResponseWriter, err error) {
	h.Logger.Warn("could not read the recovery configuration", zap.Error(err))
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "configuration store unavailable; retry later", "")
}

// verifySource applies the connector's platform's own scheme, trying the current and the previous secret.
func verifySource(acct store.ConnectorAccount, hdr http.Header, body []byte, now time.Time) error {
	return recovery.VerifyWebhook(acct.ConnectorName, hdr, body, webhookCredentials(acct), now)
}

func webhookCredentials(acct store.ConnectorAccount) recovery.WebhookCredentials {
	return recovery.WebhookCredentials{Username: acct.WebhookDetails.Username, Secrets: acct.WebhookDetails.Secrets()}
}

// complete fetches what a thin event leaves out from the platform's API.
func (h *recoveryIngress) complete(ctx context.Context, acct store.ConnectorAccount, ev recovery.Event) (recovery.Event, error) {
	ba := connector.BillingAccount{Platform: acct.ConnectorName, BaseURL: acct.BaseURL, APIKey: acct.AccountDetails.APIKey}
	switch ev.Lookup.Object {
	case "charge":
		ch, err := h.fetch.FetchStripeCharge(ctx, ba, ev.Lookup.ID)
		if err != nil {
			return ev, err
		}
		return recovery.CompleteStripe(ev, ch)
	case "transaction":
		tx, err := h.fetch.FetchRecurlyTransaction(ctx, ba, ev.Lookup.ID)
		if err != nil {
			return ev, err
		}
		invID, err := recovery.RecurlyInvoiceIDOf(tx)
		if err != nil {
			return ev, err
		}
		inv, err := h.fetch.FetchRecurlyInvoice(ctx, ba, invID)
		if err != nil {
			return ev, err
		}
		return recovery.CompleteRecurly(ev, tx, inv)
	case "invoice":
		inv, err := h.fetch.FetchRecurlyInvoice(ctx, ba, ev.Lookup.ID)
		if err != nil {
			return ev, err
		}
		return recovery.CompleteRecurly(ev, nil, inv)
	}
	return ev, recovery.ErrMalformed
}

// answerLookupError: the platform's API failing is its problem to retry (503);
// what it returned being unusable, or a 4xx, is the event's (400).
func (h *recoveryIngress) answerLookupError(w http.ResponseWriter, acct store.ConnectorAccount, err error) {
	if errors.Is(err, recovery.ErrMalformed) || !connector.IsRetryable(err) {
		h.Logger.Warn("billing event could not be completed", zap.String("platform", acct.ConnectorName), zap.Error(err))
		writeError(w, http.StatusBadRequest, "the event's objects could not be fetched from the platform", "")
		return
	}
	h.unavailable(w, acct.ConnectorName+" API", err)
}

func (h *recoveryIngress) unavailable(w http.ResponseWriter, what string, err error) {
	h.Logger.Warn("revenue recovery event not accepted: dependency unavailable", zap.String("dependency", what), zap.Error(err))
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, what+" unavailable; retry later", "")
}

// triggeredBy is internal when the transaction is one of our own retries.
func (h *recoveryIngress) triggeredBy(ctx context.Context, profileID string, ev recovery.Event) (recovery.TriggeredBy, error) {
	ours, err := h.Store.IsInternalAttempt(ctx, profileID, ev.TransactionID)
	if err != nil || !ours {
		return "", err
	}
	return recovery.Internal, nil
}

// dispatch acts on the decided action and answers. fromWebhook applies the
// platform-dunning threshold, which the recovery API's explicit instruction bypasses.
func (h *recoveryIngress) dispatch(ctx context.Context, w http.ResponseWriter, prof store.BusinessProfile, acct store.ConnectorAccount,
	ev recovery.Event, action recovery.Action, fromWebhook bool) {
	profileID := prof.ID.Hex()
	wfID := workflows.RevenueRecoveryWorkflowID(profileID, ev.InvoiceID)
	sig := workflows.RecoverySignal{Action: action, Event: ev}
	rm := acct.Recovery()
	var (
		outcome string
		err     error
	)
	switch action {
	case recovery.ScheduleFailedPayment:
		payID := rm.PaymentConnectorID(ev.GatewayAccountID)
		switch {
		case prof.RetryAlgorithm == recovery.Monitoring:
			outcome = outcomeMonitoring
		case fromWebhook && ev.PlatformAttemptCount <= rm.BillingConnectorRetryThreshold:
			outcome = outcomeBelowThreshold
		case ev.PaymentMethodToken == "" || ev.ConnectorCustomerID == "":
			outcome = outcomeNoPaymentMethod
		case payID == "":
			outcome = outcomeNoPaymentAccount
			h.Logger.Warn("no payment connector for this billing gateway: check billing_account_reference",
				zap.String("connector_id", acct.ID.Hex()), zap.String("gateway_account_id", ev.GatewayAccountID))
		default:
			var recovered bool
			if recovered, err = h.Store.InvoiceRecovered(ctx, profileID, ev.InvoiceID); err != nil {
				h.configUnavailable(w, err)
				return
			}
			if recovered {
				outcome = outcomeAlreadyFinished
				break
			}
			outcome, err = h.signalWithStart(ctx, wfID, sig, workflows.RevenueRecoveryInput{
				ProfileID: profileID, MerchantID: prof.MerchantID, InvoiceID: ev.InvoiceID, BillingConnectorID: acct.ID.Hex(),
				PaymentConnectorID: payID, Policy: prof.Policy(rm.MaxRetryCount), PSyncDelays: prof.PSyncDelays(),
			})
		}
	case recovery.SuccessPaymentExternal, recovery.CancelInvoice, recovery.PendingPayment:
		outcome, err = h.signal(ctx, wfID, sig)
	default:
		outcome = outcomeRecorded
	}
	if err != nil {
		h.unavailable(w, "workflow engine", err)
		return
	}
	rec := store.RecoveryEvent{ProfileID: profileID, ConnectorID: acct.ID.Hex(), Platform: acct.ConnectorName, EventID: ev.EventID,
		EventType: ev.PlatformEventType, Kind: string(ev.Kind), InvoiceID: ev.InvoiceID, TransactionID: ev.TransactionID,
		Action: string(action), Outcome: outcome, ReceivedAt: h.Now().UTC()}
	if outcome == outcomeSignalled {
		rec.WorkflowID = wfID
	}
	if _, err := h.Store.RecordRecoveryEvent(ctx, rec); err != nil {
		// The event is durable in Temporal (or needs nothing); the log line is not worth a redelivery.
		h.Logger.Error("recording a billing event failed", zap.String("invoice_id", ev.InvoiceID), zap.Error(err))
	}
	h.Metrics.RecoveryEvents.WithLabelValues(acct.ConnectorName, string(action), outcome).Inc()
	h.Logger.Info("billing event handled", zap.String("profile_id", profileID), zap.String("invoice_id", ev.InvoiceID),
		zap.String("platform", acct.ConnectorName), zap.String("event_type", ev.PlatformEventType),
		zap.String("action", string(action)), zap.String("outcome", outcome))
	writeJSON(w, http.StatusOK, map[string]any{"action": action, "outcome": outcome, "workflow_id": rec.WorkflowID, "invoice_id": ev.InvoiceID})
}

// signalWithStart hands a failed payment to the invoice's workflow, starting
// it if needed. A recovery that already finished is not restarted.
func (h *recoveryIngress) signalWithStart(ctx context.Context, wfID string, sig workflows.RecoverySignal, in workflows.RevenueRecoveryInput) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalCallTimeout)
	defer cancel()
	_, err := h.Temporal.SignalWithStartWorkflow(ctx, wfID, workflows.RecoveryEventSignal, sig, client.StartWorkflowOptions{
		ID:                    wfID,
		TaskQueue:             h.TaskQueue,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.InvoiceIDAttr.ValueSet(in.InvoiceID),
			workflows.RecoveryStatusAttr.ValueSet(workflows.RecoveryAwaitingEvent),
			workflows.RetryCountAttr.ValueSet(0)),
	}, workflows.RevenueRecovery, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return outcomeSignalled, nil
	case errors.As(err, &started):
		return outcomeAlreadyFinished, nil
	}
	return "", err
}

// signal delivers an event to a running recovery; none running is not an error.
func (h *recoveryIngress) signal(ctx context.Context, wfID string, sig workflows.RecoverySignal) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, temporalCallTimeout)
	defer cancel()
	err := h.Temporal.SignalWorkflow(ctx, wfID, "", workflows.RecoveryEventSignal, sig)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return outcomeSignalled, nil
	case errors.As(err, &notFound):
		return outcomeNotRunning, nil
	}
	return "", err
}

// recoveryAPI is seed 003's POST /v2/payments/recovery: the caller (a billing
// system without webhooks, or an operator) reports an attempt and names the action.
func (h *recoveryIngress) recoveryAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "body exceeds the size limit", "")
		return
	}
	var p recovery.RecoveryPayload
	// Lenient on fields we do not use: the request carries Hyperswitch's whole payment shape.
	if err != nil || json.Unmarshal(body, &p) != nil {
		writeError(w, http.StatusBadRequest, "body must be a recovery request JSON object", "")
		return
	}
	profileID := r.Header.Get("X-Profile-Id")
	action, field, msg := validateRecoveryPayload(p, profileID)
	if field != "" {
		writeError(w, http.StatusBadRequest, msg, field)
		return
	}
	prof, acct, ok := h.billingConnector(r.Context(), w, profileID, p.BillingMerchantConnectorID)
	if !ok {
		return
	}
	pay, err := h.Store.ConnectorAccount(r.Context(), p.PaymentMerchantConnectorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (pay.ProfileID != profileID || pay.ConnectorType != store.PaymentProcessor)) {
		writeError(w, http.StatusNotFound, "unknown payment connector", "payment_merchant_connector_id")
		return
	}
	if !h.storeOK(w, err, "connector_accounts") {
		return
	}
	ev := recovery.EventFromPayload(p, recovery.KindOfAttemptStatus(p.AttemptStatus))
	ev.Platform, ev.PlatformEventType = acct.ConnectorName, "api:"+string(action)
	ev.EventID = r.Header.Get("Idempotency-Key")
	if ev.EventID == "" {
		ev.EventID = "api:" + p.MerchantReferenceID + ":" + p.ConnectorTransactionID + ":" + p.AttemptStatus
	}
	// The request names its payment connector: route there whatever the reference map says.
	if md := acct.FeatureMetadata; md != nil && md.RevenueRecovery != nil {
		rm := *md.RevenueRecovery
		rm.BillingAccountReference = map[string]string{p.PaymentMerchantConnectorID: p.PaymentMerchantConnectorID}
		acct.FeatureMetadata = &store.FeatureMetadata{RevenueRecovery: &rm}
	} else {
		acct.FeatureMetadata = &store.FeatureMetadata{RevenueRecovery: &store.RecoveryMetadata{
			BillingAccountReference: map[string]string{p.PaymentMerchantConnectorID: p.PaymentMerchantConnectorID}}}
	}
	h.dispatch(r.Context(), w, prof, acct, ev, action, false)
}

// validateRecoveryPayload returns the action, or the field at fault and why.
func validateRecoveryPayload(p recovery.RecoveryPayload, profileID string) (recovery.Action, string, string) {
	switch {
	case profileID == "":
		return "", "X-Profile-Id", "the X-Profile-Id header is required"
	case strings.TrimSpace(p.MerchantReferenceID) == "":
		return "", "merchant_reference_id", "merchant_reference_id is required"
	case p.BillingMerchantConnectorID == "":
		return "", "billing_merchant_connector_id", "billing_merchant_connector_id is required"
	case p.PaymentMerchantConnectorID == "":
		return "", "payment_merchant_connector_id", "payment_merchant_connector_id is required"
	}
	action := recovery.Action(p.Action)
	if p.Action == "" {
		action = recovery.DecideAction(recovery.KindOfAttemptStatus(p.AttemptStatus), recovery.External)
	} else if !recovery.ValidAction(p.Action) {
		return "", "action", "action must be one of schedule_failed_payment, success_payment_external, pending_payment, cancel_invoice, no_action"
	}
	if action == recovery.ScheduleFailedPayment {
		switch {
		case p.AmountDetails.OrderAmount <= 0:
			return "", "amount_details.order_amount", "order_amount must be a positive amount in minor units"
		case len(p.AmountDetails.Currency) != 3:
			return "", "amount_details.currency", "currency must be an ISO 4217 code"
		case p.ConnectorCustomerID == "":
			return "", "connector_customer_id", "connector_customer_id is required to retry off-session"
		case p.PaymentMethodData.PrimaryProcessorPaymentMethodToken == "":
			return "", "payment_method_data.primary_processor_payment_method_token", "the processor's payment method token is required"
		}
	}
	return action, "", ""
}

// state answers an invoice's recovery: the workflow's query (schedule and
// attempts) plus the attempts and webhook deliveries logged in Mongo.
func (h *recoveryIngress) state(w http.ResponseWriter, r *http.Request) {
	profileID, invoiceID := r.PathValue("profile_id"), r.PathValue("invoice_id")
	wfID := workflows.RevenueRecoveryWorkflowID(profileID, invoiceID)
	out := map[string]any{"workflow_id": wfID}
	ctx, cancel := context.WithTimeout(r.Context(), temporalCallTimeout)
	defer cancel()
	v, err := h.Temporal.QueryWorkflow(ctx, wfID, "", workflows.RecoveryStateQuery)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		writeError(w, http.StatusNotFound, "no recovery for this invoice (or its history has expired)", "")
		return
	case err != nil:
		h.unavailable(w, "workflow engine", err)
		return
	}
	var view workflows.RecoveryView
	if err := v.Get(&view); err != nil {
		h.unavailable(w, "workflow engine", err)
		return
	}
	out["recovery"] = view
	attempts, err := h.Store.RecoveryAttempts(r.Context(), profileID, invoiceID)
	if !h.storeOK(w, err, "recovery_attempts") {
		return
	}
	deliveries, err := h.Store.RecoveryWebhookDeliveries(r.Context(), profileID, invoiceID)
	if !h.storeOK(w, err, "recovery_webhook_deliveries") {
		return
	}
	out["payment_attempts"], out["webhook_deliveries"] = attempts, deliveries
	writeJSON(w, http.StatusOK, out)
}
