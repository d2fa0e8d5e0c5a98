package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"

	"orderflow/recovery"
	"orderflow/recovery/connector"
	"orderflow/store"
)

// PaymentBlocked is a charge the card networks' rules did not let through:
// nothing was sent to the processor (PaymentResult.BlockedUntil says when it may be).
const PaymentBlocked = "blocked"

// CardCounters is what the card-network rules need of MongoDB; *store.Store implements it.
type CardCounters interface {
	ReserveCardSlot(ctx context.Context, w store.CardWindow, slot store.CardSlot) (store.CardReservation, error)
	ReleaseCardSlot(ctx context.Context, w store.CardWindow, key string) error
	CountCardAttempt(ctx context.Context, w store.CardWindow, slot store.CardSlot) error
	StopCard(ctx context.Context, st store.CardStop) error
	CardStopped(ctx context.Context, merchantID, card string) (*store.CardStop, error)
	TakeCardLease(ctx context.Context, l store.CardLease) (store.CardLeaseAnswer, error)
	ReleaseCardLease(ctx context.Context, merchantID, card, key string) error
}

// CardLeaseTTL bounds how long one charge holds its card when its answer is
// never settled (the worker died mid-charge). It is longer than the charge
// activity's StartToCloseTimeout (a minute, workflows' recoveryPayment): the
// attempt's context ends there, so no request of a dead attempt can reach the
// processor after its lease has expired; the other minute covers clock skew
// between workers.
const CardLeaseTTL = 2 * time.Minute

// CardBusyRetry is how soon a charge held back by another charge in flight on
// its card asks again: the other one's answer usually takes a second or two.
const CardBusyRetry = 10 * time.Second

// RuleCardBusy is the blocked answer's rule when another invoice's charge on
// the same card is in flight: not a network rule, a short wait until that
// charge's answer is known (it may stop the card).
const RuleCardBusy = "card_busy"

// networkGate is the card networks' say on one charge: the card it is made
// on and the windows in which a slot was reserved for it.
type networkGate struct {
	merchantID string
	card       connector.Card
	reserved   []store.CardWindow
	// leased: the charge holds the card (one charge in flight per card).
	leased bool
	// blocked is the answer when the rules refuse the charge.
	blocked *PaymentResult
}

// networkRulesApply reports whether a charge is checked against the rules:
// the workflow asks for it (recoveries started before the rules existed do
// not) and the worker counts them.
func (r *Recovery) networkRulesApply(in ChargeInput) bool {
	return in.NetworkRules && r.Cards != nil && r.NetworkRules.Enabled && in.PaymentMethodToken != ""
}

// admitCharge checks the rules before a charge: the card's brand and
// fingerprint from the processor, a lease on the card (no other charge of the
// merchant in flight on it), a never-retry stop recorded on the card (by any
// invoice of the merchant), then one slot per rolling window of the brand,
// all under the attempt's idempotency key. A nil gate means no rule applies.
func (r *Recovery) admitCharge(ctx context.Context, acct connector.StripeAccount, in ChargeInput) (*networkGate, error) {
	if !r.networkRulesApply(in) {
		return nil, nil
	}
	card, err := r.Connectors.PaymentMethod(ctx, acct, in.PaymentMethodToken)
	if err != nil {
		if connector.IsRetryable(err) {
			return nil, err
		}
		// The processor refuses to show the method: the charge will tell; it is not counted.
		activity.GetLogger(ctx).Warn("card-network rules skipped: payment method unreadable", "invoice_id", in.InvoiceID, "error", err)
		return nil, nil
	}
	g := &networkGate{merchantID: in.MerchantID, card: card}
	if g.merchantID == "" {
		g.merchantID = in.ProfileID
	}
	if err := r.leaseCard(ctx, g, in); err != nil || g.blocked != nil {
		return g, err
	}
	// Read after the lease: a charge that stopped the card recorded the stop before it let the card go.
	stop, err := r.Cards.CardStopped(ctx, g.merchantID, card.Key())
	if err != nil {
		return nil, err
	}
	if stop != nil && stop.Key != in.IdempotencyKey { // the stop's own attempt is a replay at the processor
		g.blocked = &PaymentResult{Status: PaymentBlocked, NetworkRule: stop.Rule, CardBrand: card.Brand}
		return g, r.releaseLease(ctx, g, in.IdempotencyKey)
	}
	if err := r.reserveSlots(ctx, g, in); err != nil || g.blocked != nil {
		return g, errors.Join(err, r.releaseLease(ctx, g, in.IdempotencyKey))
	}
	return g, nil
}

// leaseCard makes the charge the only one in flight on its card: a
// never-retry code is learnt only from a charge's answer, so a second charge
// sent before the first is answered could be a forbidden reattempt. A retried
// activity finds its own lease; another attempt's blocks the charge for
// CardBusyRetry (or until that lease expires, if sooner).
func (r *Recovery) leaseCard(ctx context.Context, g *networkGate, in ChargeInput) error {
	now := r.now().UTC()
	res, err := r.Cards.TakeCardLease(ctx, store.CardLease{MerchantID: g.merchantID, Card: g.card.Key(), Key: in.IdempotencyKey,
		InvoiceID: in.InvoiceID, At: now, ExpiresAt: now.Add(CardLeaseTTL)})
	if err != nil {
		return err
	}
	if !res.Taken {
		until := now.Add(CardBusyRetry)
		if res.HeldUntil.Before(until) {
			until = res.HeldUntil
		}
		g.blocked = &PaymentResult{Status: PaymentBlocked, NetworkRule: RuleCardBusy, BlockedUntil: &until, CardBrand: g.card.Brand}
		return nil
	}
	g.leased = true
	return nil
}

func (r *Recovery) releaseLease(ctx context.Context, g *networkGate, key string) error {
	if !g.leased {
		return nil
	}
	g.leased = false
	return r.Cards.ReleaseCardLease(ctx, g.merchantID, g.card.Key(), key)
}

func (r *Recovery) reserveSlots(ctx context.Context, g *networkGate, in ChargeInput) error {
	now := r.now().UTC()
	for _, limit := range r.NetworkRules.LimitsFor(g.card.Brand) {
		w := store.CardWindow{MerchantID: g.merchantID, Card: g.card.Key(), Brand: recovery.NormalizeBrand(g.card.Brand),
			Limit: limit, Amount: in.Amount, Currency: in.Currency}
		res, err := r.Cards.ReserveCardSlot(ctx, w, store.CardSlot{Key: in.IdempotencyKey, InvoiceID: in.InvoiceID, At: now})
		if err != nil {
			return errors.Join(err, r.releaseSlots(ctx, g, in.IdempotencyKey))
		}
		if !res.Reserved {
			until := res.FreeAt
			g.blocked = &PaymentResult{Status: PaymentBlocked, NetworkRule: limit.Name(w.Brand), BlockedUntil: &until, CardBrand: g.card.Brand}
			return r.releaseSlots(ctx, g, in.IdempotencyKey)
		}
		g.reserved = append(g.reserved, w)
	}
	return nil
}

func (r *Recovery) releaseSlots(ctx context.Context, g *networkGate, key string) error {
	var errs []error
	for _, w := range g.reserved {
		errs = append(errs, r.Cards.ReleaseCardSlot(ctx, w, key))
	}
	g.reserved = nil
	return errors.Join(errs...)
}

// settleCharge applies the charge's answer to the rules: a success is no
// decline and gives its slots back; a decline the networks say never to
// retry stops the card for every invoice of the merchant. Every other
// decline, whatever its code, keeps its slots. Then the card is let go for
// the next charge (only once the stop is recorded: on an error the retried
// activity settles again under the same lease). It returns the never-retry
// rule, if any.
func (r *Recovery) settleCharge(ctx context.Context, g *networkGate, in ChargeInput, res connector.PaymentResult) (string, error) {
	if g == nil {
		return "", nil
	}
	rule, err := r.applyAnswer(ctx, g, in, res)
	if err != nil {
		return "", err
	}
	return rule, r.releaseLease(ctx, g, in.IdempotencyKey)
}

func (r *Recovery) applyAnswer(ctx context.Context, g *networkGate, in ChargeInput, res connector.PaymentResult) (string, error) {
	switch res.Status {
	case connector.StatusSucceeded:
		return "", r.releaseSlots(ctx, g, in.IdempotencyKey)
	case connector.StatusFailed:
		rule := recovery.NeverRetryRule(recovery.NetworkDecline{Brand: g.card.Brand, Code: res.ErrorCode, DeclineCode: res.DeclineCode,
			NetworkDeclineCode: res.NetworkDeclineCode, NetworkAdviceCode: res.NetworkAdviceCode})
		if rule == "" {
			return "", nil
		}
		return rule, r.Cards.StopCard(ctx, store.CardStop{MerchantID: g.merchantID, Card: g.card.Key(), Rule: rule,
			DeclineCode: firstNonEmpty(res.NetworkAdviceCode, res.NetworkDeclineCode, res.DeclineCode), InvoiceID: in.InvoiceID,
			Key: in.IdempotencyKey, At: r.now().UTC()})
	}
	return "", nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// blockedResult is a blocked charge's answer as the workflow reads it.
func (g *networkGate) blockedResult() (PaymentResult, bool) {
	if g == nil || g.blocked == nil {
		return PaymentResult{}, false
	}
	return *g.blocked, true
}

// annotate adds what the rules saw to the charge's result.
func (g *networkGate) annotate(res *PaymentResult, rule string) {
	if g == nil {
		return
	}
	res.CardBrand, res.NetworkRule = g.card.Brand, rule
}

// cardBlockedLog is the log line of a blocked charge; the card's fingerprint stays out of it.
func cardBlockedLog(ctx context.Context, in ChargeInput, res PaymentResult) {
	until := "never"
	if res.BlockedUntil != nil {
		until = res.BlockedUntil.Format(time.RFC3339)
	}
	activity.GetLogger(ctx).Info("charge blocked by a card-network rule", "invoice_id", in.InvoiceID, "attempt", in.Attempt,
		"rule", res.NetworkRule, "until", until)
}

// PlatformDeclineInput is a failed payment the billing platform reported on
// an invoice: its own attempt on the customer's card, which the card
// networks count like any attempt of the merchant's.
type PlatformDeclineInput struct {
	ProfileID          string `json:"profile_id"`
	MerchantID         string `json:"merchant_id"`
	InvoiceID          string `json:"invoice_id"`
	PaymentConnectorID string `json:"payment_connector_id"`
	// EventID is the billing event's id: the attempt's key in the windows, so
	// a redelivered event counts once.
	EventID            string    `json:"event_id"`
	TransactionID      string    `json:"transaction_id,omitempty"`
	PaymentMethodToken string    `json:"payment_method_token"`
	Amount             int64     `json:"amount"`
	Currency           string    `json:"currency"`
	ErrorCode          string    `json:"error_code,omitempty"`
	DeclineCode        string    `json:"decline_code,omitempty"`
	At                 time.Time `json:"at"`
}

// PlatformDeclineResult says whether the platform's decline was counted, and
// the never-retry rule it falls under (its card is then stopped).
type PlatformDeclineResult struct {
	Counted     bool   `json:"counted"`
	CardBrand   string `json:"card_brand,omitempty"`
	NetworkRule string `json:"network_rule,omitempty"`
	// Skipped says why it was not counted (rules off, no card known).
	Skipped string `json:"skipped,omitempty"`
}

// platformAttemptKey is a platform attempt's key in the card's windows.
func platformAttemptKey(eventID string) string { return "platform:" + eventID }

// CountPlatformDecline counts the billing platform's declined attempt in the
// card's rolling windows (the card found as the charge finds it: brand and
// fingerprint from the processor), whatever the windows hold — it was made —
// and stops the card when its decline is one the networks say never to
// retry. The decline's network codes are read from the processor when the
// event names its PaymentIntent (pi_…) or charge (ch_…); otherwise only the
// event's Stripe codes are known. An unknown card is skipped, not an error.
func (r *Recovery) CountPlatformDecline(ctx context.Context, in PlatformDeclineInput) (PlatformDeclineResult, error) {
	if r.Cards == nil || !r.NetworkRules.Enabled {
		return PlatformDeclineResult{Skipped: "card-network rules off"}, nil
	}
	if in.PaymentMethodToken == "" || in.EventID == "" {
		return PlatformDeclineResult{Skipped: "no payment method or event id"}, nil
	}
	acct, err := r.stripeAccount(ctx, in.PaymentConnectorID)
	if err != nil {
		return PlatformDeclineResult{}, err
	}
	card, err := r.Connectors.PaymentMethod(ctx, acct, in.PaymentMethodToken)
	if err != nil {
		if connector.IsRetryable(err) {
			return PlatformDeclineResult{}, err
		}
		activity.GetLogger(ctx).Warn("platform decline not counted: payment method unreadable", "invoice_id", in.InvoiceID, "error", err)
		return PlatformDeclineResult{Skipped: "payment method unreadable"}, nil
	}
	merchantID := in.MerchantID
	if merchantID == "" {
		merchantID = in.ProfileID
	}
	at := in.At
	if at.IsZero() {
		at = r.now()
	}
	key := platformAttemptKey(in.EventID)
	for _, limit := range r.NetworkRules.LimitsFor(card.Brand) {
		w := store.CardWindow{MerchantID: merchantID, Card: card.Key(), Brand: recovery.NormalizeBrand(card.Brand),
			Limit: limit, Amount: in.Amount, Currency: in.Currency}
		if err := r.Cards.CountCardAttempt(ctx, w, store.CardSlot{Key: key, InvoiceID: in.InvoiceID, At: at.UTC()}); err != nil {
			return PlatformDeclineResult{}, err
		}
	}
	decline := r.platformDeclineCodes(ctx, acct, in)
	decline.Brand = card.Brand
	out := PlatformDeclineResult{Counted: true, CardBrand: card.Brand, NetworkRule: recovery.NeverRetryRule(decline)}
	if out.NetworkRule == "" {
		return out, nil
	}
	return out, r.Cards.StopCard(ctx, store.CardStop{MerchantID: merchantID, Card: card.Key(), Rule: out.NetworkRule,
		DeclineCode: firstNonEmpty(decline.NetworkAdviceCode, decline.NetworkDeclineCode, decline.DeclineCode), InvoiceID: in.InvoiceID,
		Key: key, At: r.now().UTC()})
}

// platformDeclineCodes are the platform decline's codes: the event's Stripe
// codes, and the network's response and advice codes when the processor's
// attempt it names (a PaymentIntent or a charge) can be read — best effort:
// without them the Stripe codes decide, as for a charge whose processor
// reports none.
func (r *Recovery) platformDeclineCodes(ctx context.Context, acct connector.StripeAccount, in PlatformDeclineInput) recovery.NetworkDecline {
	d := recovery.NetworkDecline{Code: in.ErrorCode, DeclineCode: in.DeclineCode}
	at, ok, err := r.Connectors.DeclineOf(ctx, acct, in.TransactionID)
	if err != nil {
		activity.GetLogger(ctx).Info("platform decline's network codes unreadable", "invoice_id", in.InvoiceID, "error", err)
	}
	if !ok || err != nil || at.Status != connector.StatusFailed {
		return d
	}
	d.NetworkDeclineCode, d.NetworkAdviceCode = at.NetworkDeclineCode, at.NetworkAdviceCode
	if d.DeclineCode == "" {
		d.Code, d.DeclineCode = at.ErrorCode, at.DeclineCode
	}
	return d
}
