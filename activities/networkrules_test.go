package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
	"orderflow/store/storetest"
)

// stripeAccounts serves the one Stripe account the charges use.
type stripeAccounts struct {
	RecoveryStore
	baseURL string
}

func (s stripeAccounts) ConnectorAccount(context.Context, string) (store.ConnectorAccount, error) {
	return store.ConnectorAccount{ConnectorType: store.PaymentProcessor, ConnectorName: recovery.Stripe, BaseURL: s.baseURL,
		AccountDetails: store.ConnectorAuth{APIKey: "sk_test_lease"}}, nil
}
func (stripeAccounts) RecordRecoveryAttempt(context.Context, store.RecoveryAttempt) error { return nil }

// Two invoices of one Mastercard charged at once, the first answered with
// Merchant Advice Code 03: the second is held back while the first is in
// flight, then by the stop its answer recorded, and never reaches the processor.
func TestSecondChargeOnABusyCardWaitsForTheFirstAnswer(t *testing.T) {
	proc := payments.New("sk_test_lease")
	const fingerprint = "fp_mc_shared"
	for _, pm := range []string{"pm_a", "pm_b"} {
		proc.SetCard(pm, payments.Card{Brand: recovery.Mastercard, Fingerprint: fingerprint})
	}
	proc.Script("pm_a", payments.Outcome{Kind: payments.Decline, Code: "card_declined", DeclineCode: "do_not_honor", NetworkAdviceCode: "03"})
	proc.Script("pm_b", payments.Outcome{Kind: payments.Decline, Code: "card_declined", DeclineCode: "do_not_honor"})
	atProcessor, answer := make(chan struct{}, 2), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/payment_intents" {
			atProcessor <- struct{}{}
			<-answer // the first charge is in flight until the test lets it be answered
		}
		proc.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	letAnswer := sync.OnceFunc(func() { close(answer) })
	defer letAnswer() // before srv.Close: a charge let through by mistake must not hold the server
	cards := storetest.NewCards()
	acts := &Recovery{Store: stripeAccounts{baseURL: srv.URL}, Connectors: connector.New(5 * time.Second),
		NetworkRules: recovery.DefaultNetworkRules(), Cards: cards}
	charge := func(invoice, pm string) (PaymentResult, error) {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		val, err := env.ExecuteActivity(acts.ChargeInvoice, ChargeInput{ProfileID: "pro_1", MerchantID: "merchant_1", InvoiceID: invoice,
			PaymentConnectorID: "mca_stripe", Attempt: 1, IdempotencyKey: invoice + "-1", Amount: 2250, Currency: "USD",
			CustomerID: "cus_1", PaymentMethodToken: pm, NetworkRules: true})
		var res PaymentResult
		if err == nil {
			err = val.Get(&res)
		}
		return res, err
	}

	type answered struct {
		res PaymentResult
		err error
	}
	first := make(chan answered, 1)
	go func() {
		res, err := charge("inv_a", "pm_a")
		first <- answered{res, err}
	}()
	select {
	case <-atProcessor:
	case <-time.After(10 * time.Second):
		t.Fatal("the first charge never reached the processor")
	}
	sent := time.Now()
	busy, err := charge("inv_b", "pm_b")
	if err != nil {
		t.Fatal(err)
	}
	if busy.Status != PaymentBlocked || busy.NetworkRule != RuleCardBusy || busy.BlockedUntil == nil ||
		busy.BlockedUntil.After(time.Now().Add(CardBusyRetry)) || busy.BlockedUntil.Before(sent) {
		t.Fatalf("second charge while the first is in flight: %+v, want blocked %s for at most %v", busy, RuleCardBusy, CardBusyRetry)
	}
	letAnswer()
	var a answered
	select {
	case a = <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("the first charge was never answered")
	}
	if a.err != nil || a.res.Status != PaymentFailed || a.res.NetworkRule != recovery.RuleMastercardMAC03 {
		t.Fatalf("first charge: %+v %v, want failed with %s", a.res, a.err, recovery.RuleMastercardMAC03)
	}
	stopped, err := charge("inv_b", "pm_b")
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Status != PaymentBlocked || stopped.NetworkRule != recovery.RuleMastercardMAC03 || stopped.BlockedUntil != nil {
		t.Fatalf("second charge after the first's advice 03: %+v, want blocked for good", stopped)
	}
	if charges := proc.Charges(); len(charges) != 1 || charges[0].PaymentMethod != "pm_a" {
		t.Errorf("the processor saw %+v, want only the first charge", charges)
	}
	if v := proc.NetworkRuleViolations(); len(v) != 0 {
		t.Errorf("the sandbox counted violations: %+v", v)
	}
	if held := cards.Leased(); len(held) != 0 {
		t.Errorf("leases left after every charge was settled or refused: %+v", held)
	}
}
