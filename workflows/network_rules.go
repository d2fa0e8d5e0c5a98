package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

// changeCardNetworkRules is the workflow.GetVersion change ID of checking the
// card networks' retry rules before each charge. Recoveries that started
// before it charge as they did; from version 1 the charge activity counts the
// rules and may answer "blocked until T".
const changeCardNetworkRules = "card-network-rules"

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
// the recovery ends network_limited.
func (w *revenueRecovery) networkBlocked(ctx workflow.Context, res activities.PaymentResult) {
	w.st.RetryCount--
	w.st.NetworkBlock = &RecoveryNetworkBlock{Rule: res.NetworkRule, Until: res.BlockedUntil, At: workflow.Now(ctx)}
	windowEnd := w.st.StartedAt.Add(w.in.Policy.Span())
	if res.BlockedUntil == nil || res.BlockedUntil.After(windowEnd) {
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
