//go:build integration

package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"orderflow/config"
	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/workflows"
)

// Two invoices of one Visa card, same amount, recovered at the same time on
// the dev server: the card's reattempt limit (3 here) is counted across both,
// the billing platform's two declined attempts that opened the recoveries
// included, so orderflow charges the card once, and both recoveries end
// network_limited (the next slot frees 30 days on, past their window).
func TestNetworkRulesVisaLimitAcrossTwoInvoices(t *testing.T) {
	r := newRecoveryStack(t)
	r.cfg.NetworkRules.Limits = config.NetworkLimits{recovery.Visa: {{Window: 720 * time.Hour, Max: 3, PerAmount: true}}}
	r.startWorker()
	r.setup(seconds)
	const fingerprint = "fp_it_shared_visa"
	var invoices []billing.Invoice
	for _, id := range []string{"inv_visa_a", "inv_visa_b"} {
		inv := r.invoice(id)
		inv.PaymentMethod = "pm_" + id
		r.processor.SetCard(inv.PaymentMethod, payments.Card{Brand: recovery.Visa, Fingerprint: fingerprint})
		for range 6 {
			r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, DeclineCode: "do_not_honor", NetworkDeclineCode: "05"})
		}
		invoices = append(invoices, inv)
	}
	for _, inv := range invoices {
		if code := r.send(recovery.CustomBilling, billing.Failed, inv); code != 200 {
			t.Fatalf("%s: webhook answered %d", inv.ID, code)
		}
	}
	charged := 0
	for _, inv := range invoices {
		var res workflows.RecoveryResult
		r.waitWorkflow(workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID), &res)
		if res.Status != workflows.RecoveryNetworkLimited {
			t.Errorf("%s: result %+v, want network_limited", inv.ID, res)
		}
		n := len(r.processor.ChargesFor(inv.ID))
		if n != res.RetryCount {
			t.Errorf("%s: %d charges, %d retries counted", inv.ID, n, res.RetryCount)
		}
		charged += n
	}
	if charged != 1 {
		t.Errorf("orderflow charged the card %d times across both invoices, want the limit, 3, less the platform's 2 declines", charged)
	}
	w := store.CardWindow{MerchantID: "merchant_it", Card: fingerprint, Brand: recovery.Visa, Amount: 2250, Currency: "USD",
		Limit: recovery.NetworkLimit{Window: 720 * time.Hour, Max: 3, PerAmount: true}}
	slots, err := r.store.CardWindowSlots(context.Background(), w, time.Now())
	if err != nil || len(slots) != 3 {
		t.Errorf("the card's window holds %+v (%v), want 3 attempts (the platform's 2 and orderflow's 1)", slots, err)
	}
	// The search attribute finds the ended recoveries.
	if ids := r.byStatus(workflows.RecoveryNetworkLimited); len(ids) != 2 {
		t.Errorf("RecoveryStatus = network_limited lists %v, want both invoices", ids)
	}
}

// byStatus lists this stack's recoveries the Temporal UI shows for `RecoveryStatus = "…"`.
func (r *recoveryStack) byStatus(status string) []string {
	r.t.Helper()
	var ids []string
	eventually(r.t, 30*time.Second, "the visibility store to list the ended recoveries", func() bool {
		resp, err := r.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("RecoveryStatus = %q AND TaskQueue = %q", status, r.cfg.Temporal.TaskQueue)})
		if err != nil {
			return false
		}
		ids = ids[:0]
		for _, e := range resp.Executions {
			ids = append(ids, e.Execution.WorkflowId)
		}
		return len(ids) >= 2
	})
	return ids
}
