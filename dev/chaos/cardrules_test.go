//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/merchant"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/workflows"
)

// The card-network stories: cards shared across invoices, Visa and
// Mastercard declines carrying their network codes, customers with a second
// stored card, and card updates through each platform's own event. The
// payment sandbox counts the networks' rule violations on its own; orderflow
// must cause none.
const (
	// A never-retry decline (Visa Category 1, Mastercard advice 03 or 21) on a
	// shared card: the card is stopped for every invoice on it, and each
	// customer's second card pays at once.
	endsCardSwitched = endsHardDeclined + 1 + iota
	// One soft decline, then success, on a shared card whose network budget
	// (Mastercard's 10 declines in 24 h, Visa's 15 in 30 days for one amount)
	// its invoices outnumber: once the budget is spent the rules block every
	// further charge on the card and the invoice pays with its customer's
	// second card; an invoice retried before that pays with the shared card.
	endsBudgetSpent
	// Soft declines until the customer's card update: the new card pays at once.
	endsCardUpdated
)

func init() {
	wantStatus[endsCardSwitched] = workflows.RecoverySucceededInternal
	wantStatus[endsBudgetSpent] = workflows.RecoverySucceededInternal
	wantStatus[endsCardUpdated] = workflows.RecoverySucceededInternal
}

// endedAsImplied reports whether status is the one the story's events imply.
func (s invoiceStory) endedAsImplied(status string) bool { return status == wantStatus[s.ending] }

var chaosPlatforms = []string{recovery.Chargebee, recovery.StripeBilling, recovery.Recurly, recovery.CustomBilling}

// Visa Category 1 declines as Stripe reports them: its decline_code and, when
// the issuer gave one, the raw response code (network_decline_code).
var visaCategory1 = []payments.Outcome{
	{Kind: payments.Decline, DeclineCode: "generic_decline", NetworkDeclineCode: "43"}, // stolen card, by the raw code only
	{Kind: payments.Decline, DeclineCode: "lost_card", NetworkDeclineCode: "41"},
	{Kind: payments.Decline, DeclineCode: "transaction_not_allowed", NetworkDeclineCode: "57"},
	{Kind: payments.Decline, DeclineCode: "generic_decline", NetworkDeclineCode: "R1"}, // revocation of authorization
}

// Mastercard's never-retry Merchant Advice Codes: 03 (do not try again) and 21 (payment cancelled).
var mastercardNeverRetry = []payments.Outcome{
	{Kind: payments.Decline, DeclineCode: "generic_decline", NetworkDeclineCode: "05", NetworkAdviceCode: "03"},
	{Kind: payments.Decline, DeclineCode: "generic_decline", NetworkDeclineCode: "05", NetworkAdviceCode: "21"},
}

// Soft declines (Visa Category 2–4, Mastercard advice 02 "try again later").
var (
	visaSoft       = payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds", NetworkDeclineCode: "51"}
	mastercardSoft = payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds", NetworkDeclineCode: "51", NetworkAdviceCode: "02"}
)

// sharedCardPrefix starts the fingerprints of the cards several invoices share.
const sharedCardPrefix = "fp_chaos_shared_"

// cardPlanner scripts the card-network stories' invoices, numbered on from first.
type cardPlanner struct {
	rng  *rand.Rand
	plat *billing.Platform
	proc *payments.Processor
	next int
	out  []invoiceStory
}

// planCardRuleInvoices: three invoices on one Visa card that gets Category 1
// declines and three on one Mastercard card that gets advice 03 / 21 (all
// failing together: only the charge that holds the card is sent, and its
// never-retry answer stops the card for the others); twelve on one Mastercard card and sixteen of one amount on one
// Visa card, each declined once then paid (12 declines wanted where 10 a day
// are allowed, 16 where 15 in 30 days are), every customer with a second
// card; and eight invoices, two per platform, whose customer updates their
// card after a declined retry. Each story needs at most our first two
// retries, so none waits for the schedule's 90 s steps.
func planCardRuleInvoices(rng *rand.Rand, plat *billing.Platform, proc *payments.Processor, first int) []invoiceStory {
	p := &cardPlanner{rng: rng, plat: plat, proc: proc, next: first}
	visaStop := payments.Card{Brand: "visa", Fingerprint: sharedCardPrefix + "visa_cat1"}
	for i := range 3 {
		p.shared("visa_category_1", endsCardSwitched, visaStop, 0, visaCategory1[(i+rng.IntN(2))%len(visaCategory1)])
	}
	mcStop := payments.Card{Brand: "mastercard", Fingerprint: sharedCardPrefix + "mc_advice"}
	for i := range 3 {
		p.shared("mastercard_advice", endsCardSwitched, mcStop, 0, mastercardNeverRetry[i%2])
	}
	mcBudget := payments.Card{Brand: "mastercard", Fingerprint: sharedCardPrefix + "mc_budget"}
	for range 12 {
		p.shared("mastercard_24h", endsBudgetSpent, mcBudget, 0, mastercardSoft)
	}
	visaBudget := payments.Card{Brand: "visa", Fingerprint: sharedCardPrefix + "visa_budget"}
	for range 16 {
		p.shared("visa_30d_amount", endsBudgetSpent, visaBudget, 4242, visaSoft)
	}
	for range 8 {
		p.cardUpdate()
	}
	return p.out
}

func repeat(o payments.Outcome, n int) []payments.Outcome {
	out := make([]payments.Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

// invoice starts the next story: its invoice, platform, failure event (2–3
// copies) and its primary payment method on card, scripted.
func (p *cardPlanner) invoice(ending int, card payments.Card, amount int64, script ...payments.Outcome) *invoiceStory {
	id := fmt.Sprintf("inv_chaos_%04d", p.next)
	if amount == 0 {
		amount = int64(1000 + p.next)
	}
	s := invoiceStory{platform: chaosPlatforms[p.next%len(chaosPlatforms)], ending: ending, inv: billing.Invoice{
		ID: id, Amount: amount, Currency: "USD", Customer: "cus_" + id, PaymentMethod: "pm_" + id, AttemptCount: 2,
		ErrorCode: "card_declined", DeclineCode: "insufficient_funds", GatewayAccountID: gatewayAccountID, TransactionID: "ch_ext_fail_" + id}}
	p.next++
	p.proc.SetCard(s.inv.PaymentMethod, card)
	p.proc.Script(s.inv.PaymentMethod, script...)
	s.events = append(s.events, p.event(s.platform, billing.Failed, s.inv))
	p.out = append(p.out, s)
	return &p.out[len(p.out)-1]
}

func (p *cardPlanner) event(platform, kind string, inv billing.Invoice) delivery {
	body, eventID := p.plat.Body(platform, kind, inv)
	return delivery{eventID: eventID, body: body, copies: 2 + p.rng.IntN(2)}
}

// shared is an invoice on a card other invoices share; its customer has the
// shared card's payment method and a second card of their own (listed first:
// Stripe lists the newest first).
func (p *cardPlanner) shared(group string, ending int, card payments.Card, amount int64, script ...payments.Outcome) *invoiceStory {
	s := p.invoice(ending, card, amount, script...)
	s.cardGroup, s.payWith = group, s.inv.PaymentMethod+"_second"
	p.proc.SetCard(s.payWith, payments.Card{Brand: "visa", Fingerprint: "fp_" + s.inv.ID + "_second"})
	p.proc.Attach(s.inv.Customer, s.inv.PaymentMethod, s.payWith)
	return s
}

// cardUpdate is an invoice whose own Visa card declines softly until the
// customer saves a new Mastercard card, reported by the platform's card-update event.
func (p *cardPlanner) cardUpdate() {
	s := p.invoice(endsCardUpdated, payments.Card{Brand: "visa", Fingerprint: "fp_chaos_own_" + fmt.Sprint(p.next)}, 0,
		repeat(visaSoft, maxRetries)...)
	s.cardGroup, s.payWith = "card_update", s.inv.PaymentMethod+"_updated"
	p.proc.SetCard(s.payWith, payments.Card{Brand: "mastercard", Fingerprint: "fp_" + s.inv.ID + "_updated"})
	p.proc.Attach(s.inv.Customer, s.inv.PaymentMethod, s.payWith)
	body, eventID := cardUpdateBody(s.platform, s.inv, s.payWith)
	s.events = append(s.events, delivery{eventID: eventID, body: body, copies: 2 + p.rng.IntN(2)})
}

// cardUpdateBody is the platform's own card-update event for the invoice's
// customer and their new payment method at the processor: Chargebee
// payment_source_updated, Stripe payment_method.attached, Recurly's thin
// account billing_info_updated (its billing info served by withBillingInfo),
// custombilling customer.payment_method_updated.
func cardUpdateBody(platform string, inv billing.Invoice, newMethod string) ([]byte, string) {
	eventID := "ev_chaos_card_update_" + inv.ID
	now := time.Now()
	var body map[string]any
	switch platform {
	case recovery.Chargebee:
		body = map[string]any{"id": eventID, "occurred_at": now.Unix(), "source": "hosted_page", "object": "event", "api_version": "v2",
			"event_type": "payment_source_updated", "webhook_status": "scheduled", "content": map[string]any{"payment_source": map[string]any{
				"id": "pm_cb_" + inv.ID, "object": "payment_source", "customer_id": "cb_" + inv.Customer, "type": "card", "status": "valid",
				"gateway": "stripe", "gateway_account_id": inv.GatewayAccountID, "reference_id": inv.Customer + "/" + newMethod,
				"card": map[string]any{"brand": "mastercard", "funding_type": "credit", "last4": "4444"}}}}
	case recovery.StripeBilling:
		body = map[string]any{"id": eventID, "object": "event", "api_version": "2024-06-20", "created": now.Unix(),
			"type": "payment_method.attached", "livemode": false, "data": map[string]any{"object": map[string]any{
				"id": newMethod, "object": "payment_method", "customer": inv.Customer, "type": "card",
				"card": map[string]any{"brand": "mastercard", "funding": "credit", "last4": "4444"}}}}
	case recovery.Recurly:
		recurlyBillingInfos.Store(inv.Customer, newMethod)
		body = map[string]any{"id": eventID, "object_type": "account", "site_id": "sandbox", "event_type": "billing_info_updated",
			"event_time": now.UTC().Format(time.RFC3339), "uuid": inv.Customer}
	default:
		body = map[string]any{"type": recovery.CustomPaymentMethodUpdated, "timestamp": now.UTC().Format(time.RFC3339), "data": map[string]any{
			"connector_customer_id": inv.Customer, "payment_method_type": "card", "payment_method_sub_type": "credit",
			"payment_method_data": map[string]any{"primary_processor_payment_method_token": newMethod,
				"additional_payment_method_info": map[string]any{"card_network": "Mastercard", "card_type": "credit"}}}}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return raw, eventID
}

// recurlyBillingInfos are the Recurly accounts' current payment methods at
// the processor (account code → payment method), as GET
// /accounts/{account}/billing_info serves them.
var recurlyBillingInfos sync.Map

// withBillingInfo adds Recurly's billing-info look-up, which the billing
// sandbox does not serve, in front of its API.
func withBillingInfo(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("GET /accounts/{account}/billing_info", func(w http.ResponseWriter, r *http.Request) {
		if user, _, ok := r.BasicAuth(); !ok || user != billingAPIKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		account := r.PathValue("account")
		method, ok := recurlyBillingInfos.Load(account)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "bi_" + account, "object": "billing_info", "account_id": account,
			"payment_method": map[string]any{"object": "credit_card", "card_type": "Mastercard", "gateway_token": method,
				"gateway_attributes": map[string]any{"account_reference": account}}})
	})
	return mux
}

// assertCardNetworkRules checks each card-network story's charges (the
// successful one on the card it must use) and asserts that the payment
// sandbox counted no violation of the networks' rules over every charge of
// the run, while the rules did bind: a budget group's card ran out for at
// least one invoice, which then paid with its second card.
func (c *cluster) assertCardNetworkRules(ctx context.Context, stories []invoiceStory, profileID string, proc *payments.Processor) {
	t := c.t
	switched := map[string]int{}
	for _, s := range stories {
		var res workflows.RecoveryResult
		if err := c.temporal.GetWorkflow(ctx, workflows.RevenueRecoveryWorkflowID(profileID, s.inv.ID), "").Get(ctx, &res); err != nil {
			t.Errorf("invoice %s: %v", s.inv.ID, err)
			continue
		}
		if c.assertCardStoryCharges(s, res.Status, proc.ChargesFor(s.inv.ID)) {
			switched[s.cardGroup]++
		}
	}
	for _, group := range []string{"mastercard_24h", "visa_30d_amount"} {
		if switched[group] == 0 {
			t.Errorf("no invoice of the shared card %s switched cards: its budget never ran out, so the rules were not put to the test", group)
		}
	}
	counted, sharedDeclines := 0, map[string]int{}
	for _, ch := range proc.Charges() {
		if ch.Brand == "visa" || ch.Brand == "mastercard" {
			counted++
		}
		if strings.HasPrefix(ch.Fingerprint, sharedCardPrefix) && ch.Status != "succeeded" {
			sharedDeclines[strings.TrimPrefix(ch.Fingerprint, sharedCardPrefix)]++
		}
	}
	report := proc.NetworkRules()
	t.Logf("card-network rules: the payment sandbox counted %d violations %v over %d Visa and Mastercard charges (%d in all); declines per shared card %v; invoices paid with a card other than their first, by group: %v",
		len(report.Violations), report.Counts, counted, len(proc.Charges()), sharedDeclines, switched)
	for i, v := range report.Violations {
		if i == 10 {
			t.Errorf("… and %d more violations", len(report.Violations)-i)
			break
		}
		t.Errorf("the payment sandbox counted a %s violation: charge %s (invoice %s, key %s) on a %s card", v.Rule, v.PaymentIntentID, v.InvoiceID, v.IdempotencyKey, v.Brand)
	}
}

// assertCardStoryCharges: the one successful charge of a story paid by us is
// on the payment method it must use, and every other is a decline on the
// invoice's first card. It reports whether the invoice paid with another card.
func (c *cluster) assertCardStoryCharges(s invoiceStory, status string, charges []payments.Charge) bool {
	var paid []payments.Charge
	for _, ch := range charges {
		switch {
		case ch.Status == "succeeded":
			paid = append(paid, ch)
		case ch.PaymentMethod != s.inv.PaymentMethod:
			c.t.Errorf("invoice %s: a declined charge on %s, not its first card", s.inv.ID, ch.PaymentMethod)
		}
	}
	if status == workflows.RecoverySucceededInternal {
		// A shared card's budget spent, only the invoices it blocked move on;
		// one charged inside the budget is paid by its first card's next retry.
		onFirst := s.ending == endsBudgetSpent && len(paid) == 1 && paid[0].PaymentMethod == s.inv.PaymentMethod
		if len(paid) != 1 || (paid[0].PaymentMethod != s.payWith && !onFirst) {
			c.t.Errorf("invoice %s (%s): paid by %v, want one charge on %s", s.inv.ID, s.cardGroup, methods(paid), s.payWith)
		}
		return len(paid) == 1 && paid[0].PaymentMethod != s.inv.PaymentMethod
	}
	return false
}

func methods(charges []payments.Charge) []string {
	out := make([]string, len(charges))
	for i, ch := range charges {
		out[i] = ch.PaymentMethod
	}
	return out
}

// TestChaosNetworkRulesControl is the check's control: the same cluster and
// payment sandbox with orderflow's card-network rules switched off
// (ORDERFLOW_NETWORK_RULES_ENABLED=false), no faults, and a fast schedule
// (10 retries a second apart). Two invoices on one Mastercard card (20
// declines where 10 a day are allowed), two of one amount on one Visa card
// (20 where 15 are), one Visa card declined with Category 1's stolen-card
// code and one Mastercard card with advice 21, each then retried: the
// sandbox must count violations of every one of the four rules, so the main
// run's zero can fail.
func TestChaosNetworkRulesControl(t *testing.T) {
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(sigCtx, 5*time.Minute)
	defer cancel()
	c := newCluster(t, ctx, planFor(false))
	worker := c.process(c.workerBin, append([]string{"ORDERFLOW_NETWORK_RULES_ENABLED=false"}, c.sourceEnv...)...)
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })

	plat, proc, merch := billing.New(billingAPIKey), payments.New(processorAPIKey), merchant.New(merchantHashKey)
	billingSrv, procSrv, merchSrv := httptest.NewServer(plat.Handler()), httptest.NewServer(proc.Handler()), httptest.NewServer(merch.Handler())
	t.Cleanup(func() { billingSrv.Close(); procSrv.Close(); merchSrv.Close() })
	const retries = 10
	profileID, connectors := c.configureRecovery(billingSrv.URL, procSrv.URL, merchSrv.URL,
		recoverySetup{frequencies: []map[string]any{{"delay_seconds": 1, "count": retries}}, maxRetries: retries})

	p := &cardPlanner{rng: rand.New(rand.NewPCG(uint64(*seed), 0xc0717)), plat: plat, proc: proc}
	mc := payments.Card{Brand: "mastercard", Fingerprint: "fp_control_mc"}
	visa := payments.Card{Brand: "visa", Fingerprint: "fp_control_visa"}
	for range 2 {
		p.invoice(endsBudgetSpent, mc, 0, repeat(mastercardSoft, retries)...)
		p.invoice(endsBudgetSpent, visa, 4242, repeat(visaSoft, retries)...)
	}
	p.invoice(endsCardSwitched, payments.Card{Brand: "visa", Fingerprint: "fp_control_visa_stolen"}, 0,
		append([]payments.Outcome{visaCategory1[0]}, repeat(visaSoft, retries)...)...)
	p.invoice(endsCardSwitched, payments.Card{Brand: "mastercard", Fingerprint: "fp_control_mc_cancelled"}, 0,
		append([]payments.Outcome{mastercardNeverRetry[1]}, repeat(mastercardSoft, retries)...)...)

	start := time.Now()
	for i, s := range p.out {
		e := billing.Endpoint{URL: c.starterURL(i) + "/webhooks/revenue_recovery/" + profileID + "/" + connectors[s.platform],
			Platform: s.platform, Secret: platformSecrets[s.platform], Username: "cb_chaos"}
		if err := postBilling(ctx, plat, e, s.events[0]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, "every control recovery to close", func() bool {
		for _, s := range p.out {
			d, err := c.temporal.DescribeWorkflowExecution(ctx, workflows.RevenueRecoveryWorkflowID(profileID, s.inv.ID), "")
			if err != nil || d.WorkflowExecutionInfo.CloseTime == nil {
				return false
			}
		}
		return true
	})
	report := proc.NetworkRules()
	t.Logf("rules off: %d charges in %v; the payment sandbox counted %d violations %v", len(proc.Charges()),
		time.Since(start).Round(time.Second), len(report.Violations), report.Counts)
	for _, rule := range []string{payments.RuleMastercardDeclines1, payments.RuleVisaReattempts, payments.RuleVisaCategory1, payments.RuleMastercardMAC21} {
		if report.Counts[rule] == 0 {
			t.Errorf("rules off, yet the payment sandbox counted no %s violation: the main run's zero proves nothing for it", rule)
		}
	}
	if !strings.Contains(c.logs.String(), "card-network rules are OFF") {
		t.Error("the worker ran with the card-network rules off without warning about it")
	}
}
