package payments

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const testKey = "sk_test_rules"

// charge posts one PaymentIntent create+confirm and returns the answer's status code.
func charge(t *testing.T, srv *httptest.Server, pm string, amount int64, key string) int {
	t.Helper()
	form := url.Values{"amount": {fmt.Sprint(amount)}, "currency": {"usd"}, "payment_method": {pm}, "confirm": {"true"},
		"metadata[invoice_id]": {"inv_" + key}}
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/payment_intents", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func newRulesSandbox(t *testing.T) (*Processor, *httptest.Server) {
	p := New(testKey)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return p, srv
}

func soft() Outcome {
	return Outcome{Kind: Decline, DeclineCode: "insufficient_funds", NetworkDeclineCode: "51"}
}

func rulesOf(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Rule + "@" + v.IdempotencyKey
	}
	return out
}

// Mastercard's 24-hour budget is per card: two payment methods of one card
// share it, a success does not use it, and every charge sent once it is
// spent is a violation; another card has its own.
func TestRuleCounterCountsMastercardDeclinesPerCard(t *testing.T) {
	p, srv := newRulesSandbox(t)
	p.SetNetworkLimits(NetworkLimits{VisaReattempts30d: 15, MastercardDeclines24h: 3, MastercardDeclines30d: 35})
	shared := Card{Brand: "mastercard", Fingerprint: "fp_shared_mc"}
	p.SetCard("pm_a", shared)
	p.SetCard("pm_b", shared)
	p.SetCard("pm_other", Card{Brand: "mastercard", Fingerprint: "fp_other_mc"})
	p.Script("pm_a", soft(), Outcome{Kind: Succeed}, soft())
	p.Script("pm_b", soft(), soft(), soft())
	p.Script("pm_other", soft(), soft(), soft())
	for i, pm := range []string{"pm_a", "pm_a", "pm_b", "pm_a", "pm_b", "pm_b", "pm_other", "pm_other", "pm_other"} {
		charge(t, srv, pm, 1000, fmt.Sprintf("k%d", i))
	}
	// pm_a: decline, success, decline; pm_b: decline (3rd decline of the card), then two charges over budget.
	got := rulesOf(p.NetworkRuleViolations())
	want := []string{RuleMastercardDeclines1 + "@k4", RuleMastercardDeclines1 + "@k5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
	if c := p.Charges()[5]; len(c.NetworkRuleViolations) != 1 || c.NetworkRuleViolations[0] != RuleMastercardDeclines1 {
		t.Errorf("charge k5 carries %v", c.NetworkRuleViolations)
	}
}

// Never-retry codes close a card for the merchant, whichever payment method
// holds it: Visa's Category 1 by decline code or raw response code,
// Mastercard's advice codes 03 and 21. Soft codes close nothing.
func TestRuleCounterStopsCardsAfterNeverRetryCodes(t *testing.T) {
	cases := []struct {
		name, brand string
		decline     Outcome
		rule        string
	}{
		{"visa stolen", "visa", Outcome{Kind: Decline, DeclineCode: "stolen_card"}, RuleVisaCategory1},
		{"visa raw 43", "visa", Outcome{Kind: Decline, DeclineCode: "generic_decline", NetworkDeclineCode: "43"}, RuleVisaCategory1},
		{"mastercard MAC 03", "mastercard", Outcome{Kind: Decline, DeclineCode: "do_not_honor", NetworkAdviceCode: "03"}, RuleMastercardMAC03},
		{"mastercard MAC 21", "mastercard", Outcome{Kind: Decline, DeclineCode: "generic_decline", NetworkAdviceCode: "21"}, RuleMastercardMAC21},
		{"visa soft", "visa", soft(), ""},
		{"mastercard MAC 01", "mastercard", Outcome{Kind: Decline, DeclineCode: "do_not_honor", NetworkAdviceCode: "01"}, ""},
		{"amex stolen", "amex", Outcome{Kind: Decline, DeclineCode: "stolen_card"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, srv := newRulesSandbox(t)
			card := Card{Brand: tc.brand, Fingerprint: "fp_1"}
			p.SetCard("pm_first", card)
			p.SetCard("pm_same_card", card)
			p.SetCard("pm_other_card", Card{Brand: tc.brand, Fingerprint: "fp_2"})
			p.Script("pm_first", tc.decline)
			charge(t, srv, "pm_first", 500, "k1")
			charge(t, srv, "pm_other_card", 500, "k2")
			charge(t, srv, "pm_same_card", 700, "k3")
			got := rulesOf(p.NetworkRuleViolations())
			var want []string
			if tc.rule != "" {
				want = []string{tc.rule + "@k3"}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("violations %v, want %v", got, want)
			}
		})
	}
}

// Visa's reattempt budget is per card and amount: another amount of the same
// card has its own.
func TestRuleCounterCountsVisaReattemptsPerCardAndAmount(t *testing.T) {
	p, srv := newRulesSandbox(t)
	p.SetNetworkLimits(NetworkLimits{VisaReattempts30d: 2, MastercardDeclines24h: 10, MastercardDeclines30d: 35})
	p.SetCard("pm_visa", Card{Brand: "visa", Fingerprint: "fp_v"})
	p.Script("pm_visa", soft(), soft(), soft(), soft())
	charge(t, srv, "pm_visa", 1000, "k1")
	charge(t, srv, "pm_visa", 1000, "k2")
	charge(t, srv, "pm_visa", 2000, "k3")
	charge(t, srv, "pm_visa", 1000, "k4")
	got := rulesOf(p.NetworkRuleViolations())
	if want := []string{RuleVisaReattempts + "@k4"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("violations %v, want %v", got, want)
	}
	resp, err := srv.Client().Get(srv.URL + "/network_rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var report NetworkRuleReport
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		t.Fatal(err)
	}
	if report.Counts[RuleVisaReattempts] != 1 || len(report.Violations) != 1 || report.Limits.VisaReattempts30d != 2 {
		t.Errorf("GET /network_rules: %+v", report)
	}
}

// A decline counts for its window only: rolling, exclusive at its end.
func TestRuleCounterWindowsRoll(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	times := []time.Time{now.Add(-day), now.Add(-day + time.Second), now.Add(-time.Hour)}
	if n := within(times, day, now); n != 2 {
		t.Errorf("within 24 h: %d, want 2", n)
	}
	if n := within(times, thirtyDays, now); n != 3 {
		t.Errorf("within 30 days: %d, want 3", n)
	}
}

// The counter is a check on orderflow's card-network rules, so it must not
// share their code: the package links nothing of orderflow outside the sandboxes.
func TestRuleCounterImportsNoOrderflowCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "orderflow/dev/sandbox/payments" {
		t.Fatalf("go list -deps does not end with this package: %v", deps)
	}
	for _, d := range deps {
		if (d == "orderflow" || strings.HasPrefix(d, "orderflow/")) && !strings.HasPrefix(d, "orderflow/dev/sandbox/") {
			t.Errorf("the payment sandbox links %s; its rule counter must be its own", d)
		}
	}
}
