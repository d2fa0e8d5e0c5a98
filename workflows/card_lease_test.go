package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"

	"orderflow/activities"
	"orderflow/recovery"
)

// A charge's lease on its card must outlive one attempt of the charge
// activity, or a worker dying mid-charge could let a second charge reach the
// processor while the first one's request may still be answered.
func TestCardLeaseOutlivesOneChargeAttempt(t *testing.T) {
	if activities.CardLeaseTTL <= recoveryPayment.StartToCloseTimeout {
		t.Fatalf("card lease %v, charge attempt up to %v", activities.CardLeaseTTL, recoveryPayment.StartToCloseTimeout)
	}
	if activities.CardBusyRetry >= activities.CardLeaseTTL {
		t.Fatalf("a busy card is asked again after %v, past the lease's %v", activities.CardBusyRetry, activities.CardLeaseTTL)
	}
}

// A card busy with another invoice's charge at the very end of the recovery's
// window holds the charge for seconds, never ends the recovery: once the
// other charge's answer is known the card may still be charged.
func TestBusyCardAtTheWindowsEndWaitsInsteadOfEndingTheRecovery(t *testing.T) {
	f := newRecoveryFixture(t)
	withNetworkRules(f, recovery.Visa)
	var calls []chargeCall
	f.env.OnActivity(ra.ChargeInvoice, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ChargeInput) (activities.PaymentResult, error) {
			if len(calls) == 0 { // the first try finds the card busy until after the window's end
				until := f.env.Now().Add(f.in.Policy.Span() + activities.CardBusyRetry)
				res := activities.PaymentResult{Status: activities.PaymentBlocked, NetworkRule: activities.RuleCardBusy, BlockedUntil: &until}
				calls = append(calls, chargeCall{at: f.env.Now(), res: res})
				return res, nil
			}
			res, err := f.acts.ChargeInvoice(ctx, in)
			calls = append(calls, chargeCall{at: f.env.Now(), res: res})
			return res, err
		})
	f.signalAt(0, failure("ev_1"))
	res := f.run()
	if res.Status != RecoverySucceededInternal || len(f.proc.Charges()) != 1 {
		t.Fatalf("result %+v, %d charges; want the busy card charged once it was free", res, len(f.proc.Charges()))
	}
	if len(calls) != 2 || calls[0].res.NetworkRule != activities.RuleCardBusy || calls[1].at.Before(*calls[0].res.BlockedUntil) {
		t.Errorf("charge calls %+v, want busy then charged after the lease", calls)
	}
}
