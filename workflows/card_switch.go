package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/recovery"
)

// changeCardSwitching is the workflow.GetVersion change ID of switching to
// the customer's other payment methods (the billing connector's
// switch_payment_method_config). Recoveries that reached a hard decline or
// the end of the card's network budget before it end as they did.
const changeCardSwitching = "card-switching"

// RecoveryGivenUpMethod is a payment method the recovery stopped charging:
// hard-declined, or out of the card networks' budget inside the window.
type RecoveryGivenUpMethod struct {
	PaymentMethodToken string    `json:"payment_method_token"`
	Reason             string    `json:"reason"` // RecoveryHardDeclined or RecoveryNetworkLimited
	At                 time.Time `json:"at"`
}

// switchPaymentMethod gives up on the current payment method for reason and,
// when switching is configured and the customer has another card not given
// up on, makes it the intent's and schedules a charge on it now, under its
// own card's network budget. It reports whether it switched; if not, the
// recovery's status (hard_declined or network_limited) stands.
func (w *revenueRecovery) switchPaymentMethod(ctx workflow.Context, reason string) bool {
	if workflow.GetVersion(ctx, changeCardSwitching, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	current := w.st.Intent.PaymentMethodToken
	if current != "" && !slices.ContainsFunc(w.st.GivenUpMethods, func(g RecoveryGivenUpMethod) bool { return g.PaymentMethodToken == current }) {
		w.st.GivenUpMethods = append(w.st.GivenUpMethods, RecoveryGivenUpMethod{PaymentMethodToken: current, Reason: reason, At: workflow.Now(ctx)})
	}
	if !w.retriesLeft() || w.st.Intent.ConnectorCustomerID == "" {
		return false
	}
	next, ok := w.otherPaymentMethod(ctx)
	if !ok {
		return false
	}
	w.logger.Info("switching to the customer's next payment method", "reason", reason, "card_network", next.CardNetwork,
		"given_up", len(w.st.GivenUpMethods))
	w.st.Intent.PaymentMethodToken = next.PaymentMethodToken
	w.st.Intent.CardNetwork, w.st.Intent.CardFunding = next.CardNetwork, next.CardFunding
	w.st.LastDecline = recovery.Decline{Class: recovery.Soft, Code: "payment_method_switched"}
	w.st.NetworkBlock = nil
	now := workflow.Now(ctx)
	w.st.NextRetryAt = &now
	w.setStatus(ctx, RecoveryScheduled)
	return true
}

// retriesLeft reports whether max_retry_count and the schedule allow one
// more retry: a switch never charges past them.
func (w *revenueRecovery) retriesLeft() bool {
	_, stop := recovery.NextRetry(w.in.Policy, w.st.RetryCount-w.st.RetryBase, recovery.Decline{Class: recovery.Soft})
	return stop == recovery.Continue
}

// otherPaymentMethod asks the processor (through an activity) for the
// customer's stored cards not given up on, and picks the first.
func (w *revenueRecovery) otherPaymentMethod(ctx workflow.Context) (activities.OtherPaymentMethod, bool) {
	givenUp := make([]string, 0, len(w.st.GivenUpMethods))
	for _, g := range w.st.GivenUpMethods {
		givenUp = append(givenUp, g.PaymentMethodToken)
	}
	var res activities.OtherPaymentMethods
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryPayment), ra.OtherPaymentMethods, activities.OtherPaymentMethodsInput{
		ProfileID: w.in.ProfileID, MerchantID: w.in.MerchantID, InvoiceID: w.in.InvoiceID, BillingConnectorID: w.in.BillingConnectorID,
		PaymentConnectorID: w.in.PaymentConnectorID, CustomerID: w.st.Intent.ConnectorCustomerID, GivenUp: givenUp,
	}).Get(ctx, &res)
	if err != nil {
		w.logger.Warn("the customer's other payment methods could not be listed; not switching", "error", err)
		return activities.OtherPaymentMethod{}, false
	}
	if !res.Enabled {
		w.logger.Info("payment method switching is not configured for the billing connector")
		return activities.OtherPaymentMethod{}, false
	}
	for _, m := range res.Methods { // the activity leaves given-up methods out; never trust it to
		if m.PaymentMethodToken != "" && !slices.Contains(givenUp, m.PaymentMethodToken) {
			return m, true
		}
	}
	w.logger.Info("the customer has no other payment method to switch to")
	return activities.OtherPaymentMethod{}, false
}
