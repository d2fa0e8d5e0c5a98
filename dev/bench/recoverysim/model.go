// Package recoverysim is a simulation of revenue recovery in simulated time:
// a seeded population of failed invoices and a documented decline model, on
// which orderflow's own decision code — the retry algorithms of package
// recovery (recovery.NextRetry, recovery.Classify) and its card-network rule
// check (recovery.NetworkRules, recovery.SlotFreeAt, recovery.NeverRetryRule)
// — is driven as pure functions, without Temporal or MongoDB. Every attempt
// goes into a log that package netcheck, an independent reading of the
// networks' rules, checks afterwards. It is a model, not a measurement of
// real issuers: its figures move with the parameters below.
//
// # The population
//
// Customers each hold one card and one invoice, or (SharedCardShare of them)
// two or three invoices — subscriptions billed at the same moment on the same
// card; with probability SameAmountShare such an invoice has the first one's
// amount. Invoices are billed at uniformly random times over 30 days from
// Start; the billing platform's own attempt at that moment declines (every
// invoice in the population is one whose payment failed) and opens the
// recovery. A card is a Mastercard with probability MastercardShare, else a
// Visa.
//
// # The decline model
//
// A card is, for the whole simulation:
//
//   - dead (DeadCardShare): lost, stolen, closed or its payments stopped.
//     Every attempt declines hard, with a reason drawn once per card: on Visa
//     a Category 1 response code (41 lost_card, 43 stolen_card, 04
//     pickup_card, 46 invalid_account, 14 incorrect_number; and, as some
//     acquirers report them, 57 and R1 behind Stripe's generic do_not_honor
//     and generic_decline); on Mastercard Merchant Advice Code 03 (behind
//     do_not_honor or stolen_card) or 21 (the cardholder cancelled the
//     payment, behind generic_decline). Only stolen_card, lost_card,
//     pickup_card and incorrect_number also carry Stripe's advice code
//     do_not_try_again.
//   - expired (ExpiredCardShare): every attempt declines expired_card (Visa
//     54, a Category 3 decline; Mastercard 54 with advice code 01, "update
//     the card details"): the networks allow a retry, nothing but a new card
//     will succeed.
//   - live: each attempt succeeds with probability
//     min(0.95, SoftSuccess × hour(h) × day(d)) at the hour of day h and the
//     day of month d of the attempt, and otherwise declines softly. A live
//     card is short of funds with probability InsufficientFundsShare
//     (insufficient_funds, response 51); the others decline do_not_honor (05)
//     or, one in four, try_again_later (91, transient).
//
// hour(h) is 0.4 from 00:00 to 05:59, 1.3 from 06:00 to 11:59, 1.1 from 12:00
// to 17:59 and 0.8 from 18:00 (the issuer's risk systems and the
// cardholder's balance move through the day). day(d) is the payday effect
// and applies to cards short of funds only: 2.5 on days 1–3 and 15–16, 1.5
// on days 28–31, 0.7 on the others; other soft declines have day(d) = 1.
// Times are read in UTC.
//
// # Card updates
//
// A customer replaces their card with probability CardUpdateRate, at a
// uniformly random time within 30 days of the billing. The new card is a
// new card number (the networks' counters start afresh), live, and succeeds
// with probability min(0.95, UpdatedCardSuccess × hour(h)). orderflow's
// handling is modelled on the RevenueRecovery workflow: an open recovery
// waiting on its timer retries on the new card at once; one that ended
// hard_declined, exhausted or network_limited less than 30 days before
// resumes in a new generation with a fresh schedule; a recovered one is left.
// The customer's other stored cards (payment-method switching) are not
// modelled.
package recoverysim

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Model is the population and decline model's parameters.
type Model struct {
	Seed     uint64
	Invoices int
	// Start is the first moment invoices are billed; billings spread over 30 days from it.
	Start                  time.Time
	MastercardShare        float64
	SharedCardShare        float64
	SameAmountShare        float64
	DeadCardShare          float64
	ExpiredCardShare       float64
	InsufficientFundsShare float64
	SoftSuccess            float64
	UpdatedCardSuccess     float64
	CardUpdateRate         float64
}

// DefaultModel is the row's central point.
func DefaultModel() Model {
	return Model{
		Seed: 20261206, Invoices: 4000, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		MastercardShare: 0.4, SharedCardShare: 0.25, SameAmountShare: 0.5,
		DeadCardShare: 0.12, ExpiredCardShare: 0.08, InsufficientFundsShare: 0.5,
		SoftSuccess: 0.10, UpdatedCardSuccess: 0.8, CardUpdateRate: 0.15,
	}
}

// cardKind is a card's fate for the whole simulation.
type cardKind int

const (
	live cardKind = iota
	shortOfFunds
	expired
	dead
	updated // the customer's new card
)

// decline is a processor's answer to a declined attempt.
type decline struct {
	Code, DeclineCode, AdviceCode     string // Stripe's code, decline_code and advice_code
	NetworkDeclineCode, NetworkAdvice string // the issuer's response code, Mastercard's Merchant Advice Code
}

type card struct {
	key   string
	brand string
	kind  cardKind
	// hard is the decline of a dead or expired card; soft a live card's usual one.
	hard, soft decline
}

type customer struct {
	card     *card
	invoices []*invoice
	// updateAt is when the customer replaces their card (zero: never).
	updateAt time.Time
}

// Declines a card can answer with, per brand.
var (
	visaDead = []decline{
		{Code: "card_declined", DeclineCode: "lost_card", AdviceCode: "do_not_try_again", NetworkDeclineCode: "41"},
		{Code: "card_declined", DeclineCode: "stolen_card", AdviceCode: "do_not_try_again", NetworkDeclineCode: "43"},
		{Code: "card_declined", DeclineCode: "pickup_card", AdviceCode: "do_not_try_again", NetworkDeclineCode: "04"},
		{Code: "card_declined", DeclineCode: "invalid_account", NetworkDeclineCode: "46"},
		{Code: "incorrect_number", DeclineCode: "incorrect_number", AdviceCode: "do_not_try_again", NetworkDeclineCode: "14"},
		{Code: "card_declined", DeclineCode: "do_not_honor", NetworkDeclineCode: "57"},
		{Code: "card_declined", DeclineCode: "generic_decline", NetworkDeclineCode: "R1"},
	}
	mastercardDead = []decline{
		{Code: "card_declined", DeclineCode: "do_not_honor", NetworkDeclineCode: "05", NetworkAdvice: "03"},
		{Code: "card_declined", DeclineCode: "stolen_card", AdviceCode: "do_not_try_again", NetworkDeclineCode: "43", NetworkAdvice: "03"},
		{Code: "card_declined", DeclineCode: "generic_decline", NetworkDeclineCode: "05", NetworkAdvice: "21"},
	}
	expiredDecline = map[string]decline{
		visa:       {Code: "expired_card", DeclineCode: "expired_card", NetworkDeclineCode: "54"},
		mastercard: {Code: "expired_card", DeclineCode: "expired_card", NetworkDeclineCode: "54", NetworkAdvice: "01"},
	}
	insufficientFunds = decline{Code: "card_declined", DeclineCode: "insufficient_funds", NetworkDeclineCode: "51"}
	doNotHonor        = decline{Code: "card_declined", DeclineCode: "do_not_honor", NetworkDeclineCode: "05"}
	tryAgainLater     = decline{Code: "card_declined", DeclineCode: "try_again_later", NetworkDeclineCode: "91"}
)

const (
	visa       = "visa"
	mastercard = "mastercard"
	currency   = "USD"
	month      = 30 * 24 * time.Hour
)

// population draws the customers, their cards and invoices from the seed.
func (m Model) population() []*customer {
	rnd := rand.New(rand.NewPCG(m.Seed, 0x9e3779b97f4a7c15))
	var out []*customer
	for n := 0; n < m.Invoices; {
		c := &customer{card: m.drawCard(rnd, len(out))}
		billedAt := m.Start.Add(time.Duration(rnd.Int64N(int64(month))))
		count := 1
		if rnd.Float64() < m.SharedCardShare {
			count = 2 + rnd.IntN(2)
		}
		amount := 900 + 100*rnd.Int64N(90) // $9 to $98
		for i := 0; i < count && n < m.Invoices; i++ {
			if i > 0 && rnd.Float64() >= m.SameAmountShare {
				amount = 900 + 100*rnd.Int64N(90)
			}
			c.invoices = append(c.invoices, &invoice{id: n, customer: c, amount: amount, billedAt: billedAt})
			n++
		}
		if rnd.Float64() < m.CardUpdateRate {
			c.updateAt = billedAt.Add(time.Duration(rnd.Int64N(int64(month))))
		}
		out = append(out, c)
	}
	return out
}

func (m Model) drawCard(rnd *rand.Rand, n int) *card {
	c := &card{key: cardKey(n, 0), brand: visa}
	if rnd.Float64() < m.MastercardShare {
		c.brand = mastercard
	}
	switch u := rnd.Float64(); {
	case u < m.DeadCardShare:
		c.kind = dead
		if c.brand == visa {
			c.hard = visaDead[rnd.IntN(len(visaDead))]
		} else {
			c.hard = mastercardDead[rnd.IntN(len(mastercardDead))]
		}
	case u < m.DeadCardShare+m.ExpiredCardShare:
		c.kind, c.hard = expired, expiredDecline[c.brand]
	case rnd.Float64() < m.InsufficientFundsShare:
		c.kind, c.soft = shortOfFunds, insufficientFunds
	default:
		c.kind, c.soft = live, doNotHonor
		if rnd.IntN(4) == 0 {
			c.soft = tryAgainLater
		}
	}
	return c
}

// successProbability is a card's chance that an attempt at t succeeds.
func (m Model) successProbability(c *card, t time.Time) float64 {
	switch c.kind {
	case dead, expired:
		return 0
	case updated:
		return min(0.95, m.UpdatedCardSuccess*hourFactor(t.Hour()))
	case shortOfFunds:
		return min(0.95, m.SoftSuccess*hourFactor(t.Hour())*paydayFactor(t.Day()))
	}
	return min(0.95, m.SoftSuccess*hourFactor(t.Hour()))
}

func hourFactor(h int) float64 {
	switch {
	case h < 6:
		return 0.4
	case h < 12:
		return 1.3
	case h < 18:
		return 1.1
	}
	return 0.8
}

func paydayFactor(d int) float64 {
	switch {
	case d <= 3 || d == 15 || d == 16:
		return 2.5
	case d >= 28:
		return 1.5
	}
	return 0.7
}

// declineOf is the card's answer when an attempt does not succeed.
func (c *card) declineOf() decline {
	if c.kind == dead || c.kind == expired {
		return c.hard
	}
	return c.soft
}

func cardKey(customer, generation int) string {
	return "card-" + strconv.Itoa(customer) + "-" + strconv.Itoa(generation)
}
