//go:build integration

package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// hardDecline runs an invoice's recovery to hard_declined: its first retry
// is refused with a decline code that forbids retrying.
func (r *recoveryStack) hardDecline(platform string, inv billing.Invoice) string {
	r.t.Helper()
	r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, Code: "card_declined", DeclineCode: "stolen_card"})
	if code := r.send(platform, billing.Failed, inv); code != 200 {
		r.t.Fatalf("failed-payment webhook answered %d", code)
	}
	wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	if res.Status != workflows.RecoveryHardDeclined || res.RetryCount != 1 {
		r.t.Fatalf("first generation ended %+v, want hard_declined after one retry", res)
	}
	return wfID
}

// postJSON signs and posts a platform's webhook body built by the test.
func (r *recoveryStack) postJSON(platform, eventID string, body any) int {
	r.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		r.t.Fatal(err)
	}
	code, err := r.billing.Post(context.Background(), r.endpoint(platform), eventID, raw)
	if err != nil {
		r.t.Fatal(err)
	}
	return code
}

// stripeMethodAttached is Stripe's payment_method.attached for a customer's new card.
func stripeMethodAttached(eventID, customer, pm string) map[string]any {
	return map[string]any{"id": eventID, "object": "event", "api_version": "2024-06-20", "created": time.Now().Unix(),
		"type": "payment_method.attached", "livemode": false,
		"data": map[string]any{"object": map[string]any{"id": pm, "object": "payment_method", "customer": customer, "type": "card",
			"card": map[string]any{"brand": "mastercard", "funding": "debit", "last4": "4444"}}}}
}

// succeededPayments are the merchant's verified payment_succeeded webhooks of an invoice.
func (r *recoveryStack) succeededPayments(invoiceID string) int {
	n := 0
	for _, m := range r.accepted(invoiceID) {
		if m.EventType == recovery.EventPaymentSucceeded {
			n++
		}
	}
	return n
}

// waitRestarted waits for the recovery's latest run (a new generation) to close.
func (r *recoveryStack) waitRestarted(wfID string, firstRunID string) workflows.RecoveryResult {
	r.t.Helper()
	eventually(r.t, 30*time.Second, "a new run of the recovery", func() bool {
		d, err := r.temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
		return err == nil && d.WorkflowExecutionInfo.Execution.RunId != firstRunID
	})
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	return res
}

func (r *recoveryStack) runID(wfID string) string {
	r.t.Helper()
	d, err := r.temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
	if err != nil {
		r.t.Fatal(err)
	}
	return d.WorkflowExecutionInfo.Execution.RunId
}

// A card update after hard_declined resumes the recovery in a new generation:
// it charges the new card at once, under a key of its own (never the first
// generation's), and the merchant gets one payment_succeeded.
func TestCardUpdateAfterHardDeclineResumesUnderNewKeys(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	inv := r.invoice("inv_card_update")
	wfID := r.hardDecline(recovery.StripeBilling, inv)
	r.recordHistory(wfID, "revenue_recovery_hard_declined_pre_restart_history.json")
	first := r.runID(wfID)
	before := r.processor.ChargesFor(inv.ID)
	if code := r.postJSON(recovery.StripeBilling, "evt_pm_attached_1", stripeMethodAttached("evt_pm_attached_1", inv.Customer, "pm_new_card")); code != 200 {
		t.Fatalf("card update answered %d", code)
	}
	res := r.waitRestarted(wfID, first)
	if res.Status != workflows.RecoverySucceededInternal || res.RetryCount != 2 {
		t.Errorf("resumed recovery %+v, want succeeded at retry 2", res)
	}
	charges := r.processor.ChargesFor(inv.ID)
	if len(before) != 1 || len(charges) != 2 {
		t.Fatalf("charges before %d, after %d; want 1 and 2", len(before), len(charges))
	}
	if c := charges[1]; c.PaymentMethod != "pm_new_card" || c.IdempotencyKey == before[0].IdempotencyKey ||
		c.IdempotencyKey != workflows.RecoveryGenerationPaymentIdempotencyKey(wfID, 1, 1) {
		t.Errorf("resumed charge %+v (first key %s)", c, before[0].IdempotencyKey)
	}
	if n := r.succeededPayments(inv.ID); n != 1 {
		t.Errorf("%d payment_succeeded webhooks, want 1", n)
	}
	restarts, err := r.store.RecoveryRestarts(context.Background(), r.profileID, inv.ID)
	if err != nil || len(restarts) != 1 || restarts[0].Trigger != "card_update" || restarts[0].Outcome != "restarted" {
		t.Errorf("restart audit %+v, %v", restarts, err)
	}
}

// The restart API: refusals (open → 409, unknown → 404, no reason → 400),
// then a hard-declined recovery restarted by an operator charges under a new
// attempt key and sends one payment_succeeded; restarting it again is refused.
func TestRecoveryRestartAPI(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	path := func(invoiceID string) string { return "/v1/recoveries/" + r.profileID + "/" + invoiceID + "/restart" }
	reason := map[string]any{"reason": "customer called: card unblocked"}

	r.mustCall(404, "POST", path("inv_never_seen"), reason)
	open := r.invoice("inv_restart_open")
	r.processor.Script(open.PaymentMethod, softDecline(), softDecline(), softDecline(), softDecline(), softDecline())
	if code := r.send(recovery.CustomBilling, billing.Failed, open); code != 200 {
		t.Fatalf("webhook %d", code)
	}
	openID := workflows.RevenueRecoveryWorkflowID(r.profileID, open.ID)
	eventually(t, 30*time.Second, "the open recovery on record", func() bool {
		rec, err := r.store.RecoveryByWorkflowID(context.Background(), openID)
		return err == nil && rec.Open
	})
	if out := r.mustCall(409, "POST", path(open.ID), reason); out["outcome"] != "open" {
		t.Errorf("open recovery: %v", out)
	}

	inv := r.invoice("inv_restart_api")
	wfID := r.hardDecline(recovery.CustomBilling, inv)
	first := r.runID(wfID)
	if out := r.mustCall(400, "POST", path(inv.ID), map[string]any{}); out["field"] != "reason" {
		t.Errorf("no reason: %v", out)
	}
	r.mustCall(400, "POST", path(inv.ID), map[string]any{"reason": "   "})
	out := r.mustCall(200, "POST", path(inv.ID), reason)
	if out["outcome"] != "restarted" || out["generation"] != 1.0 || out["workflow_id"] != wfID {
		t.Errorf("restart answer %v", out)
	}
	res := r.waitRestarted(wfID, first)
	charges := r.processor.ChargesFor(inv.ID)
	if res.Status != workflows.RecoverySucceededInternal || len(charges) != 2 || charges[0].IdempotencyKey == charges[1].IdempotencyKey ||
		charges[1].IdempotencyKey != workflows.RecoveryGenerationPaymentIdempotencyKey(wfID, 1, 1) {
		t.Errorf("restarted: %+v, charges %+v", res, charges)
	}
	if n := r.succeededPayments(inv.ID); n != 1 {
		t.Errorf("%d payment_succeeded webhooks, want 1", n)
	}
	// Succeeded now: never restarted again.
	if out := r.mustCall(409, "POST", path(inv.ID), reason); out["outcome"] != "final" && out["outcome"] != "settled_elsewhere" {
		t.Errorf("restart of a paid recovery: %v", out)
	}
	restarts, err := r.store.RecoveryRestarts(context.Background(), r.profileID, inv.ID)
	if err != nil || len(restarts) != 2 || restarts[0].Reason != "customer called: card unblocked" ||
		!strings.HasPrefix(restarts[0].RequestedBy, "api_key:") || strings.Contains(restarts[0].RequestedBy, apiKey) {
		t.Errorf("audit %+v, %v", restarts, err)
	}
}

func softDecline() payments.Outcome {
	return payments.Outcome{Kind: payments.Decline, Code: "card_declined", DeclineCode: "insufficient_funds"}
}

// A card update for a customer with no recovery is recorded and answered 200;
// it starts no RevenueRecovery and charges nothing.
func TestCardUpdateWithoutRecoveryIsOnlyRecorded(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	body := map[string]any{"id": "ev_cb_ps_1", "occurred_at": time.Now().Unix(), "object": "event", "api_version": "v2",
		"event_type": "payment_source_updated", "content": map[string]any{"payment_source": map[string]any{
			"id": "pm_cb_1", "object": "payment_source", "customer_id": "cb_nobody", "type": "card",
			"reference_id": "cus_nobody/pm_nobody_new", "status": "valid", "gateway": "stripe"}}}
	if code := r.postJSON(recovery.Chargebee, "ev_cb_ps_1", body); code != 200 {
		t.Fatalf("card update answered %d", code)
	}
	var evs []store.RecoveryEvent
	eventually(t, 30*time.Second, "the card update to be recorded", func() bool {
		all, err := r.store.RecoveryEvents(context.Background(), r.profileID, "")
		evs = all
		return err == nil && len(all) == 1
	})
	if evs[0].Outcome != workflows.OutcomeNotRunning || evs[0].Kind != string(recovery.PaymentMethodUpdated) ||
		evs[0].Action != string(recovery.RetryWithUpdatedPaymentMethod) {
		t.Errorf("recorded %+v", evs[0])
	}
	resp, err := r.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = %q AND WorkflowType = 'RevenueRecovery'", r.cfg.Temporal.TaskQueue)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) != 0 || len(r.processor.Charges()) != 0 {
		t.Errorf("%d recoveries started, %d charges; want none", len(resp.Executions), len(r.processor.Charges()))
	}
}

// Stripe sends invoice.payment_succeeded and invoice.paid for one payment,
// under different event ids: the recovery counts one external success.
func TestStripePaymentSucceededAndPaidAreOneSuccess(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(map[string]any{"start_after_seconds": 3600, "frequencies": []map[string]any{{"delay_seconds": 3600, "count": 3}}})
	inv := r.invoice("inv_stripe_twins")
	if code := r.send(recovery.StripeBilling, billing.Failed, inv); code != 200 {
		t.Fatalf("failed webhook %d", code)
	}
	wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	eventually(t, 30*time.Second, "the recovery to wait on its timer", func() bool {
		return r.view(wfID).State.Status == workflows.RecoveryScheduled
	})
	inv.TransactionID = "ch_paid_elsewhere"
	paid, paidID := r.billing.Body(recovery.StripeBilling, billing.Succeeded, inv)
	succeeded := []byte(strings.Replace(strings.Replace(string(paid), `"invoice.paid"`, `"invoice.payment_succeeded"`, 1), paidID, paidID+"_ps", 1))
	for _, b := range []struct {
		id   string
		body []byte
	}{{paidID + "_ps", succeeded}, {paidID, paid}} {
		if code, err := r.billing.Post(context.Background(), r.endpoint(recovery.StripeBilling), b.id, b.body); err != nil || code != 200 {
			t.Fatalf("success webhook %s: %d %v", b.id, code, err)
		}
	}
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	successes := 0
	for _, a := range r.view(wfID).State.Attempts {
		if a.TriggeredBy == recovery.External && a.Status == "succeeded" {
			successes++
		}
	}
	if res.Status != workflows.RecoverySucceededExternal || successes != 1 || len(r.processor.ChargesFor(inv.ID)) != 0 || len(r.accepted(inv.ID)) != 0 {
		t.Errorf("result %+v, external successes %d, charges %d, webhooks %d", res, successes, len(r.processor.ChargesFor(inv.ID)), len(r.accepted(inv.ID)))
	}
}

// view queries a recovery's state (closed recoveries answer too).
func (r *recoveryStack) view(wfID string) workflows.RecoveryView {
	var view workflows.RecoveryView
	v, err := r.temporal.QueryWorkflow(context.Background(), wfID, "", workflows.RecoveryStateQuery)
	if err == nil {
		_ = v.Get(&view) // a zero view fails the caller's condition
	}
	return view
}
