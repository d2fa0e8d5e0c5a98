//go:build integration

package tests

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"orderflow/config"
	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/merchant"
	"orderflow/dev/sandbox/payments"
	"orderflow/ingress"
	"orderflow/observability"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// Distinctive recovery secrets: none may reach a log line or an API response.
const (
	merchantHashKey   = "whsec_cmVjb3Zlcnktb3JkZXJmbG93LWRpc3RpbmN0LWtleQ=="
	stripeAPIKey      = "sk_test_DISTINCT_stripe_7c1e"
	billingAPIKey     = "billing_api_DISTINCT_3f9a"
	stripeWebhookSec  = "whsec_stripe_DISTINCT_5b2d"
	recurlyWebhookKey = "recurly_key_DISTINCT_0e4c"
	chargebeePassword = "cb_pass_DISTINCT_9d1f"
	customWebhookSec  = "whsec_Y3VzdG9tLWJpbGxpbmctRElTVElOQ1Qta2V5LTAx"
)

var recoverySecrets = []string{merchantHashKey, stripeAPIKey, billingAPIKey, stripeWebhookSec, recurlyWebhookKey, chargebeePassword, customWebhookSec}

// recoveryStack adds the loopback billing platform, payment processor and
// merchant to a stack, and configures a profile and its connectors through the API.
type recoveryStack struct {
	*stack
	billing    *billing.Platform
	processor  *payments.Processor
	merchant   *merchant.Merchant
	profileID  string
	paymentID  string
	connectors map[string]string // platform → billing connector id
}

func newRecoveryStack(t *testing.T, opts ...func(*config.Config)) *recoveryStack {
	t.Helper()
	r := &recoveryStack{stack: newStack(t, opts...), billing: billing.New(billingAPIKey), processor: payments.New(stripeAPIKey),
		merchant: merchant.New(merchantHashKey), connectors: map[string]string{}}
	return r
}

// configure creates the profile, the payment connector and one billing connector per platform.
func (r *recoveryStack) configure(billingURL, processorURL, merchantURL string, schedule map[string]any) {
	r.t.Helper()
	prof := r.mustCall(201, "POST", "/v1/profiles", map[string]any{
		"merchant_id": "merchant_it", "webhook_url": merchantURL + "/webhooks", "payment_response_hash_key": merchantHashKey,
		"revenue_recovery_retry_algorithm_type": "cascading", "cascading_schedule": schedule,
		"max_random_schedule_delay_in_seconds": 0,
	})
	r.profileID = get[string](r.t, prof, "id")
	if prof["payment_response_hash_key_set"] != true {
		r.t.Fatalf("profile view %v", prof)
	}
	pay := r.mustCall(201, "POST", "/v1/connector-accounts", map[string]any{
		"profile_id": r.profileID, "connector_type": "payment_processor", "connector_name": "stripe", "base_url": processorURL,
		"connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": stripeAPIKey},
	})
	r.paymentID = get[string](r.t, pay, "id")
	for platform, secret := range map[string]string{recovery.Chargebee: chargebeePassword, recovery.StripeBilling: stripeWebhookSec,
		recovery.Recurly: recurlyWebhookKey, recovery.CustomBilling: customWebhookSec} {
		body := map[string]any{
			"profile_id": r.profileID, "connector_type": "billing_processor", "connector_name": platform, "base_url": billingURL,
			"connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": billingAPIKey},
			"connector_webhook_details": map[string]any{"merchant_secret": secret, "username": "cb_user"},
			"feature_metadata": map[string]any{"revenue_recovery": map[string]any{
				"max_retry_count": 5, "billing_connector_retry_threshold": 1,
				"billing_account_reference": map[string]any{r.paymentID: "gw_it"},
			}},
		}
		acct := r.mustCall(201, "POST", "/v1/connector-accounts", body)
		r.connectors[platform] = get[string](r.t, acct, "id")
		if strings.Contains(fmt.Sprint(acct), secret) {
			r.t.Fatalf("connector view shows its secret")
		}
	}
}

func (r *recoveryStack) endpoint(platform string) billing.Endpoint {
	secrets := map[string]string{recovery.Chargebee: chargebeePassword, recovery.StripeBilling: stripeWebhookSec,
		recovery.Recurly: recurlyWebhookKey, recovery.CustomBilling: customWebhookSec}
	return billing.Endpoint{URL: r.api.URL + "/webhooks/revenue_recovery/" + r.profileID + "/" + r.connectors[platform],
		Platform: platform, Secret: secrets[platform], Username: "cb_user"}
}

func (r *recoveryStack) invoice(id string) billing.Invoice {
	return billing.Invoice{ID: id, Amount: 2250, Currency: "USD", Customer: "cus_" + id, PaymentMethod: "pm_" + id, AttemptCount: 2,
		ErrorCode: "card_declined", DeclineCode: "insufficient_funds", GatewayAccountID: "gw_it", TransactionID: "ch_ext_" + id}
}

func (r *recoveryStack) send(platform, kind string, inv billing.Invoice) int {
	r.t.Helper()
	code, _, err := r.billing.Send(context.Background(), r.endpoint(platform), kind, inv)
	if err != nil {
		r.t.Fatal(err)
	}
	return code
}

// byInvoice lists the workflows the Temporal UI shows for `InvoiceID = "…"`.
func (r *recoveryStack) byInvoice(invoiceID string) []string {
	resp, err := r.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("InvoiceID = %q AND TaskQueue = %q", invoiceID, r.cfg.Temporal.TaskQueue)})
	if err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	for _, e := range resp.Executions {
		ids = append(ids, e.Execution.WorkflowId)
	}
	return ids
}

func (r *recoveryStack) accepted(invoiceID string) []merchant.Received {
	var out []merchant.Received
	for _, m := range r.merchant.Accepted() {
		obj, _ := lookup[map[string]any](m.Body, "content", "object") // a webhook of another shape is not this invoice's
		if obj["merchant_reference_id"] == invoiceID {
			out = append(out, m)
		}
	}
	return out
}

// setup starts the loopback billing platform, processor and merchant and configures them.
func (r *recoveryStack) setup(schedule map[string]any) {
	r.t.Helper()
	b := httptest.NewServer(r.billing.Handler())
	p := httptest.NewServer(r.processor.Handler())
	m := httptest.NewServer(r.merchant.Handler())
	r.t.Cleanup(func() { b.Close(); p.Close(); m.Close() })
	r.configure(b.URL, p.URL, m.URL, schedule)
}

// seconds is a short cascading schedule: retries 2 s apart.
var seconds = map[string]any{"start_after_seconds": 1, "frequencies": []map[string]any{{"delay_seconds": 2, "count": 5}}}

// A failed-payment webhook from each platform starts a workflow visible by
// InvoiceID; the second retry succeeds; the merchant receives exactly one
// correctly signed payment_succeeded; the processor saw one charge per
// attempt; the platform got the record-back.
func TestRecoveryFromEachPlatformEndsInOneSignedWebhook(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	for _, platform := range []string{recovery.Chargebee, recovery.StripeBilling, recovery.Recurly, recovery.CustomBilling} {
		t.Run(platform, func(t *testing.T) {
			inv := r.invoice("inv_" + platform)
			r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"})
			if code := r.send(platform, billing.Failed, inv); code != 200 {
				t.Fatalf("webhook answered %d", code)
			}
			wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
			eventually(t, 30*time.Second, "the workflow to be visible by InvoiceID", func() bool {
				ids := r.byInvoice(inv.ID)
				return len(ids) == 1 && ids[0] == wfID
			})
			var res workflows.RecoveryResult
			r.waitWorkflow(wfID, &res)
			if platform == recovery.Recurly {
				r.recordHistory(wfID, "revenue_recovery_history.json")
			}
			if res.Status != workflows.RecoverySucceededInternal || res.RetryCount != 2 {
				t.Errorf("result %+v", res)
			}
			charges := r.processor.ChargesFor(inv.ID)
			if len(charges) != 2 || charges[0].IdempotencyKey == charges[1].IdempotencyKey ||
				charges[1].Customer != inv.Customer || charges[1].PaymentMethod != inv.PaymentMethod || charges[1].Amount != 2250 || !charges[1].OffSession {
				t.Errorf("charges %+v", charges)
			}
			got := r.accepted(inv.ID)
			if len(got) != 1 || !got[0].Verified() || got[0].EventType != "payment_succeeded" ||
				got[0].EventID != workflows.RecoveryWebhookEventID(wfID, "payment_succeeded") {
				t.Fatalf("merchant got %+v", got)
			}
			obj := get[map[string]any](t, got[0].Body, "content", "object")
			if obj["connector_transaction_id"] != charges[1].PaymentIntentID || got[0].Body["merchant_id"] != "merchant_it" {
				t.Errorf("webhook body %v", got[0].Body)
			}
			if platform != recovery.CustomBilling {
				n := 0
				for _, rb := range r.billing.RecordBacks() {
					if rb.InvoiceID == inv.ID && rb.Platform == platform {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d record-backs, want 1", n)
				}
			}
			// The API shows schedule, attempts and the delivery log.
			st := r.mustCall(200, "GET", "/v1/recoveries/"+r.profileID+"/"+inv.ID, nil)
			if len(get[[]any](t, st, "payment_attempts")) != 2 || len(get[[]any](t, st, "webhook_deliveries")) != 1 {
				t.Errorf("recovery state %v", st)
			}
		})
	}
	// The platform's late success webhook for our own payment changes nothing.
	inv := r.invoice("inv_" + recovery.CustomBilling)
	charges := r.processor.ChargesFor(inv.ID)
	inv.TransactionID = charges[len(charges)-1].PaymentIntentID
	if code := r.send(recovery.CustomBilling, billing.Succeeded, inv); code != 200 {
		t.Errorf("late success answered %d", code)
	}
	evs, err := r.store.RecoveryEvents(context.Background(), r.profileID, inv.ID)
	if err != nil || len(evs) != 2 || evs[0].Action != string(recovery.NoAction) {
		t.Errorf("events %+v %v", evs, err)
	}

	// Past Temporal's retention (here: the closed run deleted) a late failure
	// event for an invoice we were paid for starts nothing and charges nothing.
	paid := r.invoice("inv_" + recovery.Chargebee)
	paidID := workflows.RevenueRecoveryWorkflowID(r.profileID, paid.ID)
	ctx := context.Background()
	if _, err := r.temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: paidID}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the closed recovery to be forgotten", func() bool {
		_, err := r.temporal.DescribeWorkflowExecution(ctx, paidID, "")
		var notFound *serviceerror.NotFound
		return errors.As(err, &notFound)
	})
	before := len(r.processor.ChargesFor(paid.ID))
	paid.TransactionID = "ch_late_failure"
	if code := r.send(recovery.Chargebee, billing.Failed, paid); code != 200 {
		t.Fatalf("late failure answered %d", code)
	}
	if _, err := r.temporal.DescribeWorkflowExecution(ctx, paidID, ""); err == nil {
		t.Error("a late failure restarted the recovery of a paid invoice")
	}
	evs, err = r.store.RecoveryEvents(ctx, r.profileID, paid.ID)
	if err != nil || len(evs) == 0 || evs[0].Outcome != "already_finished" || len(r.processor.ChargesFor(paid.ID)) != before {
		t.Errorf("late failure: events %+v, charges %d (had %d), %v", evs, len(r.processor.ChargesFor(paid.ID)), before, err)
	}
}

// Bad signatures → 401 and nothing started; malformed → 400; unknown
// connector → 404; oversized → 413; duplicates change nothing; an event below
// the platform's retry threshold is only recorded.
func TestRecoveryWebhookRefusals(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	ctx := context.Background()
	post := func(url string, hdr http.Header, body string) int {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, platform := range []string{recovery.Chargebee, recovery.StripeBilling, recovery.Recurly, recovery.CustomBilling} {
		inv := r.invoice("inv_bad_" + platform)
		body, id := r.billing.Body(platform, billing.Failed, inv)
		e := r.endpoint(platform)
		wrong := e
		wrong.Secret = strings.Replace(e.Secret, "DISTINCT", "WRONGKEY", 1) + "x"
		if platform == recovery.CustomBilling {
			wrong.Secret = "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0xMjM0"
		}
		if code, _ := r.billing.Post(ctx, wrong, id, body); code != 401 {
			t.Errorf("%s wrong secret: %d, want 401", platform, code)
		}
		// Correctly signed, then tampered.
		h := http.Header{}
		_ = billing.Sign(h, e, id, body, time.Now())
		tampered := strings.Replace(string(body), "{", "{ ", 1) // same JSON, other bytes
		if platform != recovery.Chargebee {                     // Basic auth does not cover the body
			if code := post(e.URL, h, tampered); code != 401 {
				t.Errorf("%s tampered: %d, want 401", platform, code)
			}
		}
		stale := http.Header{}
		_ = billing.Sign(stale, e, id, body, time.Now().Add(-10*time.Minute))
		if platform != recovery.Chargebee {
			if code := post(e.URL, stale, string(body)); code != 401 {
				t.Errorf("%s stale: %d, want 401", platform, code)
			}
		}
		if code := post(e.URL, http.Header{}, string(body)); code != 401 {
			t.Errorf("%s unsigned: %d, want 401", platform, code)
		}
		if ids := r.byInvoice(inv.ID); len(ids) != 0 {
			t.Errorf("%s: refused webhook started %v", platform, ids)
		}
		// Malformed but correctly signed.
		garbage := []byte(`{"id":"x","event_type":`)
		if code, _ := r.billing.Post(ctx, e, "msg_garbage", garbage); code != 400 {
			t.Errorf("%s malformed: %d, want 400", platform, code)
		}
	}
	if n := r.count(store.RecoveryEventsCollection); n != 0 {
		t.Errorf("refused webhooks recorded %d events", n)
	}

	inv := r.invoice("inv_dup")
	body, id := r.billing.Body(recovery.CustomBilling, billing.Failed, inv)
	e := r.endpoint(recovery.CustomBilling)
	unknown := e
	unknown.URL = r.api.URL + "/webhooks/revenue_recovery/" + r.profileID + "/64c000000000000000000099"
	if code, _ := r.billing.Post(ctx, unknown, id, body); code != 404 {
		t.Errorf("unknown connector: %d, want 404", code)
	}
	otherProfile := e
	otherProfile.URL = r.api.URL + "/webhooks/revenue_recovery/64c000000000000000000098/" + r.connectors[recovery.CustomBilling]
	if code, _ := r.billing.Post(ctx, otherProfile, id, body); code != 404 {
		t.Errorf("connector under another profile: %d, want 404", code)
	}
	big := []byte(`{"type":"invoice.payment_failed","data":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`)
	if code, _ := r.billing.Post(ctx, e, "msg_big", big); code != 413 {
		t.Errorf("oversized: %d, want 413", code)
	}

	// The same delivery three times: one workflow, one recorded platform attempt.
	for i := 0; i < 3; i++ {
		if code, _ := r.billing.Post(ctx, e, id, body); code != 200 {
			t.Fatalf("delivery %d: %d", i, code)
		}
	}
	wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	eventually(t, 30*time.Second, "the duplicate-fed workflow to finish", func() bool {
		d, err := r.temporal.DescribeWorkflowExecution(ctx, wfID, "")
		return err == nil && d.WorkflowExecutionInfo.CloseTime != nil
	})
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	if res.Status != workflows.RecoverySucceededInternal || res.RetryCount != 1 || len(r.processor.ChargesFor(inv.ID)) != 1 || len(r.accepted(inv.ID)) != 1 {
		t.Errorf("duplicates: result %+v, charges %d, webhooks %d", res, len(r.processor.ChargesFor(inv.ID)), len(r.accepted(inv.ID)))
	}
	// Delivered again after the recovery finished: still nothing new.
	if code, _ := r.billing.Post(ctx, e, id, body); code != 200 || len(r.processor.ChargesFor(inv.ID)) != 1 {
		t.Errorf("late duplicate: %d, charges %d", code, len(r.processor.ChargesFor(inv.ID)))
	}

	// Below billing_connector_retry_threshold (1): the platform is still dunning.
	early := r.invoice("inv_early")
	early.AttemptCount = 1
	if code := r.send(recovery.Chargebee, billing.Failed, early); code != 200 {
		t.Errorf("below threshold: %d", code)
	}
	if ids := r.byInvoice(early.ID); len(ids) != 0 {
		t.Errorf("below threshold started %v", ids)
	}
	evs, _ := r.store.RecoveryEvents(ctx, r.profileID, early.ID)
	if len(evs) != 1 || evs[0].Outcome != "below_threshold" {
		t.Errorf("below-threshold event %+v", evs)
	}
	// No stored payment method: nothing to retry off-session with.
	bare := r.invoice("inv_bare")
	bare.PaymentMethod = ""
	if code := r.send(recovery.CustomBilling, billing.Failed, bare); code != 200 {
		t.Errorf("no payment method: %d", code)
	}
	evs, _ = r.store.RecoveryEvents(ctx, r.profileID, bare.ID)
	if ids := r.byInvoice(bare.ID); len(ids) != 0 || len(evs) != 1 || evs[0].Outcome != "no_payment_method" {
		t.Errorf("no payment method started %v, events %+v", ids, evs)
	}
}

// External success and cancellation stop a waiting recovery with no webhook.
func TestRecoveryStopsOnExternalSuccessAndCancel(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	slow := map[string]any{"start_after_seconds": 1, "frequencies": []map[string]any{{"delay_seconds": 3600, "count": 3}}}
	r.setup(slow)
	for kind, want := range map[string]string{billing.Succeeded: workflows.RecoverySucceededExternal, billing.Cancelled: workflows.RecoveryCancelled} {
		inv := r.invoice("inv_stop_" + kind)
		if code := r.send(recovery.StripeBilling, billing.Failed, inv); code != 200 {
			t.Fatalf("failed webhook %d", code)
		}
		wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
		eventually(t, 30*time.Second, "the recovery to wait on its timer", func() bool {
			v, err := r.temporal.QueryWorkflow(context.Background(), wfID, "", workflows.RecoveryStateQuery)
			var view workflows.RecoveryView
			return err == nil && v.Get(&view) == nil && view.State.Status == workflows.RecoveryScheduled
		})
		inv.TransactionID = "ch_other_" + kind
		if code := r.send(recovery.StripeBilling, kind, inv); code != 200 {
			t.Fatalf("%s webhook %d", kind, code)
		}
		var res workflows.RecoveryResult
		r.waitWorkflow(wfID, &res)
		if kind == billing.Succeeded {
			r.recordHistory(wfID, "revenue_recovery_external_success_history.json")
		}
		if res.Status != want || len(r.processor.ChargesFor(inv.ID)) != 0 || len(r.accepted(inv.ID)) != 0 {
			t.Errorf("%s: result %+v", kind, res)
		}
	}
}

// Hyperswitch's recovery API (POST /v2/payments/recovery) starts a recovery too.
func TestRecoveryAPI(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	req := map[string]any{
		"amount_details": map[string]any{"order_amount": 2250, "currency": "USD"}, "merchant_reference_id": "inv_api_1",
		"connector_transaction_id": "1831984", "connector_customer_id": "cus_api", "error": map[string]any{"code": "110", "message": "Insufficient Funds"},
		"billing": map[string]any{"address": map[string]any{"state": "CA", "country": "US"}}, "payment_method_type": "card",
		"payment_method_sub_type": "credit",
		"payment_method_data": map[string]any{"primary_processor_payment_method_token": "pm_api",
			"additional_payment_method_info": map[string]any{"card_exp_month": "12", "card_exp_year": "25", "last_four_digits": 1997, "card_network": "Visa", "card_issuer": "Wells Fargo NA", "card_type": "credit"}},
		"billing_started_at": "2024-05-29T08:10:58Z", "transaction_created_at": "2024-05-29T08:10:58Z", "attempt_status": "failure",
		"action": "schedule_failed_payment", "billing_merchant_connector_id": r.connectors[recovery.CustomBilling],
		"payment_merchant_connector_id": r.paymentID,
	}
	code, out := r.callWithProfile("POST", "/v2/payments/recovery", req, r.profileID)
	if code != 200 || out["outcome"] != "signalled" {
		t.Fatalf("recovery API: %d %v", code, out)
	}
	var res workflows.RecoveryResult
	r.waitWorkflow(workflows.RevenueRecoveryWorkflowID(r.profileID, "inv_api_1"), &res)
	if res.Status != workflows.RecoverySucceededInternal || len(r.accepted("inv_api_1")) != 1 {
		t.Errorf("result %+v", res)
	}
	delete(req, "merchant_reference_id")
	if code, out := r.callWithProfile("POST", "/v2/payments/recovery", req, r.profileID); code != 400 || out["field"] != "merchant_reference_id" {
		t.Errorf("missing field: %d %v", code, out)
	}
	if code, _ := r.call("POST", "/v2/payments/recovery", req); code != 400 {
		t.Errorf("no profile header: %d", code)
	}
	unauth, _ := http.NewRequest("POST", r.api.URL+"/v2/payments/recovery", strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(unauth)
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("without API key: %v %v", resp, err)
	}
	resp.Body.Close()
}

// callWithProfile is stack.call with the recovery API's X-Profile-Id header.
func (r *recoveryStack) callWithProfile(method, path string, body any, profileID string) (int, map[string]any) {
	r.t.Helper()
	return r.raw(method, path, map[string]string{"X-API-Key": apiKey, "X-Profile-Id": profileID}, r.encode(body))
}

// The real worker binary killed with SIGKILL mid-schedule and restarted still
// completes the recovery with one webhook and one charge per attempt.
func TestRecoveryWorkerKilledMidScheduleStillSendsOneWebhook(t *testing.T) {
	r := newRecoveryStack(t)
	r.setup(map[string]any{"start_after_seconds": 1, "frequencies": []map[string]any{{"delay_seconds": 3, "count": 5}}})
	inv := r.invoice("inv_kill")
	r.processor.Script(inv.PaymentMethod,
		payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"},
		payments.Outcome{Kind: payments.Decline, DeclineCode: "try_again_later"})
	w := r.startWorkerProcess()
	if code := r.send(recovery.Chargebee, billing.Failed, inv); code != 200 {
		t.Fatalf("webhook %d", code)
	}
	wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	eventually(t, time.Minute, "the first retry to be made and the next to be scheduled", func() bool {
		v, err := r.temporal.QueryWorkflow(context.Background(), wfID, "", workflows.RecoveryStateQuery)
		var view workflows.RecoveryView
		return err == nil && v.Get(&view) == nil && view.State.RetryCount == 1 && view.State.Status == workflows.RecoveryScheduled
	})
	if err := w.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w.Wait()
	chargesAtKill := len(r.processor.ChargesFor(inv.ID))

	r.startWorkerProcess()
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	charges := r.processor.ChargesFor(inv.ID)
	keys := map[string]bool{}
	for _, c := range charges {
		keys[c.IdempotencyKey] = true
	}
	if res.Status != workflows.RecoverySucceededInternal || res.RetryCount != 3 || chargesAtKill != 1 || len(charges) != 3 || len(keys) != 3 {
		t.Errorf("result %+v, charges at kill %d, charges %d, distinct keys %d", res, chargesAtKill, len(charges), len(keys))
	}
	if got := r.accepted(inv.ID); len(got) != 1 || len(r.merchant.Received()) != 1 {
		t.Errorf("merchant accepted %d, received %d; want 1 and 1", len(got), len(r.merchant.Received()))
	}
}

// With Temporal unreachable the webhook answers 503 and nothing is recorded,
// so the platform redelivers.
func TestRecoveryWebhookAnswers503WhenTemporalIsUnreachable(t *testing.T) {
	r := newRecoveryStack(t)
	r.setup(seconds)
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	logger, _ := observability.NewLogger("info", r.logs)
	api := httptest.NewServer(ingress.Router(ingress.Deps{
		Store: r.store, Temporal: dead, TaskQueue: r.cfg.Temporal.TaskQueue, APIKey: apiKey,
		MaxBodyBytes: r.cfg.HTTP.MaxBodyBytes, Logger: logger, Metrics: observability.NewMetrics(),
	}))
	defer api.Close()
	e := r.endpoint(recovery.CustomBilling)
	e.URL = strings.Replace(e.URL, r.api.URL, api.URL, 1)
	code, _, err := r.billing.Send(context.Background(), e, billing.Failed, r.invoice("inv_503"))
	if err != nil || code != 503 {
		t.Errorf("got %d %v, want 503", code, err)
	}
	if n := r.count(store.RecoveryEventsCollection); n != 0 {
		t.Errorf("%d events recorded", n)
	}
}

// Profiles and connector accounts: validation names the field, secrets are
// write-only (never returned, kept when an update leaves them out), references are checked.
func TestRecoveryConfigurationAPI(t *testing.T) {
	r := newRecoveryStack(t)
	r.setup(seconds)
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"webhook_url": "http://x/y"}, "merchant_id"},
		{map[string]any{"merchant_id": "m", "webhook_url": "ftp://x"}, "webhook_url"},
		{map[string]any{"merchant_id": "m", "webhook_url": "http://x", "revenue_recovery_retry_algorithm_type": "random"}, "revenue_recovery_retry_algorithm_type"},
		{map[string]any{"merchant_id": "m", "webhook_url": "http://x", "revenue_recovery_retry_algorithm_type": "adaptive", "time_zone": "Asia/Atlantis"}, "time_zone"},
		{map[string]any{"merchant_id": "m", "webhook_url": "http://x", "cascading_schedule": map[string]any{"frequencies": []any{}}}, "cascading_schedule"},
		{map[string]any{"merchant_id": "m", "webhook_url": "http://x", "payment_response_hash_key": "short"}, "payment_response_hash_key"},
	} {
		if code, out := r.call("POST", "/v1/profiles", tc.body); code != 400 || out["field"] != tc.field {
			t.Errorf("profile %v: %d %v, want 400 on %s", tc.body, code, out, tc.field)
		}
	}
	adaptive := r.mustCall(201, "POST", "/v1/profiles", map[string]any{"merchant_id": "m", "webhook_url": "http://x",
		"revenue_recovery_retry_algorithm_type": "adaptive", "time_zone": "Europe/London"})
	if adaptive["revenue_recovery_retry_algorithm_type"] != "adaptive" || adaptive["time_zone"] != "Europe/London" {
		t.Errorf("adaptive profile %v", adaptive)
	}
	r.mustCall(204, "DELETE", "/v1/profiles/"+get[string](t, adaptive, "id"), nil)
	billingBody := func() map[string]any {
		return map[string]any{"profile_id": r.profileID, "connector_type": "billing_processor", "connector_name": "recurly",
			"base_url": "http://127.0.0.1:1", "connector_account_details": map[string]any{"api_key": billingAPIKey},
			"connector_webhook_details": map[string]any{"merchant_secret": recurlyWebhookKey},
			"feature_metadata": map[string]any{"revenue_recovery": map[string]any{"max_retry_count": 3, "billing_connector_retry_threshold": 0,
				"billing_account_reference": map[string]any{r.paymentID: "gw"}}}}
	}
	for field, mutate := range map[string]func(map[string]any){
		"connector_name": func(b map[string]any) { b["connector_name"] = "paypal" },
		"profile_id":     func(b map[string]any) { b["profile_id"] = "64c000000000000000000001" },
		"connector_webhook_details.merchant_secret": func(b map[string]any) { b["connector_webhook_details"] = map[string]any{} },
		"feature_metadata.revenue_recovery.billing_account_reference": func(b map[string]any) {
			b["feature_metadata"] = map[string]any{"revenue_recovery": map[string]any{"billing_account_reference": map[string]any{"64c000000000000000000002": "gw"}}}
		},
		"base_url":        func(b map[string]any) { b["base_url"] = "not a url" },
		"metadata.$where": func(b map[string]any) { b["metadata"] = map[string]any{"$where": 1} },
	} {
		b := billingBody()
		mutate(b)
		if code, out := r.call("POST", "/v1/connector-accounts", b); code != 400 || out["field"] != field {
			t.Errorf("%s: %d %v", field, code, out)
		}
	}
	created := r.mustCall(201, "POST", "/v1/connector-accounts", billingBody())
	id := get[string](t, created, "id")
	if got := fmt.Sprint(created["secrets_set"]); !strings.Contains(got, "merchant_secret") || !strings.Contains(got, "api_key") {
		t.Errorf("secrets_set %v", created["secrets_set"])
	}
	// An update that leaves the secrets out keeps them: the webhook still verifies.
	upd := billingBody()
	upd["connector_webhook_details"] = map[string]any{}
	upd["connector_account_details"] = map[string]any{"auth_type": "HeaderKey"}
	r.mustCall(200, "PUT", "/v1/connector-accounts/"+id, upd)
	acct, err := r.store.ConnectorAccount(context.Background(), id)
	if err != nil || acct.WebhookDetails.MerchantSecret != recurlyWebhookKey || acct.AccountDetails.APIKey != billingAPIKey {
		t.Errorf("secrets not kept on update: %v", err)
	}
	// A new base_url must come with its API key: the stored key is never sent to a host it was not given for.
	moved := billingBody()
	moved["base_url"] = "http://attacker.invalid"
	moved["connector_account_details"] = map[string]any{"auth_type": "HeaderKey"}
	if code, out := r.call("PUT", "/v1/connector-accounts/"+id, moved); code != 400 || out["field"] != "connector_account_details.api_key" {
		t.Errorf("base_url moved without its key: %d %v, want 400 on connector_account_details.api_key", code, out)
	}
	if acct, err = r.store.ConnectorAccount(context.Background(), id); err != nil || acct.BaseURL != "http://127.0.0.1:1" {
		t.Errorf("a refused update changed the account: %q, %v", acct.BaseURL, err)
	}
	for _, path := range []string{"/v1/connector-accounts/" + id, "/v1/connector-accounts", "/v1/profiles", "/v1/profiles/" + r.profileID} {
		r.mustCall(200, "GET", path, nil) // the secret scan at cleanup checks every response
	}
	r.mustCall(404, "GET", "/v1/connector-accounts/64c000000000000000000003", nil)
	// The payment connector is referenced by billing connectors; the profile has connectors.
	r.mustCall(409, "DELETE", "/v1/connector-accounts/"+r.paymentID, nil)
	r.mustCall(409, "DELETE", "/v1/profiles/"+r.profileID, nil)
	r.mustCall(204, "DELETE", "/v1/connector-accounts/"+id, nil)
}
