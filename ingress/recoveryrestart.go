package ingress

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/observability"
	"orderflow/workflows"
)

// restartRequest is POST /v1/recoveries/{profile_id}/{invoice_id}/restart's body.
type restartRequest struct {
	Reason string `json:"reason"`
}

// maxRestartReason bounds the audited reason.
const maxRestartReason = 500

// restartStatus maps a restart's outcome to its HTTP status.
var restartStatus = map[string]int{
	activities.RestartDone:     http.StatusOK,
	activities.RestartUnknown:  http.StatusNotFound,
	activities.RestartOpen:     http.StatusConflict,
	activities.RestartFinal:    http.StatusConflict,
	activities.RestartSettled:  http.StatusConflict,
	activities.RestartTooOld:   http.StatusConflict,
	activities.RestartUnstable: http.StatusConflict,
}

// restartRecovery starts a new generation of an invoice's closed recovery
// (hard_declined, exhausted or network_limited): 200 with the new run, 404
// for an invoice with no recovery on record, 409 for one that is open or
// ended succeeded, cancelled, or paid elsewhere, 400 without a reason. Every
// request is audited in recovery_restarts with the API key's fingerprint.
func (h *recoveryIngress) restartRecovery(w http.ResponseWriter, r *http.Request) {
	var req restartRequest
	if err := decodeJSON(w, r, h.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Reason == "":
		writeError(w, http.StatusBadRequest, "a reason is required: it is audited with the restart", "reason")
		return
	case len(req.Reason) > maxRestartReason:
		writeError(w, http.StatusBadRequest, "reason is longer than 500 characters", "reason")
		return
	}
	profileID, invoiceID := r.PathValue("profile_id"), r.PathValue("invoice_id")
	restarter := &activities.Recovery{Store: h.Store, Temporal: h.Temporal, Now: h.Now, Logger: observability.TemporalLogger(h.Logger)}
	res, err := restarter.RestartRecovery(r.Context(), activities.RestartRecoveryInput{
		WorkflowID: workflows.RevenueRecoveryWorkflowID(profileID, invoiceID), ProfileID: profileID, InvoiceID: invoiceID,
		TaskQueue: h.TaskQueue, Trigger: activities.RestartByAPI, RequestedBy: apiKeyFingerprint(r), Reason: req.Reason,
	})
	if err != nil {
		h.writeUnavailable(w, "recovery restart", workflows.RevenueRecoveryWorkflowID(profileID, invoiceID), err)
		return
	}
	h.Logger.Info("recovery restart asked", zap.String("workflow_id", res.WorkflowID), zap.String("outcome", res.Outcome),
		zap.Int("generation", res.Generation))
	writeJSON(w, restartStatus[res.Outcome], res)
}

// apiKeyFingerprint names the API key a request used without revealing it,
// as the re-drive audit does (APIKeyFingerprint), marked as an API key among
// the other requesters of a restart (the CLI, a card update).
func apiKeyFingerprint(r *http.Request) string {
	key := r.Header.Get("X-API-Key")
	if key == "" {
		key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	return "api_key:" + APIKeyFingerprint(key)
}
