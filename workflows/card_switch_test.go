package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"orderflow/activities"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/store"
)

const (
	testSecondPM = "pm_second_card"
	testThirdPM  = "pm_third_card"
)

var hardDecline = payments.Outcome{Kind: payments.Decline, DeclineCode: "stolen_card"}

// withCardSwitching turns switching on at the billing connector (its
// switch_payment_method_config) and stores the customer's cards at the
// processor, oldest first (the processor lists them newest first).
func withCardSwitching(f *recoveryFixture, enabled bool, customerCards ...string) {
	billing := f.store.accounts[testBillingID]
	rm := &store.RecoveryMetadata{}
	if enabled {
		rm.SwitchPaymentMethodConfig = &struct {
			RetryThreshold             int `bson:"retry_threshold" json:"retry_threshold"`
			TimeThresholdAfterCreation int `bson:"time_threshold_after_creation" json:"time_threshold_after_creation"`
		}{}
	}
	billing.FeatureMetadata = &store.FeatureMetadata{RevenueRecovery: rm}
	f.store.accounts[testBillingID] = billing
	f.proc.Attach("cus_42", customerCards...)
}

func chargedMethods(p *payments.Processor) []string {
	var pms []string
	for _, c := range p.Charges() {
		pms = append(pms, c.PaymentMethod)
	}
	return pms
}

func TestCardSwitchAfterHardDeclineChargesTheSecondMethodOnce(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.SetCard(testSecondPM, payments.Card{Brand: recovery.Mastercard, Fingerprint: "fp_second"})
	withCardSwitching(f, true, testSecondPM, testPM) // the primary is the newest
	f.proc.Script(testPM, hardDecline)               // the second method then succeeds
	f.signalAt(0, failure("ev_1"))
	start := f.env.Now()
	res := f.run()

	if res.Status != RecoverySucceededInternal || res.RetryCount != 2 {
		t.Fatalf("result %+v, want succeeded on the second method", res)
	}
	if got := chargedMethods(f.proc); !slices.Equal(got, []string{testPM, testSecondPM}) {
		t.Fatalf("charged %v, want the primary then the second method once", got)
	}
	if waited := f.env.Now().Sub(start); waited > 3*time.Hour+10*time.Minute {
		t.Errorf("the switch waited %v after the first retry; it charges the second method at once", waited)
	}
	got := f.merchant.Accepted()
	if len(got) != 1 || got[0].EventType != recovery.EventPaymentSucceeded {
		t.Fatalf("merchant got %+v, want one payment_succeeded (no payment_failed for the given-up card)", got)
	}
	obj := field[map[string]any](t, got[0].Body, "content", "object")
	payment := field[map[string]any](t, obj, "feature_metadata", "revenue_recovery", "billing_connector_payment_details")
	card := field[map[string]any](t, obj, "payment_method_data", "card")
	if obj["payment_method_id"] != testSecondPM || payment["payment_processor_token"] != testSecondPM || card["card_network"] != recovery.Mastercard {
		t.Errorf("webhook names %v / %v / %v, want the second method", obj["payment_method_id"], payment["payment_processor_token"], card)
	}
	v := f.query()
	if v.State.SucceededWith != testSecondPM || len(v.State.GivenUpMethods) != 1 ||
		v.State.GivenUpMethods[0].PaymentMethodToken != testPM || v.State.GivenUpMethods[0].Reason != RecoveryHardDeclined {
		t.Errorf("query: succeeded with %q, given up %+v", v.State.SucceededWith, v.State.GivenUpMethods)
	}
	if last := v.State.Attempts[len(v.State.Attempts)-1]; last.PaymentMethodToken != testSecondPM || last.Status != activities.PaymentSucceeded {
		t.Errorf("last attempt %+v", last)
	}
}

func TestCardSwitchNotAttemptedWhenTheConfigDisablesIt(t *testing.T) {
	f := newRecoveryFixture(t)
	withCardSwitching(f, false, testPM, testSecondPM)
	f.proc.Script(testPM, hardDecline)
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoveryHardDeclined || res.RetryCount != 1 {
		t.Errorf("result %+v, want hard_declined", res)
	}
	if got := chargedMethods(f.proc); !slices.Equal(got, []string{testPM}) {
		t.Errorf("charged %v, want the primary only", got)
	}
	if got := f.merchant.Accepted(); len(got) != 1 || got[0].EventType != recovery.EventPaymentFailed {
		t.Errorf("merchant got %+v, want one payment_failed", got)
	}
	if v := f.query(); v.State.SucceededWith != "" || v.State.Intent.PaymentMethodToken != testPM {
		t.Errorf("query %+v", v.State)
	}
}

// The third stored method is the primary card saved again (same fingerprint):
// after the primary and the second hard-decline, nothing is left to try.
func TestCardSwitchNeverRetriesAHardDeclinedMethod(t *testing.T) {
	f := newRecoveryFixture(t)
	f.proc.SetCard(testPM, payments.Card{Brand: recovery.Visa, Fingerprint: "fp_primary"})
	f.proc.SetCard(testThirdPM, payments.Card{Brand: recovery.Visa, Fingerprint: "fp_primary"})
	f.proc.SetCard(testSecondPM, payments.Card{Brand: recovery.Visa, Fingerprint: "fp_second"})
	withCardSwitching(f, true, testPM, testThirdPM, testSecondPM)
	f.proc.Script(testPM, hardDecline)
	f.proc.Script(testSecondPM, hardDecline)
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoveryHardDeclined || res.RetryCount != 2 {
		t.Errorf("result %+v, want hard_declined after two", res)
	}
	if got := chargedMethods(f.proc); !slices.Equal(got, []string{testPM, testSecondPM}) {
		t.Errorf("charged %v, want each card once and the primary's second token never", got)
	}
	if got := f.merchant.Accepted(); len(got) != 1 || got[0].EventType != recovery.EventPaymentFailed {
		t.Errorf("merchant got %+v, want one payment_failed", got)
	}
	if v := f.query(); len(v.State.GivenUpMethods) != 2 {
		t.Errorf("given up %+v, want both methods", v.State.GivenUpMethods)
	}
}

// The card's Visa budget for this amount is spent by another invoice and
// frees no slot inside the window: the recovery switches to the customer's
// other card, counted under its own fingerprint.
func TestCardSwitchWhenTheCardNetworkBudgetRunsOut(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Visa)
	now := f.env.Now()
	spent := make([]time.Time, recovery.DefaultVisaReattempts30d)
	for i := range spent {
		spent[i] = now.Add(-time.Hour)
	}
	cards.Prefill(visaWindow(), spent...)
	f.proc.SetCard(testSecondPM, payments.Card{Brand: recovery.Visa, Fingerprint: "fp_second"})
	withCardSwitching(f, true, testPM, testSecondPM)
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 1 {
		t.Fatalf("result %+v, want succeeded on the second card", res)
	}
	if got := chargedMethods(f.proc); !slices.Equal(got, []string{testSecondPM}) {
		t.Errorf("charged %v, want the second card only", got)
	}
	second := visaWindow()
	second.Card = "fp_second"
	if n := cards.Counted(second); n != 0 {
		t.Errorf("the second card holds %d slots after a success, want 0", n)
	}
	if v := f.query(); v.State.SucceededWith != testSecondPM || len(v.State.GivenUpMethods) != 1 ||
		v.State.GivenUpMethods[0].Reason != RecoveryNetworkLimited {
		t.Errorf("query %+v", v.State)
	}
}

// A stored card the networks stopped for the merchant (a never-retry decline
// on another invoice) is never offered: the next one is.
func TestCardSwitchSkipsACardTheNetworksStopped(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Visa)
	f.proc.SetCard(testSecondPM, payments.Card{Brand: recovery.Visa, Fingerprint: "fp_stopped"})
	f.proc.SetCard(testThirdPM, payments.Card{Brand: recovery.Visa, Fingerprint: "fp_third"})
	if err := cards.StopCard(context.Background(), store.CardStop{MerchantID: "merchant_1", Card: "fp_stopped",
		Rule: recovery.RuleVisaCategory1, InvoiceID: "inv_other", Key: "other", At: f.env.Now()}); err != nil {
		t.Fatal(err)
	}
	withCardSwitching(f, true, testThirdPM, testSecondPM, testPM) // listed: primary, stopped, third
	f.proc.Script(testPM, hardDecline)
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal {
		t.Fatalf("result %+v, want succeeded on the third card", res)
	}
	if got := chargedMethods(f.proc); !slices.Equal(got, []string{testPM, testThirdPM}) {
		t.Errorf("charged %v, want the primary then the third card (the stopped one skipped)", got)
	}
}
