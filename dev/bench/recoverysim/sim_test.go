package recoverysim

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"orderflow/dev/bench/recoverysim/netcheck"
	"orderflow/recovery"
)

func smallModel() Model {
	m := DefaultModel()
	m.Invoices = 1500
	return m
}

func TestSameSeedSameNumbers(t *testing.T) {
	for _, a := range []func() Algorithm{Cascading, Smart, Adaptive} {
		first := Run(Options{Model: smallModel(), Algorithm: a(), Rules: true})
		again := Run(Options{Model: smallModel(), Algorithm: a(), Rules: true})
		if !reflect.DeepEqual(first, again) {
			t.Errorf("%s: two runs with one seed differ: %d/%d recovered, %d/%d charges", first.Algorithm,
				first.Recovered, again.Recovered, first.Charges, again.Charges)
		}
		other := smallModel()
		other.Seed++
		if third := Run(Options{Model: other, Algorithm: a(), Rules: true}); reflect.DeepEqual(first.Log, third.Log) {
			t.Errorf("%s: another seed gave the same attempts", first.Algorithm)
		}
	}
}

func TestRulesOnNoViolationsRulesOffSome(t *testing.T) {
	for _, a := range []func() Algorithm{Cascading, Smart} { // adaptive: TestAdaptiveNoViolationsWithRulesOn
		on := Run(Options{Model: smallModel(), Algorithm: a(), Rules: true})
		off := Run(Options{Model: smallModel(), Algorithm: a(), Rules: false})
		if on.Recovered == 0 || on.Charges == 0 || on.Blocked == 0 {
			t.Errorf("%s: a run that measures nothing: %+v", on.Algorithm, on.Ended)
		}
		if v := on.Violations(false); v != 0 {
			t.Errorf("%s with orderflow's rule check: %d violations, want 0", on.Algorithm, v)
		}
		if v := off.Violations(false); v == 0 {
			t.Errorf("%s without the rule check (control): no violations; the control shows nothing", off.Algorithm)
		}
	}
}

// Adaptive timing learns from the simulated outcomes: once a slot has
// recovery.AdaptiveMinSamples retries after a class of decline, the next such
// retry whose window holds the slot moves there.
func TestAdaptiveLearnsFromObservedOutcomes(t *testing.T) {
	a := Adaptive()
	o, ok := a.(Observer)
	if !ok {
		t.Fatalf("%T does not observe outcomes", a)
	}
	good := time.Date(2026, 1, 3, 9, 0, 0, 0, time.UTC) // 09:00 on the 3rd: a payday morning, last month too
	for i := range recovery.AdaptiveMinSamples {
		o.Observe(good.AddDate(0, -1, 0).Add(time.Duration(i)*time.Minute), recovery.InsufficientFunds, i%2 == 0)
	}
	last := recovery.Decline{Class: recovery.InsufficientFunds, Code: "card_declined"}
	start := time.Date(2026, 2, 2, 12, 0, 0, 0, time.UTC) // the cascading wait lands before 09:00 on the 3rd
	wait, stop := a.Next(0, last, start, start, rand.New(rand.NewPCG(1, 2)))
	at := start.Add(wait)
	if stop != recovery.Continue || at.Before(good.AddDate(0, 1, 0)) || at.After(good.AddDate(0, 1, 0).Add(300*time.Second)) {
		t.Errorf("next retry at %v (%v), want 09:00 on 3 February plus jitter", at, stop)
	}
}

// With orderflow's rule check on, adaptive timing breaks no card-network
// rule wherever it moves a retry.
func TestAdaptiveNoViolationsWithRulesOn(t *testing.T) {
	on := Run(Options{Model: smallModel(), Algorithm: Adaptive(), Rules: true})
	if on.Charges == 0 || on.Blocked == 0 {
		t.Errorf("a run that measures nothing: %d charges, %d held back", on.Charges, on.Blocked)
	}
	if v := on.Violations(false); v != 0 {
		t.Errorf("adaptive with orderflow's rule check: %d violations, want 0", v)
	}
}

// orderflow's check counts the billing platform's declined attempts in the
// card's windows: the networks' windows, the platform's attempts in them,
// are then never overrun by orderflow's charges. What is left are never-retry
// declines the platform's events hide behind Stripe's generic codes; with the
// network's codes read from the processor, none.
func TestPlatformAttemptsCountInTheGate(t *testing.T) {
	m := smallModel()
	m.Invoices = 800
	for _, a := range []func() Algorithm{Cascading, Smart, Adaptive} {
		stripeCodes := Run(Options{Model: m, Algorithm: a(), Rules: true})
		for _, v := range netcheck.Check(stripeCodes.Log, true) {
			if v.Rule != netcheck.VisaCategory1 && v.Rule != netcheck.MastercardNeverRetry {
				t.Errorf("%s: %s on card %s at %v: a window orderflow's check should have counted", stripeCodes.Algorithm, v.Rule, v.Card, v.At)
			}
		}
		if stripeCodes.Violations(true) == 0 {
			t.Errorf("%s: no never-retry decline hidden behind Stripe's generic codes; the model shows nothing", stripeCodes.Algorithm)
		}
		networkCodes := Run(Options{Model: m, Algorithm: a(), Rules: true, PlatformNetworkCodes: true})
		if v := networkCodes.Violations(true); v != 0 {
			t.Errorf("%s with the platform's network codes read: %d violations, want 0", networkCodes.Algorithm, v)
		}
	}
}

// A card update brings hard-declined recoveries back: with every card dead
// and every customer updating, the recoveries resume on the new cards.
func TestCardUpdatesResumeClosedRecoveries(t *testing.T) {
	m := smallModel()
	m.DeadCardShare, m.CardUpdateRate, m.UpdatedCardSuccess = 1, 1, 0.9
	r := Run(Options{Model: m, Algorithm: Smart(), Rules: true})
	if r.RecoveredShare() < 0.9 {
		t.Errorf("recovered %.2f with every customer's card replaced, want ≥ 0.9 (%v)", r.RecoveredShare(), r.Ended)
	}
	m.CardUpdateRate = 0
	if r := Run(Options{Model: m, Algorithm: Smart(), Rules: true}); r.Recovered != 0 {
		t.Errorf("recovered %d invoices on dead cards and no update", r.Recovered)
	}
}

// The gate holds back Mastercard's 11th charge in 24 hours until the first
// leaves the window, and gives a success's slot back.
func TestGateCountsMastercardWindows(t *testing.T) {
	g := newGate(recovery.DefaultNetworkRules())
	c := &card{key: "card-1-0", brand: mastercard}
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for i := range 10 {
		if _, blocked := g.admit(c, 1000, start.Add(time.Duration(i)*time.Hour), attemptKey{invoice: i}); blocked {
			t.Fatalf("charge %d blocked", i+1)
		}
	}
	until, blocked := g.admit(c, 1000, start.Add(10*time.Hour), attemptKey{invoice: 10})
	if !blocked || until == nil || !until.Equal(start.Add(24*time.Hour)) {
		t.Fatalf("11th charge: blocked %v until %v, want until %v", blocked, until, start.Add(24*time.Hour))
	}
	g.release(attemptKey{invoice: 3}) // the 4th charge succeeded
	if _, blocked := g.admit(c, 1000, start.Add(11*time.Hour), attemptKey{invoice: 11}); blocked {
		t.Error("a success's slot was not given back")
	}
	if !g.settleDecline(c, mastercardDead[0]) {
		t.Fatal("Merchant Advice Code 03 did not stop the card")
	}
	if until, blocked := g.admit(c, 1000, start.Add(72*time.Hour), attemptKey{invoice: 12}); !blocked || until != nil {
		t.Errorf("a stopped card: blocked %v until %v, want blocked for good", blocked, until)
	}
}

func TestSuccessFollowsHourAndPayday(t *testing.T) {
	m := DefaultModel()
	funds := &card{kind: shortOfFunds}
	payday := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	midMonthNight := time.Date(2026, 1, 9, 3, 0, 0, 0, time.UTC)
	if p, q := m.successProbability(funds, payday), m.successProbability(funds, midMonthNight); p <= q {
		t.Errorf("payday morning %.3f not above a mid-month night %.3f", p, q)
	}
	if p := m.successProbability(&card{kind: dead}, payday); p != 0 {
		t.Errorf("a dead card succeeds with %.2f", p)
	}
}
