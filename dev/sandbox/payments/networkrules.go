package payments

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The card-network rules the sandbox watches, as the networks publish them
// (docs/card-network-rules.md lists the sources). This is the processor's own
// reading, written apart from orderflow's rule code and never importing it
// (TestRuleCounterImportsNoOrderflowCode): a check that shares the checked
// code cannot catch its mistakes.
const (
	RuleVisaCategory1       = "visa_category_1"         // any charge on a card after a Visa Category 1 decline
	RuleVisaReattempts      = "visa_reattempts_30d"     // a charge after the 30-day reattempt budget of a card and amount is spent
	RuleMastercardMAC03     = "mastercard_mac_03"       // any charge on a card after Merchant Advice Code 03
	RuleMastercardMAC21     = "mastercard_mac_21"       // any charge on a card after Merchant Advice Code 21
	RuleMastercardDeclines1 = "mastercard_declines_24h" // a charge on a card that already has the 24-hour maximum of declines
	RuleMastercardDeclines2 = "mastercard_declines_30d" // a charge on a card that already has the 30-day maximum of declines
)

// NetworkLimits are the rolling-window numbers. The defaults are the
// published ones orderflow's configuration starts from.
type NetworkLimits struct {
	VisaReattempts30d     int `json:"visa_reattempts_30d"`     // per card and amount
	MastercardDeclines24h int `json:"mastercard_declines_24h"` // per card
	MastercardDeclines30d int `json:"mastercard_declines_30d"` // per card
}

// DefaultNetworkLimits: Visa 15 reattempts in 30 days; Mastercard 10 declines
// in 24 hours and 35 in 30 days.
func DefaultNetworkLimits() NetworkLimits {
	return NetworkLimits{VisaReattempts30d: 15, MastercardDeclines24h: 10, MastercardDeclines30d: 35}
}

// Violation is one charge the card networks' rules forbade.
type Violation struct {
	Rule            string    `json:"rule"`
	PaymentIntentID string    `json:"payment_intent_id"`
	IdempotencyKey  string    `json:"idempotency_key"`
	InvoiceID       string    `json:"invoice_id,omitempty"`
	Brand           string    `json:"brand"`
	At              time.Time `json:"at"`
}

const (
	day        = 24 * time.Hour
	thirtyDays = 30 * day
)

// visaCategory1Declines are Stripe decline codes of Visa's Category 1, "issuer
// will never approve" (pick-up, lost, stolen, closed or invalid account,
// transaction not permitted, restricted card, no such issuer, stop-payment and
// revocation orders).
var visaCategory1Declines = []string{"pickup_card", "lost_card", "stolen_card", "restricted_card", "invalid_account",
	"account_closed", "closed_account", "transaction_not_allowed", "no_such_issuer", "invalid_transaction",
	"stop_payment_order", "revocation_of_authorization", "revocation_of_all_authorizations"}

// visaCategory1ResponseCodes are Visa's raw response codes of Category 1, as
// acquirers list them.
var visaCategory1ResponseCodes = []string{"04", "07", "12", "15", "41", "43", "46", "57", "62", "78", "R0", "R1", "R3"}

// ruleCounter watches every new charge the processor makes: the charges made
// so far (one merchant: the sandbox's API key) say whether the next one breaks
// a rule. It holds no lock of its own: the processor's mutex guards it.
type ruleCounter struct {
	limits NetworkLimits
	// stops are the cards a never-retry decline closed, by fingerprint → rule.
	stops map[string]string
	// declines are the declined charges' times, by card (fingerprint) and by card and amount.
	declines         map[string][]time.Time
	declinesByAmount map[string][]time.Time
	violations       []Violation
}

func newRuleCounter() *ruleCounter {
	return &ruleCounter{limits: DefaultNetworkLimits(), stops: map[string]string{}, declines: map[string][]time.Time{},
		declinesByAmount: map[string][]time.Time{}}
}

// check lists the rules a new charge breaks, judged by the charges before it.
func (rc *ruleCounter) check(c *Charge) []string {
	var broken []string
	if rule, ok := rc.stops[c.Fingerprint]; ok {
		broken = append(broken, rule)
	}
	switch strings.ToLower(c.Brand) {
	case "visa":
		if within(rc.declinesByAmount[amountKey(c)], thirtyDays, c.At) >= rc.limits.VisaReattempts30d {
			broken = append(broken, RuleVisaReattempts)
		}
	case "mastercard":
		if within(rc.declines[c.Fingerprint], day, c.At) >= rc.limits.MastercardDeclines24h {
			broken = append(broken, RuleMastercardDeclines1)
		}
		if within(rc.declines[c.Fingerprint], thirtyDays, c.At) >= rc.limits.MastercardDeclines30d {
			broken = append(broken, RuleMastercardDeclines2)
		}
	}
	return broken
}

// observe records a charge: its violations, and once it is declined, the
// decline in its card's counts and the stop a never-retry code puts on the card.
func (rc *ruleCounter) observe(c *Charge, broken []string) {
	for _, rule := range broken {
		rc.violations = append(rc.violations, Violation{Rule: rule, PaymentIntentID: c.PaymentIntentID, IdempotencyKey: c.IdempotencyKey,
			InvoiceID: c.Metadata["invoice_id"], Brand: c.Brand, At: c.At})
	}
	if c.Status != "requires_payment_method" {
		return
	}
	rc.declines[c.Fingerprint] = append(rc.declines[c.Fingerprint], c.At)
	rc.declinesByAmount[amountKey(c)] = append(rc.declinesByAmount[amountKey(c)], c.At)
	if rule := neverRetry(c); rule != "" {
		if _, stopped := rc.stops[c.Fingerprint]; !stopped {
			rc.stops[c.Fingerprint] = rule
		}
	}
}

// neverRetry names the rule a declined charge's codes close its card under, if any.
func neverRetry(c *Charge) string {
	switch strings.ToLower(c.Brand) {
	case "visa":
		if slices.Contains(visaCategory1Declines, strings.ToLower(c.DeclineCode)) ||
			slices.Contains(visaCategory1ResponseCodes, strings.ToUpper(c.NetworkDeclineCode)) {
			return RuleVisaCategory1
		}
	case "mastercard":
		switch strings.TrimLeft(c.NetworkAdviceCode, "0") {
		case "3":
			return RuleMastercardMAC03
		case "21":
			return RuleMastercardMAC21
		}
	}
	return ""
}

func amountKey(c *Charge) string {
	return c.Fingerprint + "|" + strings.ToLower(c.Currency) + "|" + strconv.FormatInt(c.Amount, 10)
}

// within counts the times inside the window that ends at now.
func within(times []time.Time, window time.Duration, now time.Time) int {
	n := 0
	for _, t := range times {
		if now.Sub(t) < window {
			n++
		}
	}
	return n
}

// SetNetworkLimits replaces the rolling-window numbers the counter judges by.
func (p *Processor) SetNetworkLimits(l NetworkLimits) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules.limits = l
}

// NetworkRuleViolations returns every charge the card networks' rules
// forbade, one entry per rule broken, in the order the charges came.
func (p *Processor) NetworkRuleViolations() []Violation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.rules.violations)
}

// NetworkRuleReport is GET /network_rules: the limits, every violation and their count by rule.
type NetworkRuleReport struct {
	Limits     NetworkLimits  `json:"limits"`
	Counts     map[string]int `json:"counts"`
	Violations []Violation    `json:"violations"`
}

// NetworkRules reports what the counter saw.
func (p *Processor) NetworkRules() NetworkRuleReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := NetworkRuleReport{Limits: p.rules.limits, Counts: map[string]int{}, Violations: slices.Clone(p.rules.violations)}
	for _, v := range r.Violations {
		r.Counts[v.Rule]++
	}
	return r
}

func (p *Processor) networkRulesHandler(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.NetworkRules())
}
