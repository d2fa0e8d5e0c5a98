package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/recovery"
)

// changeCardNetworkRules is the workflow.GetVersion change ID of checking the
// card networks' retry rules before each charge. Recoveries that started
// before it charge as they did; from version 1 the charge activity counts the
// rules and may answer "blocked until T".
const changeCardNetworkRules = "card-network-rules"

// changePlatformDeclines is the workflow.GetVersion change ID of counting the
// billing platform's own declined attempts in the card's network windows.
// Recoveries that received a failed-payment event before it did not count
// it; from version 1 each one is counted (once per event id) and a
// never-retry decline stops the card.
const changePlatformDeclines = "platform-declines-counted"

// recoveryPlatformDecline reads the card at the processor and writes the
// counters; when it cannot within its window, the recovery goes on with its
// own charges counted (the rules are checked again at each charge).
var recoveryPlatformDecline = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: 15 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeRecoveryConfig},
	},
}

// countPlatformDecline counts the platform's failed attempt an event reports
// in the card's windows (the card networks count every attempt of the
// merchant, not only orderflow's) and reports whether its decline is one the
// networks say never to retry on this card.
func (w *revenueRecovery) countPlatformDecline(ctx workflow.Context, ev recovery.Event) bool {
	if workflow.GetVersion(ctx, changePlatformDeclines, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	at := ev.OccurredAt
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	var res activities.PlatformDeclineResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryPlatformDecline), ra.CountPlatformDecline,
		activities.PlatformDeclineInput{ProfileID: w.in.ProfileID, MerchantID: w.in.MerchantID, InvoiceID: w.in.InvoiceID,
			PaymentConnectorID: w.in.PaymentConnectorID, EventID: ev.EventID, TransactionID: ev.TransactionID,
			PaymentMethodToken: w.st.Intent.PaymentMethodToken, Amount: w.st.Intent.Amount, Currency: w.st.Intent.Currency,
			ErrorCode: ev.ErrorCode, DeclineCode: ev.DeclineCode, At: at}).Get(ctx, &res)
	switch {
	case err != nil:
		w.logger.Warn("the platform's declined attempt could not be counted in the card's network windows", "error", err)
	case res.Skipped != "":
		w.logger.Info("the platform's declined attempt is not counted in the card's network windows", "reason", res.Skipped)
	case res.NetworkRule != "":
		w.logger.Info("the platform's decline is one the card network forbids retrying", "rule", res.NetworkRule)
	}
	return err == nil && res.NetworkRule != ""
}

// RecoveryNetworkBlock is a charge the card networks' rules held back: the
// rule, and when the charge may be made (nil: never).
type RecoveryNetworkBlock struct {
	Rule  string     `json:"rule"`
	Until *time.Time `json:"until,omitempty"`
	At    time.Time  `json:"at"`
}

// networkRules asks the charge to be checked against the card networks'
// rules, counted across the merchant's invoices, and reports whether it is.
func (w *revenueRecovery) networkRules(ctx workflow.Context, in *activities.ChargeInput) bool {
	if workflow.GetVersion(ctx, changeCardNetworkRules, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	in.NetworkRules, in.MerchantID = true, w.in.MerchantID
	return true
}

// networkBlocked moves a charge the rules held back to the time they allow
// it, uncounted as a retry (none was made; its idempotency key stays for the
// next try). When that time is past the recovery's window, or never comes,
// the recovery ends network_limited, except when the card was only busy with
// another invoice's charge: that wait is seconds, and the card may still be
// charged once its answer is known, so the recovery waits past its window.
// (A card_busy answer exists only since the per-card lease, so no history
// recorded before it reaches this branch: no version marker is needed.)
func (w *revenueRecovery) networkBlocked(ctx workflow.Context, res activities.PaymentResult) {
	w.st.RetryCount--
	w.st.NetworkBlock = &RecoveryNetworkBlock{Rule: res.NetworkRule, Until: res.BlockedUntil, At: workflow.Now(ctx)}
	windowEnd := w.st.StartedAt.Add(w.in.Policy.Span())
	cardBusy := res.NetworkRule == activities.RuleCardBusy && res.BlockedUntil != nil
	if res.BlockedUntil == nil || (res.BlockedUntil.After(windowEnd) && !cardBusy) {
		w.logger.Info("card-network rules allow no charge inside the recovery's window", "rule", res.NetworkRule,
			"window_end", windowEnd)
		w.st.NextRetryAt = nil
		w.setStatus(ctx, RecoveryNetworkLimited)
		return
	}
	at := *res.BlockedUntil
	w.logger.Info("charge held back by a card-network rule", "rule", res.NetworkRule, "until", at)
	w.st.NextRetryAt = &at
	w.setStatus(ctx, RecoveryScheduled)
}
