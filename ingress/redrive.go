package ingress

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/activities"
	"orderflow/store"
	"orderflow/workflows"
)

// DefaultRedriveRate is a re-drive's rate when the request names none.
const DefaultRedriveRate = 5.0

// RedriveRequest asks to send recorded deliveries again: the ones named by
// DeliveryIDs, or those of one CRM webhook or merchant profile that match the
// filter. DryRun only counts.
type RedriveRequest struct {
	RequestID   string    `json:"request_id,omitempty"`
	DeliveryIDs []string  `json:"delivery_ids,omitempty"`
	WebhookID   string    `json:"webhook_id,omitempty"`
	ProfileID   string    `json:"profile_id,omitempty"`
	Statuses    []string  `json:"statuses,omitempty"`
	From        time.Time `json:"from,omitzero"`
	To          time.Time `json:"to,omitzero"`
	OrderIDs    []string  `json:"order_ids,omitempty"`
	InvoiceIDs  []string  `json:"invoice_ids,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Force       bool      `json:"force,omitempty"`
	// RatePerSecond is the most deliveries sent a second; nil is DefaultRedriveRate.
	RatePerSecond *float64 `json:"rate_per_second,omitempty"`
	DryRun        bool     `json:"dry_run,omitempty"`
}

// RedrivePlan is a validated re-drive and what it would send.
type RedrivePlan struct {
	Filter activities.RedriveFilter
	Rate   float64
	// Matched records; Refused already got a 2xx and are skipped unless
	// forced; Count are the ones the re-drive sends.
	Matched, Refused, Count int64
}

// RedriveError is a request the re-drive refuses, with its HTTP status and
// the field at fault.
type RedriveError struct {
	Code  int
	Field string
	Msg   string
}

func (e *RedriveError) Error() string { return e.Msg }

func badRedrive(field, msg string) error {
	return &RedriveError{Code: http.StatusBadRequest, Field: field, Msg: msg}
}

// defaultRedriveStatuses are what a filter re-sends when it names no status:
// the deliveries that ended without a 2xx.
var defaultRedriveStatuses = []string{store.RecordRejected, store.RecordExhausted}

// PlanRedrive validates req, checks that what it names exists and counts what
// it would send. Unknown ids are a 404; bad input a 400 naming the field.
func PlanRedrive(ctx context.Context, st *store.Store, req RedriveRequest) (RedrivePlan, error) {
	plan, err := validateRedrive(req)
	if err != nil {
		return plan, err
	}
	if err := redriveTargetsExist(ctx, st, req); err != nil {
		return plan, err
	}
	n, err := st.CountDeliveryRecords(ctx, plan.Filter.StoreFilter())
	if err != nil {
		return plan, err
	}
	plan.Matched, plan.Count = n.Matched, n.Matched
	if !req.Force {
		plan.Refused, plan.Count = n.Delivered, n.Matched-n.Delivered
	}
	return plan, nil
}

func validateRedrive(req RedriveRequest) (RedrivePlan, error) {
	plan := RedrivePlan{Rate: DefaultRedriveRate}
	if req.RatePerSecond != nil {
		plan.Rate = *req.RatePerSecond
	}
	targets := 0
	for _, set := range []bool{len(req.DeliveryIDs) > 0, req.WebhookID != "", req.ProfileID != ""} {
		if set {
			targets++
		}
	}
	switch {
	case targets != 1:
		return plan, badRedrive("delivery_ids", "name exactly one of delivery_ids, webhook_id or profile_id")
	case req.Force && req.Reason == "":
		return plan, badRedrive("reason", "a forced re-drive needs a reason")
	case !req.DryRun && req.Reason == "":
		return plan, badRedrive("reason", "a re-drive needs a reason")
	case plan.Rate <= 0:
		return plan, badRedrive("rate_per_second", "rate_per_second must be greater than 0")
	case plan.Rate > workflows.RedriveMaxRatePerSecond:
		return plan, badRedrive("rate_per_second", fmt.Sprintf("rate_per_second must be at most %d", workflows.RedriveMaxRatePerSecond))
	case !req.From.IsZero() && !req.To.IsZero() && !req.From.Before(req.To):
		return plan, badRedrive("from", "from must be before to")
	case len(req.DeliveryIDs) > 1000:
		return plan, badRedrive("delivery_ids", "at most 1000 delivery_ids; use a filter for more")
	}
	for _, s := range req.Statuses {
		if !slices.Contains(store.RecordStatuses, s) {
			return plan, badRedrive("statuses", "unknown status "+s)
		}
	}
	f := activities.RedriveFilter{IDs: req.DeliveryIDs, Statuses: req.Statuses, From: req.From, To: req.To,
		OrderIDs: req.OrderIDs, InvoiceIDs: req.InvoiceIDs}
	switch {
	case req.WebhookID != "":
		f.Kind, f.DestinationID = store.KindCRMWebhook, req.WebhookID
	case req.ProfileID != "":
		f.Kind, f.DestinationID = store.KindMerchantWebhook, req.ProfileID
	}
	if len(f.IDs) == 0 && len(f.Statuses) == 0 {
		f.Statuses = defaultRedriveStatuses
	}
	plan.Filter = f
	return plan, nil
}

// redriveTargetsExist answers 404 for a webhook, profile or delivery that does not exist.
func redriveTargetsExist(ctx context.Context, st *store.Store, req RedriveRequest) error {
	notFound := func(field, msg string) error { return &RedriveError{Code: http.StatusNotFound, Field: field, Msg: msg} }
	switch {
	case req.WebhookID != "":
		if _, err := st.Webhooks().Get(ctx, req.WebhookID); errors.Is(err, store.ErrNotFound) {
			return notFound("webhook_id", "no webhook "+req.WebhookID)
		} else if err != nil {
			return err
		}
	case req.ProfileID != "":
		if _, err := st.Profiles().Get(ctx, req.ProfileID); errors.Is(err, store.ErrNotFound) {
			return notFound("profile_id", "no profile "+req.ProfileID)
		} else if err != nil {
			return err
		}
	default:
		missing, err := st.MissingDeliveryRecords(ctx, req.DeliveryIDs)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return notFound("delivery_ids", fmt.Sprintf("%d of delivery_ids name no delivery record, first %s", len(missing), missing[0]))
		}
	}
	return nil
}

// Redrive is a started re-drive.
type Redrive struct {
	ID         string `json:"redrive_id"`
	WorkflowID string `json:"workflow_id"`
}

// ErrRedriveExists says a re-drive with this request id was started before.
var ErrRedriveExists = errors.New("a re-drive with this request_id exists; re-drive ids are never reused")

// StartRedrive starts the Redrive workflow of a plan. Its ID comes from the
// request id (random when none), and is never reused.
func StartRedrive(ctx context.Context, tc client.Client, taskQueue string, req RedriveRequest, plan RedrivePlan, actorKind, actorID string, now time.Time) (Redrive, error) {
	requestID := req.RequestID
	if requestID == "" {
		requestID = randomID()
	}
	id := workflows.RedriveWorkflowID(requestID)
	ctx, cancel := context.WithTimeout(ctx, temporalCallTimeout)
	defer cancel()
	_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: taskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.Redrive, workflows.RedriveInput{
		RedriveID: id, ActorKind: actorKind, ActorID: actorID, Reason: req.Reason, Force: req.Force,
		Filter: plan.Filter, RatePerSecond: plan.Rate, RequestedAt: now.UTC(),
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return Redrive{}, ErrRedriveExists
	}
	if err != nil {
		return Redrive{}, err
	}
	return Redrive{ID: id, WorkflowID: id}, nil
}

// APIKeyFingerprint names an API key in an audit without revealing it.
func APIKeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key_" + hex.EncodeToString(sum[:6])
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// mountRedriveAPI mounts the re-drive and test-event routes.
func mountRedriveAPI(mux *http.ServeMux, d Deps) {
	mux.HandleFunc("POST /v1/redrives", jsonBody(d.redrive))
	mux.HandleFunc("GET /v1/redrives/{id}", d.redriveAudit)
	mux.HandleFunc("GET /v1/delivery-records", d.searchDeliveryRecords)
	mux.HandleFunc("GET /v1/delivery-records/{id}", d.deliveryRecord)
	mux.HandleFunc("POST /v1/webhooks/{id}/test", jsonBody(d.testEvent(store.KindCRMWebhook)))
	mux.HandleFunc("POST /v1/profiles/{id}/test", jsonBody(d.testEvent(store.KindMerchantWebhook)))
}

// redriveAnswer is the answer to a re-drive request or its dry run.
type redriveAnswer struct {
	DryRun     bool   `json:"dry_run"`
	Matched    int64  `json:"matched"`
	Refused    int64  `json:"refused"` // already delivered, not forced
	Count      int64  `json:"count"`   // what the re-drive sends
	RedriveID  string `json:"redrive_id,omitempty"`
	WorkflowID string `json:"workflow_id,omitempty"`
}

func (d Deps) redrive(w http.ResponseWriter, r *http.Request) {
	var req RedriveRequest
	if err := decodeJSON(w, r, d.MaxBodyBytes, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	plan, err := PlanRedrive(r.Context(), d.Store, req)
	if !d.redriveOK(w, err) {
		return
	}
	ans := redriveAnswer{DryRun: req.DryRun, Matched: plan.Matched, Refused: plan.Refused, Count: plan.Count}
	if len(req.DeliveryIDs) == 1 && plan.Refused == 1 {
		writeError(w, http.StatusConflict, "the delivery already got a 2xx; force it with a reason", "force")
		return
	}
	if req.DryRun || plan.Count == 0 {
		writeJSON(w, http.StatusOK, ans)
		return
	}
	rd, err := StartRedrive(r.Context(), d.Temporal, d.TaskQueue, req, plan, "api_key", APIKeyFingerprint(d.APIKey), d.Now())
	if errors.Is(err, ErrRedriveExists) {
		writeError(w, http.StatusConflict, err.Error(), "request_id")
		return
	}
	if err != nil {
		d.writeUnavailable(w, "a re-drive", workflows.RedriveWorkflowID(req.RequestID), err)
		return
	}
	ans.RedriveID, ans.WorkflowID = rd.ID, rd.WorkflowID
	w.Header().Set("Location", "/v1/redrives/"+rd.ID)
	writeJSON(w, http.StatusAccepted, ans)
}

func (d Deps) redriveOK(w http.ResponseWriter, err error) bool {
	var re *RedriveError
	if errors.As(err, &re) {
		writeError(w, re.Code, re.Msg, re.Field)
		return false
	}
	return d.storeOK(w, err, "delivery_records")
}

// redriveAudit shows a re-drive's audit and the outcome of each delivery (the first 1000).
func (d Deps) redriveAudit(w http.ResponseWriter, r *http.Request) {
	audit, outcomes, err := d.Store.RedriveAuditByID(r.Context(), r.PathValue("id"), 1000)
	if !d.storeOK(w, err, "redrive_audits") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": audit, "outcomes": outcomes})
}

// deliveryRecord shows one delivery record, without its event data.
func (d Deps) deliveryRecord(w http.ResponseWriter, r *http.Request) {
	rec, err := d.Store.DeliveryRecord(r.Context(), r.PathValue("id"))
	if !d.storeOK(w, err, "delivery_records") {
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// Search page sizes.
const (
	defaultSearchLimit = 100
	maxSearchLimit     = 500
)

// recordPage is one page of a delivery record search; NextCursor, when set,
// fetches the next.
type recordPage struct {
	Items      []store.DeliveryRecord `json:"items"`
	NextCursor string                 `json:"next_cursor,omitempty"`
}

// searchDeliveryRecords lists the delivery records matching the query, in
// _id order, a page at a time.
func (d Deps) searchDeliveryRecords(w http.ResponseWriter, r *http.Request) {
	f, after, limit, err := parseRecordSearch(r.URL.Query())
	var re *RedriveError
	if errors.As(err, &re) {
		writeError(w, re.Code, re.Msg, re.Field)
		return
	}
	recs, more, err := d.Store.SearchDeliveryRecords(r.Context(), f, after, limit)
	if !d.storeOK(w, err, "delivery_records") {
		return
	}
	page := recordPage{Items: recs}
	if more {
		page.NextCursor = encodeCursor(recs[len(recs)-1].ID)
	}
	writeJSON(w, http.StatusOK, page)
}

// parseRecordSearch reads a search's query: order_id, invoice_id, webhook_id
// or profile_id, status (a comma-separated list), from and to (RFC 3339, on
// created_at), cursor and limit. A bad value is a 400 naming the parameter.
func parseRecordSearch(q url.Values) (f store.RecordFilter, after string, limit int64, err error) {
	if v := q.Get("order_id"); v != "" {
		f.OrderIDs = []string{v}
	}
	if v := q.Get("invoice_id"); v != "" {
		f.InvoiceIDs = []string{v}
	}
	switch webhookID, profileID := q.Get("webhook_id"), q.Get("profile_id"); {
	case webhookID != "" && profileID != "":
		return f, "", 0, badRedrive("webhook_id", "name webhook_id or profile_id, not both")
	case webhookID != "":
		f.Kind, f.DestinationID = store.KindCRMWebhook, webhookID
	case profileID != "":
		f.Kind, f.DestinationID = store.KindMerchantWebhook, profileID
	}
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !slices.Contains(store.RecordStatuses, st) {
				return f, "", 0, badRedrive("status", "unknown status "+st)
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			if *t.to, err = time.Parse(time.RFC3339, v); err != nil {
				return f, "", 0, badRedrive(t.name, t.name+" must be an RFC 3339 time")
			}
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, "", 0, badRedrive("from", "from must be before to")
	}
	if after, err = decodeCursor(q.Get("cursor")); err != nil {
		return f, "", 0, badRedrive("cursor", "cursor is not one this API returned")
	}
	limit = defaultSearchLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchLimit {
			return f, "", 0, badRedrive("limit", fmt.Sprintf("limit must be 1..%d", maxSearchLimit))
		}
		limit = int64(n)
	}
	return f, after, limit, nil
}

// cursorPrefix versions the cursor's encoding: a cursor is opaque to clients.
const cursorPrefix = "c1."

func encodeCursor(lastID string) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return "", errors.New("bad cursor")
	}
	id, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(id) == 0 {
		return "", errors.New("bad cursor")
	}
	return string(id), nil
}

// testEventRequest is a test event's optional data and whether to send it.
type testEventRequest struct {
	Data map[string]any  `json:"data,omitempty"` // CRM webhooks: the payload's input
	Body json.RawMessage `json:"body,omitempty"` // merchant profiles: the body to sign and send
	Send bool            `json:"send,omitempty"`
}

// testEventTimeout bounds the wait for a test event's workflow.
const testEventTimeout = 90 * time.Second

func (d Deps) testEvent(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req testEventRequest
		if err := decodeJSON(w, r, d.MaxBodyBytes, &req); err != nil {
			writeDecodeError(w, err)
			return
		}
		id := r.PathValue("id")
		if !d.testTargetExists(w, r.Context(), kind, id, req) {
			return
		}
		testID := randomID()
		ctx, cancel := context.WithTimeout(r.Context(), testEventTimeout)
		defer cancel()
		run, err := d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.TestEventWorkflowID(testID), TaskQueue: d.TaskQueue, WorkflowRunTimeout: testEventTimeout,
		}, workflows.TestEvent, activities.TestEventInput{Kind: kind, DestinationID: id, TestID: testID, Data: req.Data, Body: req.Body, Send: req.Send})
		if err != nil {
			d.writeUnavailable(w, "a test event", workflows.TestEventWorkflowID(testID), err)
			return
		}
		var res activities.TestEventResult
		if err := run.Get(ctx, &res); err != nil {
			d.writeTestEventError(w, run.GetID(), err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

func (d Deps) testTargetExists(w http.ResponseWriter, ctx context.Context, kind, id string, req testEventRequest) bool {
	var err error
	switch kind {
	case store.KindCRMWebhook:
		if len(req.Body) > 0 {
			writeError(w, http.StatusBadRequest, "a CRM webhook's test takes data, not body", "body")
			return false
		}
		_, err = d.Store.Webhooks().Get(ctx, id)
	default:
		if req.Data != nil {
			writeError(w, http.StatusBadRequest, "a profile's test takes body, not data", "data")
			return false
		}
		if len(req.Body) > 0 && !json.Valid(req.Body) {
			writeError(w, http.StatusBadRequest, "body must be JSON", "body")
			return false
		}
		_, err = d.Store.Profiles().Get(ctx, id)
	}
	return d.storeOK(w, err, kind)
}

// writeTestEventError answers a test event that could not be built: its
// configuration (auth, signing key) is unusable. Activity errors never carry
// secrets; the message says which part failed.
func (d Deps) writeTestEventError(w http.ResponseWriter, workflowID string, err error) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		writeError(w, http.StatusUnprocessableEntity, "the test event could not be built: "+appErr.Message(), "")
		return
	}
	d.Logger.Warn("test event failed", zap.String("workflow_id", workflowID), zap.Error(err))
	writeError(w, http.StatusBadGateway, "the test event did not complete", "")
}
