//go:build integration

package tests

import (
	"context"
	"testing"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/workflows"
)

// enableCardSwitching sets switch_payment_method_config on a platform's
// billing connector through the configuration API (its secrets kept).
func (r *recoveryStack) enableCardSwitching(platform string) {
	r.t.Helper()
	id := r.connectors[platform]
	acct, err := r.store.ConnectorAccount(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mustCall(200, "PUT", "/v1/connector-accounts/"+id, map[string]any{
		"profile_id": r.profileID, "connector_type": "billing_processor", "connector_name": platform, "base_url": acct.BaseURL,
		"connector_account_details": map[string]any{"auth_type": "HeaderKey"},
		"connector_webhook_details": map[string]any{"username": "cb_user"},
		"feature_metadata": map[string]any{"revenue_recovery": map[string]any{
			"max_retry_count": 5, "billing_connector_retry_threshold": 1,
			"billing_account_reference":    map[string]any{r.paymentID: "gw_it"},
			"switch_payment_method_config": map[string]any{"retry_threshold": 0, "time_threshold_after_creation": 0},
		}},
	})
	if acct, err = r.store.ConnectorAccount(context.Background(), id); err != nil || acct.Recovery().SwitchPaymentMethodConfig == nil {
		r.t.Fatalf("switch_payment_method_config not stored: %v", err)
	}
}

// The primary card hard-declines; the customer's other stored card (listed
// from the payment sandbox) is charged once and the signed payment_succeeded
// names it, as does the recovery_state query.
func TestCardSwitchAfterHardDeclineOnTheDevServer(t *testing.T) {
	r := newRecoveryStack(t)
	r.startWorker()
	r.setup(seconds)
	r.enableCardSwitching(recovery.CustomBilling)
	inv := r.invoice("inv_card_switch")
	second := "pm_second_" + inv.ID
	r.processor.SetCard(second, payments.Card{Brand: "mastercard", Fingerprint: "fp_second_" + inv.ID})
	r.processor.Attach(inv.Customer, second, inv.PaymentMethod)
	r.processor.Script(inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, Code: "card_declined", DeclineCode: "stolen_card"})
	if code := r.send(recovery.CustomBilling, billing.Failed, inv); code != 200 {
		t.Fatalf("failed-payment webhook answered %d", code)
	}
	wfID := workflows.RevenueRecoveryWorkflowID(r.profileID, inv.ID)
	var res workflows.RecoveryResult
	r.waitWorkflow(wfID, &res)
	if res.Status != workflows.RecoverySucceededInternal || res.RetryCount != 2 {
		t.Fatalf("result %+v, want succeeded on the second card", res)
	}
	charges := r.processor.ChargesFor(inv.ID)
	if len(charges) != 2 || charges[0].PaymentMethod != inv.PaymentMethod || charges[1].PaymentMethod != second {
		t.Fatalf("charges %+v, want the primary then the second card once", charges)
	}
	got := r.accepted(inv.ID)
	if len(got) != 1 || !got[0].Verified() || got[0].EventType != recovery.EventPaymentSucceeded {
		t.Fatalf("merchant got %+v, want one signed payment_succeeded", got)
	}
	obj := get[map[string]any](t, got[0].Body, "content", "object")
	if obj["payment_method_id"] != second || obj["connector_transaction_id"] != charges[1].PaymentIntentID {
		t.Errorf("webhook names %v (%v), want %s", obj["payment_method_id"], obj["connector_transaction_id"], second)
	}
	if v := r.view(wfID); v.State.SucceededWith != second {
		t.Errorf("recovery_state says it succeeded with %q, want %s", v.State.SucceededWith, second)
	}
}
