package workflows

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"

	"orderflow/activities"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/store"
	"orderflow/store/storetest"
)

const testFingerprint = "fp_card_42"

// withNetworkRules gives the fixture's card a brand and a fingerprint and
// turns the rules on, counted in memory on the test's clock.
func withNetworkRules(f *recoveryFixture, brand string) *storetest.Cards {
	cards := storetest.NewCards()
	f.proc.SetCard(testPM, payments.Card{Brand: brand, Fingerprint: testFingerprint})
	f.acts.Cards, f.acts.NetworkRules, f.acts.Now = cards, recovery.DefaultNetworkRules(), f.env.Now
	return cards
}

func visaWindow() store.CardWindow {
	return store.CardWindow{MerchantID: "merchant_1", Card: testFingerprint, Brand: recovery.Visa, Amount: 2250, Currency: "USD",
		Limit: recovery.DefaultNetworkRules().Limits[recovery.Visa][0]}
}

// chargeCall is one run of the charge activity as the workflow saw it.
type chargeCall struct {
	at  time.Time
	res activities.PaymentResult
}

// recordCharges wraps the real charge activity to see its answers and times.
func recordCharges(f *recoveryFixture) *[]chargeCall {
	calls := &[]chargeCall{}
	f.env.OnActivity(ra.ChargeInvoice, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ChargeInput) (activities.PaymentResult, error) {
			res, err := f.acts.ChargeInvoice(ctx, in)
			*calls = append(*calls, chargeCall{at: f.env.Now(), res: res})
			return res, err
		})
	return calls
}

func TestNetworkRulesVisaCategory1EndsTheRecovery(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Visa)
	// A code the local classifier would retry; Visa's response code 46 (closed account) is Category 1.
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "generic_decline", NetworkDeclineCode: "46"})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoveryHardDeclined || res.RetryCount != 1 || len(f.proc.Charges()) != 1 {
		t.Fatalf("result %+v, %d charges; want hard_declined after one", res, len(f.proc.Charges()))
	}
	st, err := cards.CardStopped(context.Background(), "merchant_1", testFingerprint)
	if err != nil || st == nil || st.Rule != recovery.RuleVisaCategory1 {
		t.Errorf("card stop %+v %v", st, err)
	}
	// Another invoice of the same card is never charged: its recovery ends network_limited.
	g := newRecoveryFixture(t)
	g.in.InvoiceID = "inv_43"
	g.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "recovery-of-inv_43"})
	g.proc.SetCard(testPM, payments.Card{Brand: recovery.Visa, Fingerprint: testFingerprint})
	g.acts.Cards, g.acts.NetworkRules, g.acts.Now = cards, recovery.DefaultNetworkRules(), g.env.Now
	g.signalAt(0, failure("ev_1"))
	if res := g.run(); res.Status != RecoveryNetworkLimited || res.RetryCount != 0 || len(g.proc.Charges()) != 0 {
		t.Errorf("other invoice: %+v, %d charges; want network_limited with none", res, len(g.proc.Charges()))
	}
}

func TestNetworkRulesMastercardAdviceCodesStopAtOnce(t *testing.T) {
	for _, mac := range []string{"03", "21"} {
		t.Run("MAC "+mac, func(t *testing.T) {
			f := newRecoveryFixture(t)
			withNetworkRules(f, recovery.Mastercard)
			f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "do_not_honor", NetworkAdviceCode: mac})
			f.signalAt(0, failure("ev_1"))
			res := f.run()
			if res.Status != RecoveryHardDeclined || len(f.proc.Charges()) != 1 {
				t.Errorf("result %+v, %d charges; want hard_declined after one", res, len(f.proc.Charges()))
			}
			if v := f.query(); v.State.LastDecline.Class != recovery.Hard {
				t.Errorf("last decline %+v", v.State.LastDecline)
			}
		})
	}
}

// Ten declines in a day, the billing platform's own among them: orderflow's
// tenth charge waits until the platform's decline is 24 hours old.
func TestNetworkRulesMastercardPlatformDeclineFillsTheDay(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Mastercard)
	f.in.Policy = recovery.Policy{Algorithm: recovery.Cascading, MaxRetryCount: 14, Cascading: recovery.CascadingSchedule{
		StartAfter: time.Minute, Frequencies: []recovery.Frequency{{Delay: time.Minute, Count: 11}, {Delay: 48 * time.Hour, Count: 3}}}}
	f.in.ContinueAsNewAfter = 20 // the test environment cannot follow a continue-as-new
	for range 9 {
		f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "do_not_honor"})
	}
	calls := recordCharges(f)
	platformAt := f.env.Now()
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || res.RetryCount != 10 || len(f.proc.Charges()) != 10 {
		t.Fatalf("result %+v, %d charges; want success on orderflow's 10th", res, len(f.proc.Charges()))
	}
	if len(*calls) != 11 {
		t.Fatalf("%d charge activities, want 9 declines, 1 blocked, 1 success: %+v", len(*calls), *calls)
	}
	blocked, last := (*calls)[9], (*calls)[10]
	want := platformAt.Add(24 * time.Hour)
	if blocked.res.Status != activities.PaymentBlocked || blocked.res.BlockedUntil == nil || !blocked.res.BlockedUntil.Equal(want) ||
		blocked.res.NetworkRule != "mastercard_24h" {
		t.Fatalf("10th attempt %+v, want blocked until %v (the platform's decline + 24 h) by mastercard_24h", blocked.res, want)
	}
	if last.at.Before(want) || last.res.Status != activities.PaymentSucceeded {
		t.Errorf("the retry ran at %v (%+v), want at or after %v", last.at, last.res, want)
	}
	if n := cards.Counted(mastercardDayWindow()); n != 10 {
		t.Errorf("the 24-hour window counts %d, want the platform's decline and orderflow's 9 (the success given back)", n)
	}
}

// A billing event reported twice counts once: the workflow ignores the
// repeat, and the counter keys the attempt by the event id, so a redelivery
// the workflow no longer remembers (or a retried activity) finds its slot.
func TestNetworkRulesPlatformDeclineCountsOncePerEvent(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Mastercard)
	f.in.Policy.MaxRetryCount = 1
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "do_not_honor"})
	f.signalAt(0, failure("ev_1"))
	f.signalAt(time.Second, failure("ev_1"))
	if res := f.run(); res.Status != RecoveryExhausted || res.RetryCount != 1 {
		t.Fatalf("result %+v", res)
	}
	if n := cards.Counted(mastercardDayWindow()); n != 2 {
		t.Fatalf("the 24-hour window counts %d, want the platform's one decline and orderflow's one", n)
	}
	in := activities.PlatformDeclineInput{ProfileID: testProfileID, MerchantID: "merchant_1", InvoiceID: testInvoice,
		PaymentConnectorID: testPaymentID, EventID: "ev_1", PaymentMethodToken: testPM, Amount: 2250, Currency: "USD",
		ErrorCode: "card_declined", DeclineCode: "do_not_honor", At: f.env.Now()}
	res, err := f.acts.CountPlatformDecline(context.Background(), in)
	if err != nil || !res.Counted || res.CardBrand != recovery.Mastercard {
		t.Fatalf("the event again, outside the workflow: %+v %v", res, err)
	}
	if n := cards.Counted(mastercardDayWindow()); n != 2 {
		t.Errorf("after ev_1 was counted again, the window counts %d, want 2", n)
	}
}

// The platform's decline is one the network forbids retrying (Visa's
// Category 1, told by Stripe's decline code): the card is stopped and
// orderflow never charges it.
func TestNetworkRulesPlatformNeverRetryDeclineStopsTheCard(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Visa)
	ev := failure("ev_1")
	ev.Event.DeclineCode = "no_such_issuer" // Visa 15, Category 1; the local classifier would retry it
	f.signalAt(0, ev)
	res := f.run()
	if res.Status != RecoveryHardDeclined || res.RetryCount != 0 || len(f.proc.Charges()) != 0 {
		t.Fatalf("result %+v, %d charges; want hard_declined with none", res, len(f.proc.Charges()))
	}
	st, err := cards.CardStopped(context.Background(), "merchant_1", testFingerprint)
	if err != nil || st == nil || st.Rule != recovery.RuleVisaCategory1 || st.Key != "platform:ev_1" {
		t.Errorf("card stop %+v %v", st, err)
	}
}

// With the card unknown at the processor the platform's decline is skipped:
// the recovery charges as before.
func TestNetworkRulesPlatformDeclineOfAnUnknownCardIsSkipped(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Visa)
	ev := failure("ev_1")
	ev.Event.PaymentMethodToken = "pm_unknown"
	f.signalAt(0, ev)
	if res := f.run(); res.Status != RecoverySucceededInternal || res.RetryCount != 1 {
		t.Fatalf("result %+v", res)
	}
	if n := cards.Counted(visaWindow()); n != 0 {
		t.Errorf("the window counts %d, want none (the card is unknown)", n)
	}
}

func mastercardDayWindow() store.CardWindow {
	return store.CardWindow{MerchantID: "merchant_1", Card: testFingerprint, Brand: recovery.Mastercard,
		Limit: recovery.DefaultNetworkRules().Limits[recovery.Mastercard][0]}
}

// The card's 15 Visa reattempts for this amount were made by another invoice:
// the retry moves to when the oldest leaves the 30 days, if that is inside
// the recovery's window, else the recovery ends network_limited.
func TestNetworkRulesVisaLimitAcrossInvoices(t *testing.T) {
	t.Run("moves to the next allowed time", func(t *testing.T) {
		f := newRecoveryFixture(t)
		cards := withNetworkRules(f, recovery.Visa)
		start := f.env.Now()
		oldest := start.Add(-30*24*time.Hour + 10*time.Hour) // leaves the window in 10 hours
		cards.Prefill(visaWindow(), repeat(oldest, 15)...)
		calls := recordCharges(f)
		f.signalAt(0, failure("ev_1"))
		res := f.run()
		if res.Status != RecoverySucceededInternal || res.RetryCount != 1 || len(f.proc.Charges()) != 1 {
			t.Fatalf("result %+v, %d charges", res, len(f.proc.Charges()))
		}
		if len(*calls) != 2 || (*calls)[0].res.Status != activities.PaymentBlocked || (*calls)[1].at.Before(oldest.Add(30*24*time.Hour)) {
			t.Errorf("charge calls %+v, want blocked then charged after %v", *calls, oldest.Add(30*24*time.Hour))
		}
		if v := f.query(); v.State.NetworkBlock == nil || v.State.NetworkBlock.Rule != "visa_720h_amount" {
			t.Errorf("query's network block %+v", v.State.NetworkBlock)
		}
	})
	t.Run("ends network_limited", func(t *testing.T) {
		f := newRecoveryFixture(t)
		cards := withNetworkRules(f, recovery.Visa)
		cards.Prefill(visaWindow(), repeat(f.env.Now().Add(-time.Hour), 15)...)
		f.signalAt(0, failure("ev_1"))
		res := f.run()
		if res.Status != RecoveryNetworkLimited || res.RetryCount != 0 || len(f.proc.Charges()) != 0 {
			t.Fatalf("result %+v, %d charges; want network_limited with none", res, len(f.proc.Charges()))
		}
		if n := cards.Counted(visaWindow()); n != 16 {
			t.Errorf("the window counts %d, want the other invoice's 15 and the platform's decline", n)
		}
		if len(f.merchant.Received()) != 0 {
			t.Errorf("merchant got %d webhooks, want none", len(f.merchant.Received()))
		}
	})
}

// A charge activity retried after its answer was lost reserves under the same
// idempotency key: one count per real attempt.
func TestNetworkRulesRetriedChargeCountsOnce(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Visa)
	f.in.Policy.MaxRetryCount = 1
	f.proc.Script(testPM, payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"})
	tries := 0
	f.env.OnActivity(ra.ChargeInvoice, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ChargeInput) (activities.PaymentResult, error) {
			res, err := f.acts.ChargeInvoice(ctx, in)
			if tries++; tries == 1 {
				return activities.PaymentResult{}, errors.New("worker lost the answer")
			}
			return res, err
		})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoveryExhausted || tries != 2 || len(f.proc.Charges()) != 1 {
		t.Fatalf("result %+v after %d tries, %d charges", res, tries, len(f.proc.Charges()))
	}
	if n := cards.Counted(visaWindow()); n != 2 {
		t.Errorf("the window counts %d attempts, want the platform's decline and orderflow's one charge", n)
	}
}

func repeat(t time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

// A Mastercard decline the billing event reports as a generic do_not_honor:
// the platform's charge at the processor carries Merchant Advice Code 03, so
// the card is stopped before orderflow charges it.
func TestNetworkRulesPlatformChargeNetworkCodesStopTheCard(t *testing.T) {
	f := newRecoveryFixture(t)
	cards := withNetworkRules(f, recovery.Mastercard)
	proc := f.proc.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/charges/ch_platform_1" {
			proc.ServeHTTP(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"id":"ch_platform_1","status":"failed","failure_code":"card_declined",` +
			`"outcome":{"reason":"do_not_honor","network_decline_code":"05","network_advice_code":"03"}}`))
	}))
	t.Cleanup(srv.Close)
	acct := f.store.accounts[testPaymentID]
	acct.BaseURL = srv.URL
	f.store.accounts[testPaymentID] = acct
	ev := failure("ev_1")
	ev.Event.TransactionID, ev.Event.DeclineCode = "ch_platform_1", "do_not_honor"
	f.signalAt(0, ev)
	res := f.run()
	if res.Status != RecoveryHardDeclined || len(f.proc.Charges()) != 0 {
		t.Fatalf("result %+v, %d charges; want hard_declined with none", res, len(f.proc.Charges()))
	}
	st, err := cards.CardStopped(context.Background(), "merchant_1", testFingerprint)
	if err != nil || st == nil || st.Rule != recovery.RuleMastercardMAC03 || st.DeclineCode != "03" {
		t.Errorf("card stop %+v %v", st, err)
	}
}
