//go:build integration

package tests

import (
	"testing"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
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

func TestCardUpdateAfterHardDeclineResumesUnderNewKeys(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	inv := r.invoice("inv_card_update")
	wfID := r.hardDecline(recovery.StripeBilling, inv)
	r.recordHistory(wfID, "revenue_recovery_hard_declined_pre_restart_history.json")
}
