// Package netcheck counts the card networks' retry-rule violations in a log
// of payment attempts at one merchant. It is a second, independent reading
// of Visa's and Mastercard's rules as acquirers publish them
// (docs/card-network-rules.md lists the sources), written without orderflow's
// rule code — it imports nothing of orderflow — so that the revenue-recovery
// simulation can check orderflow's decisions against it.
//
// The rules as this package reads them, per card at the merchant:
//
//   - Visa, Category 1 ("issuer will never approve": response codes 04, 07,
//     12, 14, 15, 41, 43, 46, 57, R0, R1, R3): no attempt on the card after one.
//   - Visa, Categories 2–4: at most 15 reattempts on one card and amount in
//     any 30 days. A reattempt is an attempt made after a decline of the same
//     card and amount; an approval ends the chain (its payment is settled).
//   - Mastercard, Merchant Advice Code 03 (do not try again) or 21 (payment
//     cancelled): no attempt on the card after one.
//   - Mastercard, excessive attempts: no attempt once the card has had 10
//     declines in the last 24 hours, or 35 in the last 30 days.
//
// Windows are rolling: an attempt at t counts while it is younger than the window.
package netcheck

import (
	"sort"
	"time"
)

// Who made an attempt.
const (
	Merchant = "merchant" // the merchant's own retries (orderflow's charges)
	Platform = "platform" // the billing platform's own dunning attempts
)

// Brands as the networks are named here.
const (
	Visa       = "visa"
	Mastercard = "mastercard"
)

// The rules a violation names.
const (
	VisaCategory1          = "visa: attempt after a Category 1 decline"
	VisaReattempts         = "visa: more than 15 reattempts in 30 days (card and amount)"
	MastercardNeverRetry   = "mastercard: attempt after Merchant Advice Code 03 or 21"
	MastercardDeclines24h  = "mastercard: attempt after 10 declines in 24 hours"
	MastercardDeclines30d  = "mastercard: attempt after 35 declines in 30 days"
	visaMaxReattempts      = 15
	mastercardMaxDecl24h   = 10
	mastercardMaxDecl30d   = 35
	thirtyDays             = 30 * 24 * time.Hour
	oneDay                 = 24 * time.Hour
	adviceDoNotTryAgain    = "03"
	advicePaymentCancelled = "21"
)

// visaCategory1 are Visa's Category 1 response codes.
var visaCategory1 = map[string]bool{
	"04": true, "07": true, "12": true, "14": true, "15": true, "41": true, "43": true, "46": true, "57": true,
	"R0": true, "R1": true, "R3": true,
}

// Attempt is one authorization as the network sees it.
type Attempt struct {
	At       time.Time
	Card     string // the card number (a fingerprint): one card whichever invoice or customer uses it
	Brand    string // Visa or Mastercard; other brands are not checked
	Amount   int64
	Currency string
	Origin   string // Merchant or Platform
	Approved bool
	// ResponseCode is the issuer's raw response code (Visa's category is read from it).
	ResponseCode string
	// AdviceCode is Mastercard's Merchant Advice Code.
	AdviceCode string
}

// Violation is an attempt the rules forbade.
type Violation struct {
	Index int // in the log as given
	Rule  string
	Attempt
}

// Check replays the log in time order and returns the merchant's attempts
// that broke a rule. withPlatform says whether the billing platform's
// attempts count towards the rules (the network sees them; the merchant's
// own retry logic may not); they are never reported as violations themselves.
func Check(log []Attempt, withPlatform bool) []Violation {
	order := make([]int, 0, len(log))
	for i, a := range log {
		if withPlatform || a.Origin != Platform {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(x, y int) bool { return log[order[x]].At.Before(log[order[y]].At) })
	var (
		out  []Violation
		seen = map[string][]Attempt{} // by card, in time order
	)
	for _, i := range order {
		a := log[i]
		if a.Origin == Merchant {
			if rule := broken(seen[a.Card], a); rule != "" {
				out = append(out, Violation{Index: i, Rule: rule, Attempt: a})
			}
		}
		seen[a.Card] = append(seen[a.Card], a)
	}
	return out
}

// broken names the rule an attempt breaks given the card's earlier attempts, or "".
func broken(earlier []Attempt, a Attempt) string {
	switch a.Brand {
	case Visa:
		for _, e := range earlier {
			if !e.Approved && visaCategory1[e.ResponseCode] {
				return VisaCategory1
			}
		}
		if visaReattempts(earlier, a) > visaMaxReattempts {
			return VisaReattempts
		}
	case Mastercard:
		for _, e := range earlier {
			if !e.Approved && (e.AdviceCode == adviceDoNotTryAgain || e.AdviceCode == advicePaymentCancelled) {
				return MastercardNeverRetry
			}
		}
		if declinesWithin(earlier, a.At, oneDay) >= mastercardMaxDecl24h {
			return MastercardDeclines24h
		}
		if declinesWithin(earlier, a.At, thirtyDays) >= mastercardMaxDecl30d {
			return MastercardDeclines30d
		}
	}
	return ""
}

// visaReattempts counts the reattempts on a's card and amount in the 30 days
// ending with a, a included when it is one. Declines older than the window
// start no chain.
func visaReattempts(earlier []Attempt, a Attempt) int {
	chain, n := false, 0
	for _, e := range earlier {
		if e.Amount != a.Amount || e.Currency != a.Currency || a.At.Sub(e.At) >= thirtyDays {
			continue
		}
		if e.Approved {
			chain, n = false, 0
			continue
		}
		if chain {
			n++
		}
		chain = true
	}
	if chain {
		n++
	}
	return n
}

// declinesWithin counts the declines younger than window at t.
func declinesWithin(earlier []Attempt, t time.Time, window time.Duration) int {
	n := 0
	for _, e := range earlier {
		if !e.Approved && t.Sub(e.At) < window {
			n++
		}
	}
	return n
}
