package recoverysim

import (
	"container/heap"
	"math/rand/v2"
	"time"

	"orderflow/dev/bench/recoverysim/netcheck"
	"orderflow/recovery"
)

// How a simulated recovery ends (the workflow's statuses).
const (
	Recovered      = "succeeded"
	HardDeclined   = "hard_declined"
	Exhausted      = "exhausted"
	NetworkLimited = "network_limited"
	scheduled      = "scheduled"
)

// cardUpdateResumeWithin is how long after a recovery ended a card update
// still resumes it (orderflow's default).
const cardUpdateResumeWithin = 30 * 24 * time.Hour

// Options are one simulation run.
type Options struct {
	Model     Model
	Algorithm Algorithm
	// Rules turns orderflow's card-network rule check on; off is the control.
	Rules bool
	// PlatformNetworkCodes: orderflow reads the network's codes of the
	// billing platform's declined attempt from the processor (its
	// PaymentIntent); otherwise it knows only the Stripe codes the billing
	// event carries.
	PlatformNetworkCodes bool
}

// Result is a run's outcome.
type Result struct {
	Algorithm string
	Rules     bool
	Invoices  int
	Recovered int
	// Charges are orderflow's charges sent to the processor; Blocked the
	// charges its rule check held back (never sent).
	Charges, Blocked int
	// Moved is how many retries the algorithm moved off its schedule's time
	// (adaptive timing's slots; 0 for the others).
	Moved int
	// Ended counts the recoveries by how they ended.
	Ended map[string]int
	// Log is every attempt the card networks saw: the billing platform's
	// first ones and orderflow's charges.
	Log []netcheck.Attempt
}

// RecoveredShare is the share of invoices recovered by orderflow's charges.
func (r Result) RecoveredShare() float64 { return float64(r.Recovered) / float64(max(r.Invoices, 1)) }

// ChargesPerRecovered is orderflow's charges per recovered invoice.
func (r Result) ChargesPerRecovered() float64 {
	return float64(r.Charges) / float64(max(r.Recovered, 1))
}

// Violations are orderflow's charges the independent counter finds against
// the rules; withPlatform counts the billing platform's attempts in the
// networks' windows too (as the networks do, and orderflow's check now does).
func (r Result) Violations(withPlatform bool) int { return len(netcheck.Check(r.Log, withPlatform)) }

type invoice struct {
	id       int
	customer *customer
	amount   int64
	billedAt time.Time
	rnd      *rand.Rand

	status     string
	retries    int // the workflow's RetryCount
	base       int // RetryBase: retries made by earlier generations
	last       recovery.Decline
	startedAt  time.Time // the generation's start
	closedAt   time.Time
	generation int
	// token invalidates a queued retry when the retry moved.
	token int
}

// sim is one run's state.
type sim struct {
	o         Options
	now       time.Time
	queue     events
	seq       int
	gate      *gate
	res       Result
	customers []*customer
}

// Run simulates every invoice's recovery to its end.
func Run(o Options) Result {
	s := &sim{o: o, gate: newGate(recovery.DefaultNetworkRules()), customers: o.Model.population()}
	s.res = Result{Algorithm: o.Algorithm.Name(), Rules: o.Rules, Ended: map[string]int{}}
	for ci, c := range s.customers {
		for _, inv := range c.invoices {
			inv.rnd = rand.New(rand.NewPCG(o.Model.Seed, uint64(inv.id)+1))
			s.push(event{at: inv.billedAt, inv: inv, billing: true})
			s.res.Invoices++
		}
		if !c.updateAt.IsZero() {
			s.push(event{at: c.updateAt, customer: c, customerIndex: ci})
		}
	}
	for s.queue.Len() > 0 {
		ev := heap.Pop(&s.queue).(event)
		s.now = ev.at
		switch {
		case ev.billing:
			s.billingFailed(ev.inv)
		case ev.customer != nil:
			s.cardUpdated(ev.customer, ev.customerIndex)
		case ev.inv.status == scheduled && ev.token == ev.inv.token:
			s.retry(ev.inv)
		}
	}
	for _, c := range s.customers {
		for _, inv := range c.invoices {
			s.res.Ended[inv.status]++
		}
	}
	s.res.Recovered = s.res.Ended[Recovered]
	if m, ok := o.Algorithm.(interface{ Moved() int }); ok {
		s.res.Moved = m.Moved()
	}
	return s.res
}

// billingFailed is the billing platform's own attempt, declined, and the
// recovery it opens (the workflow's ScheduleFailedPayment): the event
// carries Stripe's codes, not the network's.
func (s *sim) billingFailed(inv *invoice) {
	c := inv.customer.card
	d := c.declineOf()
	s.log(inv, c, netcheck.Platform, false, d)
	inv.startedAt = s.now
	inv.last = recovery.Classify(d.Code, d.DeclineCode, "")
	if s.o.Rules {
		s.gate.countPlatform(c, inv.amount, s.now, attemptKey{invoice: inv.id, generation: -1})
		if s.gate.settleDecline(c, s.platformDecline(d)) {
			inv.last.Class = recovery.Hard // the card network forbids any further attempt on this card
		}
	}
	s.schedule(inv)
}

// platformDecline is what orderflow knows of the platform's decline: the
// billing event's Stripe codes, and the network's when it reads them.
func (s *sim) platformDecline(d decline) decline {
	if s.o.PlatformNetworkCodes {
		return d
	}
	return decline{Code: d.Code, DeclineCode: d.DeclineCode}
}

// schedule is the workflow's schedule: the algorithm's next wait, or the end.
func (s *sim) schedule(inv *invoice) {
	wait, stop := s.o.Algorithm.Next(inv.retries-inv.base, inv.last, inv.startedAt, s.now, inv.rnd)
	switch stop {
	case recovery.Continue:
		s.retryAt(inv, s.now.Add(wait))
	case recovery.HardDeclined:
		s.end(inv, HardDeclined)
	default:
		s.end(inv, Exhausted)
	}
}

func (s *sim) retryAt(inv *invoice, at time.Time) {
	inv.status = scheduled
	inv.token++
	s.push(event{at: at, inv: inv, token: inv.token})
}

func (s *sim) end(inv *invoice, status string) {
	inv.status, inv.closedAt = status, s.now
}

// retry is the workflow's retry: the rule check (when on), the charge, its outcome.
func (s *sim) retry(inv *invoice) {
	c := inv.customer.card
	inv.retries++
	attempt := attemptKey{invoice: inv.id, n: inv.retries, generation: inv.generation}
	if s.o.Rules {
		if until, blocked := s.gate.admit(c, inv.amount, s.now, attempt); blocked {
			inv.retries--
			s.res.Blocked++
			s.networkBlocked(inv, until)
			return
		}
	}
	s.res.Charges++
	ok := inv.rnd.Float64() < s.o.Model.successProbability(c, s.now)
	if o, learns := s.o.Algorithm.(Observer); learns {
		o.Observe(s.now, inv.last.Class, ok)
	}
	if ok {
		s.log(inv, c, netcheck.Merchant, true, decline{})
		if s.o.Rules {
			s.gate.release(attempt)
		}
		s.end(inv, Recovered)
		return
	}
	d := c.declineOf()
	s.log(inv, c, netcheck.Merchant, false, d)
	inv.last = recovery.Classify(d.Code, d.DeclineCode, d.AdviceCode)
	if s.o.Rules && s.gate.settleDecline(c, d) {
		inv.last.Class = recovery.Hard // the card network forbids any further attempt on this card
	}
	s.schedule(inv)
}

// networkBlocked is the workflow's answer to a held-back charge: retry when
// the rules allow, unless that is never or past the recovery's window.
func (s *sim) networkBlocked(inv *invoice, until *time.Time) {
	if until == nil || until.After(inv.startedAt.Add(s.o.Algorithm.Span())) {
		s.end(inv, NetworkLimited)
		return
	}
	s.retryAt(inv, *until)
}

// cardUpdated gives the customer a new card: open recoveries retry on it at
// once, recently closed ones resume in a new generation.
func (s *sim) cardUpdated(c *customer, index int) {
	c.card = &card{key: cardKey(index, 1), brand: c.card.brand, kind: updated, soft: doNotHonor}
	for _, inv := range c.invoices {
		switch {
		case inv.status == scheduled:
			s.retryAt(inv, s.now)
		case inv.status != Recovered && s.now.Sub(inv.closedAt) < cardUpdateResumeWithin:
			inv.generation++
			inv.base, inv.startedAt = inv.retries, s.now
			inv.last = recovery.Decline{Class: recovery.Soft, Code: "restarted"}
			s.retryAt(inv, s.now)
		}
	}
}

func (s *sim) log(inv *invoice, c *card, origin string, approved bool, d decline) {
	s.res.Log = append(s.res.Log, netcheck.Attempt{At: s.now, Card: c.key, Brand: c.brand, Amount: inv.amount, Currency: currency,
		Origin: origin, Approved: approved, ResponseCode: d.NetworkDeclineCode, AdviceCode: d.NetworkAdvice})
}

func (s *sim) push(ev event) {
	s.seq++
	ev.seq = s.seq
	heap.Push(&s.queue, ev)
}

// event is a moment the simulation acts: a billing, a due retry or a card update.
type event struct {
	at            time.Time
	seq           int
	inv           *invoice
	billing       bool
	token         int
	customer      *customer
	customerIndex int
}

// events is a min-heap by time, then by insertion: runs are deterministic.
type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if !e[i].at.Equal(e[j].at) {
		return e[i].at.Before(e[j].at)
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	ev := old[len(old)-1]
	*e = old[:len(old)-1]
	return ev
}
