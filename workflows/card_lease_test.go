package workflows

import (
	"context"
	"testing"

	"orderflow/activities"
	"orderflow/store"
)

// TakeCardLease always lets the charge through: the workflow tests' activities
// run one at a time, so no other charge is ever in flight on the card
// (activities/networkrules_test.go races two; store/networkrules_test.go runs
// the real lease on FerretDB).
func (m *memCards) TakeCardLease(context.Context, store.CardLease) (store.CardLeaseAnswer, error) {
	return store.CardLeaseAnswer{Taken: true}, nil
}

func (m *memCards) ReleaseCardLease(context.Context, string, string, string) error { return nil }

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
