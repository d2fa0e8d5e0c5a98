//go:build integration

package tests

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"orderflow/ingress"
	"orderflow/observability"

	"orderflow/tracking"
	"orderflow/workflows"
)

var base = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// (a) An order moved to rto through the status-update path makes the CRM
// receive exactly one POST with the RTO webhook's mapping and the auth endpoint's token.
// (b) Later updates send nothing more.
func TestFirstRTOPostsSeedPayloadOnceAndLaterUpdatesSendNothing(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	hookID := s.configureRTOWebhook()
	order := s.insertOrder("9876500001", 1499)

	updateID := s.report(order, tracking.RTO, base)
	s.waitWorkflow(updateID, nil)
	var res workflows.RTOCancelResult
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), &res)
	s.recordHistory(updateID, "status_update_history.json")
	s.recordHistory(workflows.RTOCancelWorkflowID(order), "rto_cancel_history.json")

	got := s.crm.Received()
	if len(got) != 1 {
		t.Fatalf("CRM received %d POSTs, want 1", len(got))
	}
	want := map[string]any{"phone_number": "9876500001", "order_id": order, "order_source": "Shopify", "order_value": 1499.0, "status": "rto"}
	if len(got[0].Body) != len(want) {
		t.Errorf("body %v, want exactly %v", got[0].Body, want)
	}
	for k, v := range want {
		if got[0].Body[k] != v {
			t.Errorf("body[%s] = %v, want %v", k, got[0].Body[k], v)
		}
	}
	if !got[0].Authorized || got[0].StatusCode != 200 || s.crm.TokenCalls() != 1 {
		t.Errorf("authorized=%v code=%d tokens=%d", got[0].Authorized, got[0].StatusCode, s.crm.TokenCalls())
	}
	if got[0].IdempotencyKey != workflows.WebhookIdempotencyKey(order, hookID) {
		t.Errorf("idempotency key %q", got[0].IdempotencyKey)
	}
	if !res.Claimed || len(res.Deliveries) != 1 || res.Deliveries[0].Status != workflows.DeliveryDelivered {
		t.Errorf("RTOCancel result %+v", res)
	}

	// (b) rto in transit, rto delivered and the same rto again: nothing more.
	for i, st := range []string{tracking.RTOInTransit, tracking.RTODelivered, tracking.RTO} {
		var upd workflows.StatusUpdateResult
		s.waitWorkflow(s.report(order, st, base.Add(time.Duration(i+1)*time.Hour)), &upd)
		if len(upd.RTOCancelsStarted) != 0 {
			t.Errorf("%s started %v", st, upd.RTOCancelsStarted)
		}
	}
	if n := len(s.crm.Received()); n != 1 {
		t.Errorf("CRM received %d POSTs after later updates, want 1", n)
	}
	// The status path kept the newest status and every first-seen time.
	code, state := s.call("GET", "/v1/orders/"+order+"/rto", nil)
	if stage, _ := lookup[string](state, "state", "stage"); code != 200 || stage != workflows.StageDone {
		t.Errorf("rto state: %d %v", code, state)
	}
}

// (c) 20 concurrent callers reporting RTO for the same order give one POST.
func TestConcurrentRTOReportsGiveOnePost(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.configureRTOWebhook()
	order := s.insertOrder("9876500002", 250)

	ids := make([]string, 20)
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Distinct event times make 20 distinct reports racing for the first RTO.
			ids[i], errs[i] = s.tryReport(order, tracking.RTO, base.Add(time.Duration(i)*time.Millisecond))
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	started := 0
	for _, id := range ids {
		var upd workflows.StatusUpdateResult
		s.waitWorkflow(id, &upd)
		started += len(upd.RTOCancelsStarted)
	}
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	if started != 1 {
		t.Errorf("%d reports started an RTOCancel, want 1", started)
	}
	if n := len(s.crm.Received()); n != 1 {
		t.Errorf("CRM received %d POSTs, want 1", n)
	}
}

// (d) The worker process killed with SIGKILL mid-workflow and restarted still gives exactly one POST.
func TestWorkerKilledMidWorkflowStillPostsOnce(t *testing.T) {
	s := newStack(t)
	s.configureRTOWebhook()
	order := s.insertOrder("9876500003", 999)
	s.crm.FailNext(500, 500, 500)

	w := s.startWorkerProcess()
	s.report(order, tracking.RTOInTransit, base)

	// Kill while the delivery waits on the server to retry: the workflow is mid-way
	// (claimed, marketplace looked up, webhook selected, two POSTs failed).
	rtoID := workflows.RTOCancelWorkflowID(order)
	eventually(t, time.Minute, "the third delivery attempt to be scheduled", func() bool {
		desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), rtoID, "")
		if err != nil || len(desc.PendingActivities) == 0 {
			return false
		}
		pa := desc.PendingActivities[0]
		return pa.Attempt >= 3 && pa.State == enums.PENDING_ACTIVITY_STATE_SCHEDULED
	})
	if err := w.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w.Wait()
	t.Log(s.logs.String())
	before := len(s.crm.Received())

	s.startWorkerProcess()
	var res workflows.RTOCancelResult
	s.waitWorkflow(rtoID, &res)
	if n := len(s.crm.Accepted()); n != 1 {
		t.Errorf("CRM accepted %d POSTs, want 1", n)
	}
	if n := len(s.crm.Received()); n != before+2 || before != 2 {
		// 2 failures before the kill; after it one more failure and the success.
		t.Errorf("CRM received %d before the kill and %d in all; want 2 and 4", before, n)
	}
	if res.Deliveries[0].Status != workflows.DeliveryDelivered {
		t.Errorf("result %+v", res)
	}
}

// (e) A CRM failing three times then succeeding gives one delivery and four logged attempts.
func TestCRMFailingThreeTimesGivesOneDeliveryAndFourLoggedAttempts(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	hookID := s.configureRTOWebhook()
	order := s.insertOrder("9876500004", 75)
	s.crm.FailNext(503, 500, 502)

	s.waitWorkflow(s.report(order, tracking.RTO, base), nil)
	s.waitWorkflow(workflows.RTOCancelWorkflowID(order), nil)
	if n := len(s.crm.Accepted()); n != 1 {
		t.Fatalf("CRM accepted %d, want 1", n)
	}
	log := s.items("/v1/webhook-deliveries?order_id=" + order)
	if len(log) != 4 {
		t.Fatalf("delivery log has %d attempts, want 4: %v", len(log), log)
	}
	oks := 0
	for _, d := range log {
		if d["webhook_id"] != hookID || d["order_id"] != order {
			t.Errorf("log row %v", d)
		}
		if d["ok"] == true {
			oks++
		}
	}
	failed := s.items("/v1/webhook-deliveries?failed=true&webhook_id=" + hookID)
	if oks != 1 || len(failed) != 3 {
		t.Errorf("%d ok rows and %d failed rows, want 1 and 3", oks, len(failed))
	}
}

// A report is durable only once Temporal holds it: with Temporal unreachable
// the API answers 503 (and Retry-After) so the sender retries, and writes nothing.
func TestStatusReportAnswers503WhenTemporalIsUnreachable(t *testing.T) {
	s := newStack(t)
	order := s.insertOrder("9876500005", 10)
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	logger, _ := observability.NewLogger("info", s.logs)
	api := httptest.NewServer(ingress.Router(ingress.Deps{
		Store: s.store, Temporal: dead, TaskQueue: s.cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: s.cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: observability.NewMetrics(),
	}))
	defer api.Close()
	before := s.counts()

	req, _ := http.NewRequest("POST", api.URL+"/v1/orders/"+order+"/tracking", strings.NewReader(`{"status":"rto"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for c, n := range s.counts() {
		if before[c] != n {
			t.Errorf("%s changed", c)
		}
	}
}
