package ingress

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// recoveryIngress holds the recovery routes' dependencies.
type recoveryIngress struct {
	Deps
}

// mountRecovery mounts revenue recovery's routes: the billing webhooks (open,
// verified by each connector's own scheme), the recovery API under /v2 and the
// profile and connector-account configuration under /v1 (API key).
func mountRecovery(root, api *http.ServeMux, d Deps) {
	h := &recoveryIngress{Deps: d}
	root.HandleFunc("POST /webhooks/revenue_recovery/{profile_id}/{connector_id}", jsonBody(h.webhook))
	root.Handle("/v2/", d.requireAPIKey(api))
	api.HandleFunc("POST /v2/payments/recovery", jsonBody(h.recoveryAPI))
	api.HandleFunc("GET /v1/recoveries/{profile_id}/{invoice_id}", h.state)
	api.HandleFunc("POST /v1/recoveries/{profile_id}/{invoice_id}/restart", jsonBody(h.restartRecovery))
	mountRecoveryConfigAPI(api, d)
}

// webhook verifies the source over the raw bytes, parses the platform's
// payload and hands the event to a RecoveryIngest workflow, which does the
// rest behind Temporal: 200 only once it is durable there (503 if Temporal is
// unreachable), 401 for a bad signature (nothing started), 400 for a malformed
// body, 404 for an unknown profile or connector, 413 for an oversized one.
// A body that is not JSON is refused (415) before all of it (jsonBody).
func (h *recoveryIngress) webhook(w http.ResponseWriter, r *http.Request) {
	profileID, connID := r.PathValue("profile_id"), r.PathValue("connector_id")
	acct, ok := h.billingConnector(r.Context(), w, profileID, connID)
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
	h.ingest(r.Context(), w, workflows.RecoveryIngestInput{ProfileID: profileID, ConnectorID: connID, Event: ev,
		ReceivedAt: h.Now().UTC()}, eventKey(ev, body))
}

// unknownConnector is the one answer to a billing route naming a profile or
// connector that does not exist (or a connector of another profile, disabled,
// or not a billing platform's): the same body whichever part is wrong.
const unknownConnector = "unknown profile or connector"

// billingConnector loads the profile's billing connector, answering 404 when
// there is none. Both lookups always run and every miss gets the same answer,
// so a caller without credentials cannot tell an unknown profile from an
// unknown connector by body or by time, and cannot probe for profile ids.
func (h *recoveryIngress) billingConnector(ctx context.Context, w http.ResponseWriter, profileID, connID string) (store.ConnectorAccount, bool) {
	_, profileErr := h.Store.Profile(ctx, profileID)
	if !h.lookedUp(w, profileErr) {
		return store.ConnectorAccount{}, false
	}
	acct, connErr := h.Store.ConnectorAccount(ctx, connID)
	if !h.lookedUp(w, connErr) {
		return store.ConnectorAccount{}, false
	}
	if profileErr != nil || connErr != nil || acct.ProfileID != profileID || acct.Disabled ||
		acct.ConnectorType != store.BillingProcessor || !recovery.IsBillingPlatform(acct.ConnectorName) {
		writeError(w, http.StatusNotFound, unknownConnector, "")
		return store.ConnectorAccount{}, false
	}
	return acct, true
}

// lookedUp answers 503 when a configuration lookup failed for another reason
// than a miss: the platform retries, and an outage answers every id alike.
func (h *recoveryIngress) lookedUp(w http.ResponseWriter, err error) bool {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.writeStoreUnavailable(w, "recovery configuration", err)
		return false
	}
	return true
}

// verifySource applies the connector's platform's own scheme, trying the current and the previous secret.
func verifySource(acct store.ConnectorAccount, hdr http.Header, body []byte, now time.Time) error {
	return recovery.VerifyWebhook(acct.ConnectorName, hdr, body, webhookCredentials(acct), now)
}

func webhookCredentials(acct store.ConnectorAccount) recovery.WebhookCredentials {
	return recovery.WebhookCredentials{Username: acct.WebhookDetails.Username, Secrets: acct.WebhookDetails.Secrets()}
}

// ingestWait bounds how long a billing event's answer waits for its
// RecoveryIngest's decision, to keep today's body (action, outcome,
// workflow_id). The event is durable before the wait starts; billing platforms
// read only the status code and give up on an endpoint after about ten
// seconds, so the wait stays well under that.
const ingestWait = 4 * time.Second

// outcomeAccepted answers an event Temporal holds whose decision took longer
// than ingestWait (the platform's API or Mongo slow or down, a worker
// restarting): 200, since nothing is lost; RecoveryIngest finishes it and
// records the real outcome in recovery_events.
const outcomeAccepted = "accepted"

// ingest starts the event's RecoveryIngest under an ID derived from the event
// (a redelivery finds it taken and waits on the first run's answer instead)
// and answers with its decision.
func (h *recoveryIngress) ingest(ctx context.Context, w http.ResponseWriter, in workflows.RecoveryIngestInput, key string) {
	id := workflows.RecoveryIngestWorkflowID(in.ProfileID, in.ConnectorID, key)
	duplicate, err := h.handOff(ctx, id, nil, workflows.RecoveryIngest, in)
	if err != nil {
		h.writeUnavailable(w, "billing event", id, err)
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, ingestWait)
	defer cancel()
	var res workflows.RecoveryIngestResult
	err = h.Temporal.GetWorkflow(waitCtx, id, "").Get(waitCtx, &res)
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeBillingEventUnusable:
		h.Logger.Warn("billing event could not be completed", zap.String("ingest_id", id), zap.Error(err))
		writeError(w, http.StatusBadRequest, "the event's objects could not be fetched from the platform", "")
		return
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeRecoveryConfig:
		writeError(w, http.StatusNotFound, unknownConnector, "")
		return
	case waitCtx.Err() != nil && ctx.Err() == nil:
		res = workflows.RecoveryIngestResult{Outcome: outcomeAccepted, InvoiceID: in.Event.InvoiceID}
	default:
		// The run failed otherwise, or Temporal stopped answering: a redelivery runs it again.
		h.writeUnavailable(w, "billing event", id, err)
		return
	}
	h.Logger.Info("billing event handed off", zap.String("ingest_id", id), zap.Bool("duplicate", duplicate),
		zap.String("platform", in.Event.Platform), zap.String("event_type", in.Event.PlatformEventType),
		zap.String("action", string(res.Action)), zap.String("outcome", res.Outcome))
	writeJSON(w, http.StatusOK, map[string]any{"action": res.Action, "outcome": res.Outcome, "workflow_id": res.WorkflowID, "invoice_id": res.InvoiceID})
}

// eventKey is the event's own identity for its RecoveryIngest's ID: the
// platform's event id (redeliveries share it), or a hash of the body when it
// has none fit for an ID.
func eventKey(ev recovery.Event, body []byte) string {
	if ev.EventID != "" && len(ev.EventID) <= 200 {
		return ev.EventID
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// recoveryAPI is Hyperswitch's POST /v2/payments/recovery: the caller (a billing
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
	acct, ok := h.billingConnector(r.Context(), w, profileID, p.BillingMerchantConnectorID)
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
	// The request names its action and its payment connector: the ingest
	// routes there whatever billing_account_reference says.
	h.ingest(r.Context(), w, workflows.RecoveryIngestInput{ProfileID: profileID, ConnectorID: p.BillingMerchantConnectorID,
		Event: ev, Action: action, PaymentConnectorID: p.PaymentMerchantConnectorID, FromAPI: true, ReceivedAt: h.Now().UTC()},
		eventKey(ev, body))
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
		h.writeUnavailable(w, "recovery state query", wfID, err)
		return
	}
	var view workflows.RecoveryView
	if err := v.Get(&view); err != nil {
		h.writeUnavailable(w, "recovery state query", wfID, err)
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
