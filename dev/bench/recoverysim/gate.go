package recoverysim

import (
	"strconv"
	"time"

	"orderflow/recovery"
)

// gate is orderflow's card-network rule check as the ChargeInvoice activity
// applies it, with the counters in memory instead of MongoDB: a stop on the
// card blocks for good; otherwise one slot per rolling window of the brand
// (recovery.NetworkRules.LimitsFor, recovery.SlotFreeAt) is reserved before
// the charge, given back on success; a never-retry decline
// (recovery.NeverRetryRule) stops the card. The billing platform's declined
// attempts count in the same windows and may stop the card too, as the
// CountPlatformDecline activity counts them.
type gate struct {
	rules recovery.NetworkRules
	stops map[string]string // card → rule
	slots map[string][]slot // window → reserved slots
	held  map[attemptKey][]string
}

type attemptKey struct{ invoice, generation, n int }

type slot struct {
	at      time.Time
	attempt attemptKey
}

func newGate(rules recovery.NetworkRules) *gate {
	return &gate{rules: rules, stops: map[string]string{}, slots: map[string][]slot{}, held: map[attemptKey][]string{}}
}

// admit reserves the charge's slots, or reports it blocked until a time (nil: never).
func (g *gate) admit(c *card, amount int64, now time.Time, attempt attemptKey) (*time.Time, bool) {
	if _, stopped := g.stops[c.key]; stopped {
		return nil, true
	}
	for _, limit := range g.rules.LimitsFor(c.brand) {
		window := c.key + "|" + limit.Name(c.brand)
		if limit.PerAmount {
			window += "|" + strconv.FormatInt(amount, 10) + currency
		}
		g.prune(window, limit.Window, now)
		if freeAt, ok := recovery.SlotFreeAt(g.times(window), limit.Window, limit.Max, now); !ok {
			g.release(attempt)
			return &freeAt, true
		}
		g.slots[window] = append(g.slots[window], slot{at: now, attempt: attempt})
		g.held[attempt] = append(g.held[attempt], window)
	}
	return nil, false
}

// countPlatform counts the billing platform's declined attempt in the card's
// windows whatever they hold (CountPlatformDecline: it was made). Its slots
// are never given back.
func (g *gate) countPlatform(c *card, amount int64, now time.Time, attempt attemptKey) {
	for _, limit := range g.rules.LimitsFor(c.brand) {
		window := c.key + "|" + limit.Name(c.brand)
		if limit.PerAmount {
			window += "|" + strconv.FormatInt(amount, 10) + currency
		}
		g.prune(window, limit.Window, now)
		g.slots[window] = append(g.slots[window], slot{at: now, attempt: attempt})
	}
}

// release gives the attempt's slots back.
func (g *gate) release(attempt attemptKey) {
	for _, window := range g.held[attempt] {
		kept := g.slots[window][:0]
		for _, s := range g.slots[window] {
			if s.attempt != attempt {
				kept = append(kept, s)
			}
		}
		g.slots[window] = kept
	}
	delete(g.held, attempt)
}

// settleDecline stops the card after a never-retry decline and reports whether it did.
func (g *gate) settleDecline(c *card, d decline) bool {
	rule := recovery.NeverRetryRule(recovery.NetworkDecline{Brand: c.brand, Code: d.Code, DeclineCode: d.DeclineCode,
		NetworkDeclineCode: d.NetworkDeclineCode, NetworkAdviceCode: d.NetworkAdvice})
	if rule == "" {
		return false
	}
	g.stops[c.key] = rule
	return true
}

// prune drops the slots that left the window (the store deletes expired ones alike).
func (g *gate) prune(window string, length time.Duration, now time.Time) {
	kept := g.slots[window][:0]
	for _, s := range g.slots[window] {
		if s.at.Add(length).After(now) {
			kept = append(kept, s)
		}
	}
	g.slots[window] = kept
}

func (g *gate) times(window string) []time.Time {
	out := make([]time.Time, len(g.slots[window]))
	for i, s := range g.slots[window] {
		out[i] = s.at
	}
	return out
}
