package ingress

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/store"
	"orderflow/tracking"
	"orderflow/workflows"
)

func mountOrdersAPI(mux *http.ServeMux, d Deps) {
	mux.HandleFunc("POST /v1/orders/{order_id}/tracking", jsonBody(d.reportStatus))
	mux.HandleFunc("GET /v1/orders/{order_id}/rto", d.rtoState)
	mux.HandleFunc("GET /v1/webhook-deliveries", d.listDeliveries)
}

// statusReport is a manual or third-party status report for one order.
type statusReport struct {
	Status    string     `json:"status"`
	Source    string     `json:"source"`
	EventTime *time.Time `json:"event_time"`
}

// reportStatus feeds one observation into the status-update path by starting
// a StatusUpdate workflow. The answer is 404 for an order the store does not
// hold (nothing started), 202 once Temporal holds the report (it is then
// durable), 200 for a report it already holds, 503 when Temporal cannot be
// reached.
func (d Deps) reportStatus(w http.ResponseWriter, r *http.Request) {
	var rep statusReport
	if err := decodeJSON(w, r, d.MaxBodyBytes, &rep); err != nil {
		writeDecodeError(w, err)
		return
	}
	obs := tracking.Observation{OrderID: r.PathValue("order_id"), Source: rep.Source, Status: rep.Status}
	if obs.Source == "" {
		obs.Source = "api"
	}
	if rep.EventTime != nil {
		obs.EventTime = rep.EventTime.UTC()
	} else {
		obs.EventTime = d.Now().UTC()
	}
	if err := obs.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if !d.orderMayExist(w, r, obs.OrderID) {
		return
	}
	id := workflows.StatusUpdateWorkflowID(obs)
	duplicate, err := d.handOff(r.Context(), id,
		[]temporal.SearchAttributeUpdate{workflows.OrderIDAttr.ValueSet(obs.OrderID), workflows.TrackingStatusAttr.ValueSet(obs.Status)},
		workflows.StatusUpdate, workflows.StatusUpdateInput{Observations: []tracking.Observation{obs}})
	switch {
	case err != nil:
		d.writeUnavailable(w, "a status report", id, err)
	case duplicate:
		writeJSON(w, http.StatusOK, map[string]any{"workflow_id": id, "duplicate": true})
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"workflow_id": id, "duplicate": false})
	}
}

// orderMayExist answers 404 and returns false when the store says it holds no
// such order. When the store cannot answer, the report is accepted all the
// same: refusing it would lose a real RTO during a store outage, and
// StatusUpdate's guarded updates match nothing for an order that never
// appears (modified 0, no RTOCancel started); it records the report in
// push_events as unmatched.
func (d Deps) orderMayExist(w http.ResponseWriter, r *http.Request, orderID string) bool {
	exists, err := d.Store.OrderExists(r.Context(), orderID)
	switch {
	case err != nil:
		d.Logger.Warn("could not check that the order exists; accepting the report", zap.Error(err))
		return true
	case !exists:
		writeError(w, http.StatusNotFound, "no such order", "")
		return false
	}
	return true
}

// rtoState answers with the order's RTOCancel delivery state (its query).
func (d Deps) rtoState(w http.ResponseWriter, r *http.Request) {
	id := workflows.RTOCancelWorkflowID(r.PathValue("order_id"))
	ctx, cancel := context.WithTimeout(r.Context(), temporalCallTimeout)
	defer cancel()
	v, err := d.Temporal.QueryWorkflow(ctx, id, "", workflows.DeliveryStateQuery)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		writeError(w, http.StatusNotFound, "no first RTO recorded for this order (or its history has expired)", "")
		return
	}
	var st workflows.RTOCancelState
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		d.Logger.Warn("rto state query failed", zap.String("workflow_id", id), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "workflow engine unavailable; retry later", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"workflow_id": id, "state": st})
}

// listDeliveries serves the delivery log: ?order_id=, ?webhook_id=, ?failed=true, ?limit=.
func (d Deps) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.DeliveryFilter{OrderID: q.Get("order_id"), WebhookID: q.Get("webhook_id")}
	if v := q.Get("failed"); v != "" {
		failed, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "failed must be true or false", "failed")
			return
		}
		f.FailedOnly = failed
	}
	var ok bool
	if f.Limit, ok = parseLimit(w, q); !ok {
		return
	}
	ds, err := d.Store.Deliveries(r.Context(), f)
	if !d.storeOK(w, err, "webhook_deliveries") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
}

// parseLimit reads the optional ?limit= of a list endpoint (0 when absent: the
// store's default), answering 400 itself when it is out of range.
func parseLimit(w http.ResponseWriter, q url.Values) (limit int64, ok bool) {
	v := q.Get("limit")
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > 1000 {
		writeError(w, http.StatusBadRequest, "limit must be 1..1000", "limit")
		return 0, false
	}
	return n, true
}
