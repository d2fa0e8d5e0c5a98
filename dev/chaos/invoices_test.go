//go:build chaos

package chaos

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"orderflow/dev/sandbox/billing"
	"orderflow/dev/sandbox/merchant"
	"orderflow/dev/sandbox/payments"
	"orderflow/recovery"
	"orderflow/workflows"
)

var invoices = flag.Int("chaos.invoices", 0, "invoices of the revenue-recovery part (default: 200 short, 1,000 long)")

// Distinctive revenue-recovery secrets, scanned for like the others.
const (
	merchantHashKey    = "whsec_Y2hhb3MtbWVyY2hhbnQtRElTVElOQ1Qta2V5LTc3YzE="
	processorAPIKey    = "sk_test_chaos_DISTINCT_41d8f0"
	billingAPIKey      = "billing_chaos_DISTINCT_0b7e93"
	chargebeePassword  = "cb_chaos_DISTINCT_62aa1c"
	stripeWebhookSec   = "whsec_stripe_chaos_DISTINCT_9c04"
	recurlyWebhookKey  = "recurly_chaos_DISTINCT_d21b7e"
	customWebhookSec   = "whsec_Y2hhb3MtY3VzdG9tYmlsbGluZy1ESVNUSU5DVC01ZTBh"
	gatewayAccountID   = "gw_chaos"
	paymentSucceeded   = "payment_succeeded"
	merchantFailRate   = 0.30
	platformsUnderTest = 4
)

var platformSecrets = map[string]string{recovery.Chargebee: chargebeePassword, recovery.StripeBilling: stripeWebhookSec,
	recovery.Recurly: recurlyWebhookKey, recovery.CustomBilling: customWebhookSec}

// How an invoice's story ends, and so the one terminal state it must reach.
const (
	endsInternalSuccess = iota // a retry of ours succeeds (after a decline, maybe a lost answer or a 500)
	endsExternalSuccess        // the customer pays at the platform while our retries decline
	endsCancelled              // the merchant voids the invoice while our retries decline
	endsHardDeclined           // the first retry gets stolen_card: no more retries
)

var wantStatus = map[int]string{endsInternalSuccess: workflows.RecoverySucceededInternal, endsExternalSuccess: workflows.RecoverySucceededExternal,
	endsCancelled: workflows.RecoveryCancelled, endsHardDeclined: workflows.RecoveryHardDeclined}

// delivery is one billing event body, posted several times (duplicates).
type delivery struct {
	eventID string
	body    []byte
	copies  int
}

// invoiceStory is one invoice, its billing connector and its events in the platform's order.
type invoiceStory struct {
	inv      billing.Invoice
	platform string
	ending   int
	events   []delivery
	// The card-network stories (cardrules_test.go): the payment method the
	// successful charge must use, and the cards shared with other invoices.
	payWith   string
	cardGroup string
}

// TestChaosInvoicesEndInOneTerminalState: invoices whose payment failed get
// their billing events (failures, external successes, cancellations, each
// duplicated) through /webhooks/revenue_recovery/{profile}/{connector}, signed
// with each platform's real scheme, while the worker is SIGKILLed, the store
// crashes once, the payment processor loses answers and fails, and the
// merchant endpoint answers 500 to 30 % of deliveries. Every invoice must end
// in exactly the terminal state its events imply; the merchant must get
// exactly one verified payment_succeeded per internal success and none
// otherwise; the processor must never charge one attempt twice. Some invoices
// share Visa and Mastercard cards, get the networks' decline codes, have a
// second stored card or a card update (cardrules_test.go): the payment
// sandbox's own count of card-network rule violations must stay at zero.
func TestChaosInvoicesEndInOneTerminalState(t *testing.T) {
	p := planFor(*long)
	n := *invoices
	if n == 0 {
		n = 200
		if *long {
			n = 1000
		}
	}
	rng := rand.New(rand.NewPCG(uint64(*seed), 0x1a7015))
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithTimeout(sigCtx, p.deadline)
	defer cancel()
	c := newCluster(t, ctx, p)

	plat := billing.New(billingAPIKey)
	proc := payments.New(processorAPIKey)
	merch := merchant.New(merchantHashKey)
	// At most one injected failure per webhook. The profile's retry delays are
	// seconds, not Hyperswitch's 1 min, 5 min, …: a worker kill during a delivery
	// also spends an attempt, and the default's second step alone would add five
	// minutes to the run.
	faulty := merch.WithFaults(merchant.Faults{Seed: *seed, ServerErrorRate: merchantFailRate, MaxFailuresPerID: 1})
	billingSrv, procSrv, merchSrv := httptest.NewServer(withBillingInfo(plat.Handler())), httptest.NewServer(proc.Handler()), httptest.NewServer(faulty)
	t.Cleanup(func() { billingSrv.Close(); procSrv.Close(); merchSrv.Close() })
	profileID, connectors := c.configureRecovery(billingSrv.URL, procSrv.URL, merchSrv.URL, chaosRecovery)

	stories := planInvoices(rng, plat, proc, n)
	cardStories := planCardRuleInvoices(rng, plat, proc, n)
	stories = append(stories, cardStories...)
	rng.Shuffle(len(stories), func(i, j int) { stories[i], stories[j] = stories[j], stories[i] })
	deliveries := 0
	for _, s := range stories {
		for _, d := range s.events {
			deliveries += d.copies
		}
	}
	t.Logf("seed %d: %d invoices (%d of them on shared cards or with card updates) over %d platforms, %d webhook deliveries (duplicates included); merchant fails %.0f %% of first deliveries",
		*seed, len(stories), len(cardStories), platformsUnderTest, deliveries, merchantFailRate*100)

	killer := c.superviseWorkers(rng, p.killEvery)
	start := time.Now()
	var sent atomic.Int64
	var restartOnce sync.Once
	// Each invoice's events go out in its platform's order, one after the
	// other; the invoices are interleaved by 8 senders in a shuffled order.
	// First every failure; then, once each invoice that will be paid or
	// voided elsewhere, or whose card is updated, has had a retry of ours
	// declined, the rest. The invoices of a card the networks stop fail
	// together, so their first charges race for the card.
	send := func(phase func(events []delivery) []delivery) error {
		return parallel(ctx, len(stories), 8, func(i int) error {
			s := stories[i]
			e := billing.Endpoint{URL: c.starterURL(i) + "/webhooks/revenue_recovery/" + profileID + "/" + connectors[s.platform],
				Platform: s.platform, Secret: platformSecrets[s.platform], Username: "cb_chaos"}
			for _, d := range phase(s.events) {
				for range d.copies {
					if sent.Add(1) == int64(deliveries/2) {
						restartOnce.Do(func() { go c.restartStore() })
					}
					if err := postBilling(ctx, plat, e, d); err != nil {
						return fmt.Errorf("invoice %s: %w", s.inv.ID, err)
					}
				}
			}
			return nil
		})
	}
	if err := send(func(ev []delivery) []delivery { return ev[:1] }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a declined retry for every invoice paid or voided elsewhere or whose card is updated", func() bool {
		for _, s := range stories {
			if (s.ending == endsExternalSuccess || s.ending == endsCancelled || s.ending == endsCardUpdated) && len(proc.ChargesFor(s.inv.ID)) == 0 {
				return false
			}
		}
		return true
	})
	if err := send(func(ev []delivery) []delivery { return ev[1:] }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d billing deliveries accepted in %v", deliveries, time.Since(start).Round(time.Millisecond))

	wfIDs := make([]string, len(stories))
	for i, s := range stories {
		wfIDs[i] = workflows.RevenueRecoveryWorkflowID(profileID, s.inv.ID)
	}
	waitFor(t, ctx, "every invoice's recovery to close", func() bool {
		for _, id := range wfIDs {
			d, err := c.temporal.DescribeWorkflowExecution(ctx, id, "")
			if err != nil || d.WorkflowExecutionInfo.CloseTime == nil {
				return false
			}
		}
		return true
	})
	kills := killer.stop()
	c.logSlowestRecoveries(ctx, stories, wfIDs)
	t.Logf("all %d recoveries closed after %v; %d worker kills; store restarted %d time(s); merchant %+v; processor saw %d requests for %d charges",
		len(stories), time.Since(start).Round(time.Second), kills, c.storeRestarts.Load(), faulty.Stats(), proc.Requests(), len(proc.Charges()))

	c.assertInvoiceOutcomes(ctx, stories, wfIDs, proc, merch)
	c.assertCardNetworkRules(ctx, cardStories, profileID, proc)
	st := faulty.Stats()
	if kills < 2 || c.storeRestarts.Load() != 1 || st.ServerErrors == 0 {
		t.Errorf("faults not all injected: %d kills, %d store restarts, merchant %+v", kills, c.storeRestarts.Load(), st)
	}
	c.assertNoSecretLeaked(merchantHashKey, processorAPIKey, billingAPIKey, chargebeePassword, stripeWebhookSec, recurlyWebhookKey, customWebhookSec)
}

// logSlowestRecoveries logs the three recoveries that ran longest (start →
// close) and their stories: where a slow run spent its time.
func (c *cluster) logSlowestRecoveries(ctx context.Context, stories []invoiceStory, wfIDs []string) {
	type ran struct {
		story int
		took  time.Duration
	}
	var runs []ran
	for i, id := range wfIDs {
		d, err := c.temporal.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			c.t.Logf("describe %s: %v", id, err)
			return
		}
		info := d.WorkflowExecutionInfo
		runs = append(runs, ran{i, info.CloseTime.AsTime().Sub(info.StartTime.AsTime())})
	}
	slices.SortFunc(runs, func(a, b ran) int { return cmp.Compare(b.took, a.took) })
	for _, r := range runs[:min(3, len(runs))] {
		s := stories[r.story]
		c.t.Logf("slow recovery: invoice %s (%s, ending %s) ran %v", s.inv.ID, s.platform, wantStatus[s.ending], r.took.Round(time.Second))
	}
}

// assertInvoiceOutcomes checks each invoice's one workflow, its terminal
// state, the processor's charges and the merchant's payment_succeeded webhooks.
func (c *cluster) assertInvoiceOutcomes(ctx context.Context, stories []invoiceStory, wfIDs []string, proc *payments.Processor, merch *merchant.Merchant) {
	t := c.t
	succeeded := map[string]map[string]int{} // invoice → verified payment_succeeded event_id → 2xx deliveries
	unverified := 0
	for _, r := range merch.Received() {
		if r.EventType != paymentSucceeded {
			continue
		}
		if !r.Verified() {
			unverified++
			continue
		}
		if r.StatusCode != http.StatusOK {
			continue
		}
		content, _ := r.Body["content"].(map[string]any) // a body of another shape counts under invoice ""
		obj, _ := content["object"].(map[string]any)
		inv, _ := obj["merchant_reference_id"].(string)
		if succeeded[inv] == nil {
			succeeded[inv] = map[string]int{}
		}
		succeeded[inv][r.EventID]++
	}
	if unverified > 0 {
		t.Errorf("%d payment_succeeded deliveries failed the merchant's signature checks", unverified)
	}
	byEnding := map[string]int{}
	repeated := 0
	for i, s := range stories {
		var res workflows.RecoveryResult
		if err := c.temporal.GetWorkflow(ctx, wfIDs[i], "").Get(ctx, &res); err != nil {
			t.Errorf("invoice %s: %v", s.inv.ID, err)
			continue
		}
		byEnding[res.Status]++
		if !s.endedAsImplied(res.Status) {
			t.Errorf("invoice %s (%s): ended %s, its events imply %s", s.inv.ID, s.platform, res.Status, wantStatus[s.ending])
		}
		c.assertCharges(s, wfIDs[i], proc.ChargesFor(s.inv.ID))
		got := succeeded[s.inv.ID]
		paidByUs := res.Status == workflows.RecoverySucceededInternal
		switch {
		case paidByUs && (len(got) != 1 || got[workflows.RecoveryWebhookEventID(wfIDs[i], paymentSucceeded)] == 0):
			t.Errorf("invoice %s: merchant got payment_succeeded %v, want exactly its one event", s.inv.ID, got)
		case !paidByUs && len(got) != 0:
			t.Errorf("invoice %s ended %s, yet the merchant got payment_succeeded %v", s.inv.ID, res.Status, got)
		}
		for _, n := range got {
			if n > 1 {
				repeated++
			}
		}
	}
	// One workflow per invoice: the Temporal UI's InvoiceID search finds exactly one each.
	resp, err := c.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = %q AND WorkflowType = 'RevenueRecovery'", c.cfg.Temporal.TaskQueue)})
	if err != nil || resp.Count != int64(len(stories)) {
		t.Errorf("%v RevenueRecovery workflows for %d invoices (%v)", resp.GetCount(), len(stories), err)
	}
	t.Logf("terminal states %v; %d payment_succeeded events answered 2xx more than once (a worker killed after the merchant's answer)",
		byEnding, repeated)
}

// assertCharges: every charge of the invoice is one of its attempts' keys, none twice.
func (c *cluster) assertCharges(s invoiceStory, wfID string, charges []payments.Charge) {
	valid := map[string]int{}
	for k := 1; k <= maxRetries; k++ {
		valid[workflows.RecoveryPaymentIdempotencyKey(wfID, k)] = k
	}
	seen := map[string]bool{}
	for _, ch := range charges {
		if _, ok := valid[ch.IdempotencyKey]; !ok {
			c.t.Errorf("invoice %s: charge %s under key %q, which is none of its attempts'", s.inv.ID, ch.PaymentIntentID, ch.IdempotencyKey)
		}
		if seen[ch.IdempotencyKey] {
			c.t.Errorf("invoice %s: attempt %q charged twice", s.inv.ID, ch.IdempotencyKey)
		}
		seen[ch.IdempotencyKey] = true
	}
	want := map[int]string{endsInternalSuccess: "2", endsHardDeclined: "1"}[s.ending]
	if want != "" && fmt.Sprint(len(charges)) != want {
		c.t.Errorf("invoice %s: %d charges, want %s", s.inv.ID, len(charges), want)
	}
	if (s.ending == endsExternalSuccess || s.ending == endsCancelled) && (len(charges) == 0 || len(charges) >= maxRetries) {
		c.t.Errorf("invoice %s: %d declined charges before the platform's event, want 1 to %d", s.inv.ID, len(charges), maxRetries-1)
	}
}

// maxRetries is the billing connectors' max_retry_count.
const maxRetries = 4

// recoverySetup is a profile's retry schedule and its billing connectors' retry count.
type recoverySetup struct {
	frequencies []map[string]any // cascading_schedule.frequencies; the first retry is 1 s after the failure
	maxRetries  int
}

// chaosRecovery is the short cascading schedule: 1 s, 2 s, 2 s, then 90 s so
// that an external success, a cancellation or a card update always arrives
// during the wait.
var chaosRecovery = recoverySetup{frequencies: []map[string]any{{"delay_seconds": 2, "count": 2}, {"delay_seconds": 90, "count": 2}},
	maxRetries: maxRetries}

// configureRecovery creates, through the starter's API, the profile, the
// payment connector and one billing connector per platform, each switching to
// the customer's other stored cards when a card is spent
// (switch_payment_method_config).
func (c *cluster) configureRecovery(billingURL, processorURL, merchantURL string, setup recoverySetup) (string, map[string]string) {
	profileID, err := c.postID("/v1/profiles", map[string]any{
		"merchant_id": "merchant_chaos", "webhook_url": merchantURL + "/webhooks", "payment_response_hash_key": merchantHashKey,
		"revenue_recovery_retry_algorithm_type": "cascading", "max_random_schedule_delay_in_seconds": 0,
		"cascading_schedule":           map[string]any{"start_after_seconds": 1, "frequencies": setup.frequencies},
		"webhook_retry_delays_seconds": chaosWebhookRetryDelays,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	payID, err := c.postID("/v1/connector-accounts", map[string]any{
		"profile_id": profileID, "connector_type": "payment_processor", "connector_name": "stripe", "base_url": processorURL,
		"connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": processorAPIKey},
	})
	if err != nil {
		c.t.Fatal(err)
	}
	connectors := map[string]string{}
	for platform, secret := range platformSecrets {
		acctID, err := c.postID("/v1/connector-accounts", map[string]any{
			"profile_id": profileID, "connector_type": "billing_processor", "connector_name": platform, "base_url": billingURL,
			"connector_account_details": map[string]any{"auth_type": "HeaderKey", "api_key": billingAPIKey},
			"connector_webhook_details": map[string]any{"merchant_secret": secret, "username": "cb_chaos"},
			"feature_metadata": map[string]any{"revenue_recovery": map[string]any{
				"max_retry_count": setup.maxRetries, "billing_connector_retry_threshold": 1,
				"billing_account_reference":    map[string]any{payID: gatewayAccountID},
				"switch_payment_method_config": map[string]any{"retry_threshold": 0, "time_threshold_after_creation": 0},
			}},
		})
		if err != nil {
			c.t.Fatal(err)
		}
		connectors[platform] = acctID
	}
	return profileID, connectors
}

// chaosWebhookRetryDelays is the merchant webhook's retry schedule in the
// chaos run: Hyperswitch's shape (short, then longer) in seconds.
var chaosWebhookRetryDelays = []int{2, 5, 5, 10, 10, 10, 30, 30, 60, 60}

// planInvoices draws each invoice's ending, scripts the processor for it and
// builds its events: the failure (2–3 copies), then for external successes
// and cancellations the platform's event (2–3 copies), and sometimes a late
// copy of the failure after everything. The stories come back shuffled.
func planInvoices(rng *rand.Rand, plat *billing.Platform, proc *payments.Processor, n int) []invoiceStory {
	platforms := []string{recovery.Chargebee, recovery.StripeBilling, recovery.Recurly, recovery.CustomBilling}
	soft := payments.Outcome{Kind: payments.Decline, DeclineCode: "insufficient_funds"}
	var out []invoiceStory
	for i := range n {
		id := fmt.Sprintf("inv_chaos_%04d", i)
		s := invoiceStory{platform: platforms[(i/4)%len(platforms)], ending: i % 4, inv: billing.Invoice{
			ID: id, Amount: int64(1000 + i), Currency: "USD", Customer: "cus_" + id, PaymentMethod: "pm_" + id, AttemptCount: 2,
			ErrorCode: "card_declined", DeclineCode: "insufficient_funds", GatewayAccountID: gatewayAccountID, TransactionID: "ch_ext_fail_" + id}}
		switch s.ending {
		case endsInternalSuccess:
			switch rng.IntN(3) {
			case 0:
				proc.Script(s.inv.PaymentMethod, soft)
			case 1: // a 500 before charging, then the same attempt (same key) is declined
				proc.Script(s.inv.PaymentMethod, payments.Outcome{Kind: payments.ServerFail}, soft)
			case 2: // the second attempt is charged but its answer lost: the retry must not charge again
				proc.Script(s.inv.PaymentMethod, soft, payments.Outcome{Kind: payments.LoseAnswer})
			}
		case endsExternalSuccess, endsCancelled:
			for range maxRetries {
				proc.Script(s.inv.PaymentMethod, soft)
			}
		case endsHardDeclined:
			proc.Script(s.inv.PaymentMethod, payments.Outcome{Kind: payments.Decline, DeclineCode: "stolen_card"})
		}
		event := func(kind string, inv billing.Invoice) delivery {
			body, eventID := plat.Body(s.platform, kind, inv)
			return delivery{eventID: eventID, body: body, copies: 2 + rng.IntN(2)}
		}
		failure := event(billing.Failed, s.inv)
		s.events = append(s.events, failure)
		switch s.ending {
		case endsExternalSuccess:
			paid := s.inv
			paid.TransactionID = "ch_ext_paid_" + id
			s.events = append(s.events, event(billing.Succeeded, paid))
		case endsCancelled:
			s.events = append(s.events, event(billing.Cancelled, s.inv))
		}
		if rng.IntN(4) == 0 {
			late := failure
			late.copies = 1
			s.events = append(s.events, late)
		}
		out = append(out, s)
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// postBilling posts one delivery, signed now, retrying on 503 and transport
// errors as a platform's sender does; 200 is the only success.
func postBilling(ctx context.Context, plat *billing.Platform, e billing.Endpoint, d delivery) error {
	for {
		code, err := plat.Post(ctx, e, d.eventID, d.body)
		switch {
		case err == nil && code == http.StatusOK:
			return nil
		case err == nil && code != http.StatusServiceUnavailable:
			return fmt.Errorf("billing event %s answered %d", d.eventID, code)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		time.Sleep(500 * time.Millisecond) // the sender's back-off before its retry, not a wait for work
	}
}
