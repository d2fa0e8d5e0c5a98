package recoverysim

import (
	"math/rand/v2"
	"time"

	"orderflow/recovery"
)

// Algorithm is one retry algorithm under test: orderflow's own decision code
// behind a small adapter, so that a new algorithm joins the simulation by
// implementing it.
type Algorithm interface {
	Name() string
	// Next is the wait before the next retry, after retriesDone retries of
	// this generation (started at startedAt) and the last decline, at now;
	// stop is not Continue when no retry follows (it names why: hard
	// decline, exhausted). rnd is the invoice's own random stream (for jitter).
	Next(retriesDone int, last recovery.Decline, startedAt, now time.Time, rnd *rand.Rand) (wait time.Duration, stop recovery.Stop)
	// Span is how long a recovery may keep retrying from its start: a
	// charge the card-network rules hold back past it is never made.
	Span() time.Duration
}

// Observer is an Algorithm that learns from outcomes: it is fed every
// charge's outcome, with the class of the decline the charge retried.
type Observer interface {
	Observe(at time.Time, retried recovery.DeclineClass, succeeded bool)
}

// policyAlgorithm is an algorithm of recovery.Policy: recovery.NextRetry and
// the workflow's jitter (1..MaxJitter whole seconds).
type policyAlgorithm struct{ p recovery.Policy }

// Cascading is Hyperswitch's fixed schedule with its default frequencies and jitter.
func Cascading() Algorithm {
	return policyAlgorithm{recovery.Policy{Algorithm: recovery.Cascading, Cascading: recovery.DefaultCascading, MaxJitter: 300 * time.Second}}
}

// Smart is orderflow's decline-aware schedule with its default retry cap and jitter.
func Smart() Algorithm {
	return policyAlgorithm{recovery.Policy{Algorithm: recovery.Smart, Cascading: recovery.DefaultCascading, MaxJitter: 300 * time.Second}}
}

func (a policyAlgorithm) Name() string        { return string(a.p.Algorithm) }
func (a policyAlgorithm) Span() time.Duration { return a.p.Span() }

func (a policyAlgorithm) Next(retriesDone int, last recovery.Decline, _, _ time.Time, rnd *rand.Rand) (time.Duration, recovery.Stop) {
	d, stop := recovery.NextRetry(a.p, retriesDone, last)
	if stop != recovery.Continue {
		return 0, stop
	}
	return d + jitter(a.p, rnd), recovery.Continue
}

// jitter is the workflow's: 1..MaxJitter whole seconds.
func jitter(p recovery.Policy, rnd *rand.Rand) time.Duration {
	if limit := int64(p.MaxJitter / time.Second); limit > 0 {
		return time.Duration(1+rnd.Int64N(limit)) * time.Second
	}
	return 0
}
