package recovery

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Card brands as the payment processor names them (Stripe's card.brand).
const (
	Visa       = "visa"
	Mastercard = "mastercard"
)

// KnownCardBrands are the brands a rule may name: Stripe's card.brand values.
var KnownCardBrands = []string{"amex", "cartes_bancaires", "diners", "discover", "eftpos_au", "interac", "jcb",
	"link", Mastercard, "unionpay", Visa}

// NetworkLimit is one rolling window of a card network's retry rules: at most
// Max attempts on one card (and one amount, when PerAmount) in any Window.
type NetworkLimit struct {
	Window    time.Duration `json:"window"`
	Max       int           `json:"max"`
	PerAmount bool          `json:"per_amount,omitempty"`
}

// Name is the limit's name in the counters' keys and in the answers that
// cite it, e.g. "visa_720h_amount".
func (l NetworkLimit) Name(brand string) string {
	w := l.Window.String() // 720h0m0s, 1h30m0s, 45s
	if strings.HasSuffix(w, "m0s") {
		w = strings.TrimSuffix(w, "0s")
	}
	if strings.HasSuffix(w, "h0m") {
		w = strings.TrimSuffix(w, "0m")
	}
	name := brand + "_" + w
	if l.PerAmount {
		name += "_amount"
	}
	return name
}

// NetworkRules are the card networks' limits by brand. A brand without limits
// is not counted; the never-retry codes of Visa and Mastercard apply whenever
// Enabled, whatever the limits.
type NetworkRules struct {
	Enabled bool                      `json:"enabled"`
	Limits  map[string][]NetworkLimit `json:"limits"`
}

// Visa's reattempt limit and Mastercard's excessive-attempt limits, the defaults
// (docs/card-network-rules.md has their sources).
const (
	DefaultVisaReattempts30d        = 15
	DefaultMastercardDeclines24h    = 10
	DefaultMastercardDeclines30d    = 35
	networkRulesThirtyDays          = 30 * 24 * time.Hour
	networkRulesOneDay              = 24 * time.Hour
	mastercardAdviceDoNotTryAgain   = "03"
	mastercardAdvicePaymentCanceled = "21"
)

// DefaultNetworkRules: Visa at most 15 reattempts in 30 days for one card and
// amount; Mastercard at most 10 in 24 hours and 35 in 30 days for one card.
func DefaultNetworkRules() NetworkRules {
	return NetworkRules{Enabled: true, Limits: map[string][]NetworkLimit{
		Visa: {{Window: networkRulesThirtyDays, Max: DefaultVisaReattempts30d, PerAmount: true}},
		Mastercard: {
			{Window: networkRulesOneDay, Max: DefaultMastercardDeclines24h},
			{Window: networkRulesThirtyDays, Max: DefaultMastercardDeclines30d},
		},
	}}
}

// LimitsFor lists the limits that count attempts on a card of brand.
func (r NetworkRules) LimitsFor(brand string) []NetworkLimit {
	if !r.Enabled {
		return nil
	}
	return r.Limits[NormalizeBrand(brand)]
}

// NormalizeBrand lower-cases a brand and maps the spellings billing platforms use.
func NormalizeBrand(brand string) string {
	b := strings.ToLower(strings.TrimSpace(brand))
	switch b {
	case "master", "master_card", "mc":
		return Mastercard
	case "american_express", "americanexpress":
		return "amex"
	}
	return b
}

// NetworkDecline is what the processor said about a declined attempt, with
// the card's brand: enough to apply the networks' never-retry rules.
type NetworkDecline struct {
	Brand              string
	Code               string // Stripe's error code, e.g. card_declined
	DeclineCode        string // Stripe's decline_code, e.g. stolen_card
	NetworkDeclineCode string // the issuer's raw response code, e.g. 43 (Visa) or 05
	NetworkAdviceCode  string // Mastercard's Merchant Advice Code, e.g. 03
}

// Never-retry rules, named in results, logs and the counters collection.
const (
	RuleVisaCategory1   = "visa_category_1"
	RuleMastercardMAC03 = "mastercard_mac_03"
	RuleMastercardMAC21 = "mastercard_mac_21"
)

// visaCategory1DeclineCodes are Stripe decline codes whose Visa response codes
// fall in Visa's Category 1, "issuer will never approve": pick-up (04, 07),
// lost (41), stolen (43), closed or unknown account (46, 78, 14 as Stripe
// reports it), transaction not permitted (57), restricted card (62), invalid
// transaction (12), no such issuer (15), stop-payment and revocation orders
// (R0, R1, R3). The mapping is in docs/card-network-rules.md.
var visaCategory1DeclineCodes = map[string]bool{
	"pickup_card": true, "lost_card": true, "stolen_card": true, "invalid_account": true, "restricted_card": true,
	"transaction_not_allowed": true, "stop_payment_order": true, "revocation_of_authorization": true,
	"revocation_of_all_authorizations": true, "no_such_issuer": true, "invalid_transaction": true,
	"account_closed": true, "closed_account": true,
}

// visaCategory1ResponseCodes are the issuer's raw Visa response codes of
// Category 1 (Stripe's network_decline_code). Acquirers list 03, 62, 78 and
// 93 as well; they are included: a missed never-retry costs a fee on every
// reattempt, an extra one costs a retry that would have been declined.
var visaCategory1ResponseCodes = map[string]bool{
	"03": true, "04": true, "07": true, "12": true, "15": true, "41": true, "43": true, "46": true, "57": true,
	"62": true, "78": true, "93": true, "R0": true, "R1": true, "R3": true,
}

// NeverRetryRule names the network rule that forbids any further attempt on
// the card after this decline, or "" when the decline allows a retry (within
// the limits). Every other decline, known or not, counts against the limits.
func NeverRetryRule(d NetworkDecline) string {
	switch NormalizeBrand(d.Brand) {
	case Visa:
		if visaCategory1DeclineCodes[strings.ToLower(d.DeclineCode)] ||
			visaCategory1ResponseCodes[strings.ToUpper(strings.TrimSpace(d.NetworkDeclineCode))] {
			return RuleVisaCategory1
		}
	case Mastercard:
		switch adviceCode(d.NetworkAdviceCode) {
		case mastercardAdviceDoNotTryAgain:
			return RuleMastercardMAC03
		case mastercardAdvicePaymentCanceled:
			return RuleMastercardMAC21
		}
	}
	return ""
}

// adviceCode pads a Merchant Advice Code to its two digits ("3" is "03").
func adviceCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// Validate refuses limits at zero or below and brands no processor reports,
// naming the key under prefix (e.g. "network_rules.limits").
func (r NetworkRules) Validate(prefix string) error {
	brands := make([]string, 0, len(r.Limits))
	for b := range r.Limits {
		brands = append(brands, b)
	}
	slices.Sort(brands)
	for _, brand := range brands {
		if !slices.Contains(KnownCardBrands, brand) {
			return fmt.Errorf("%s.%s: unknown card brand (want one of %s)", prefix, brand, strings.Join(KnownCardBrands, ", "))
		}
		for i, l := range r.Limits[brand] {
			key := fmt.Sprintf("%s.%s[%d]", prefix, brand, i)
			if l.Max <= 0 {
				return fmt.Errorf("%s.max: must be greater than 0", key)
			}
			if l.Window <= 0 {
				return fmt.Errorf("%s.window: must be greater than 0", key)
			}
		}
	}
	return nil
}

// SlotFreeAt is the window arithmetic of a rolling limit: given the times of
// the attempts counted so far, it reports whether another fits now (fewer than
// max inside (now-window, now]) and, when not, the moment one does: when the
// oldest attempt that keeps the count at max leaves the window.
func SlotFreeAt(attempts []time.Time, window time.Duration, max int, now time.Time) (time.Time, bool) {
	live := LiveAttempts(attempts, window, now)
	if len(live) < max {
		return now, true
	}
	return live[len(live)-max].Add(window), false
}

// LiveAttempts keeps, oldest first, the attempts still inside the window
// ending at now: an attempt at t counts until t+window, exclusive.
func LiveAttempts(attempts []time.Time, window time.Duration, now time.Time) []time.Time {
	live := make([]time.Time, 0, len(attempts))
	for _, at := range attempts {
		if at.Add(window).After(now) {
			live = append(live, at)
		}
	}
	slices.SortFunc(live, func(a, b time.Time) int { return a.Compare(b) })
	return live
}

// Span is how long a recovery under p may keep retrying from its start: the
// whole schedule with every retry failing softly, at its longest waits and
// jitter (and, adaptive, each moved to the end of its window). A retry the
// card networks block until after it ends is never made.
func (p Policy) Span() time.Duration {
	if p.Algorithm == Monitoring {
		return 0
	}
	limit := p.MaxRetryCount
	if p.Algorithm == Smart {
		if limit == 0 {
			limit = SmartDefaultMaxRetries
		}
		var span time.Duration
		for n := range limit {
			span += max(smartDelay(p, n, Decline{Class: Soft}), smartDelay(p, n, Decline{Class: InsufficientFunds})) + p.MaxJitter
		}
		return span
	}
	span := p.Cascading.StartAfter
	for n := 1; ; n++ {
		d, ok := p.Cascading.Delay(n)
		if !ok || (limit > 0 && n > limit) {
			return span
		}
		span += d + p.MaxJitter
		if p.Algorithm == Adaptive {
			span += AdaptiveWindow
		}
	}
}
