package recovery

// Action is Hyperswitch's RecoveryAction: what to do with a billing event
// (docs/billing-platforms.md).
type Action string

// The actions of Hyperswitch's RecoveryAction enum.
const (
	// CancelInvoice stops the invoice's recovery.
	CancelInvoice Action = "cancel_invoice"
	// ScheduleFailedPayment records the platform's failed attempt and (re)schedules our retries.
	ScheduleFailedPayment Action = "schedule_failed_payment"
	// SuccessPaymentExternal records the platform's success and stops our retries, without a webhook.
	SuccessPaymentExternal Action = "success_payment_external"
	// PendingPayment waits for a pending attempt's outcome.
	PendingPayment Action = "pending_payment"
	// NoAction: the event reports our own attempt, which the workflow already knows.
	NoAction Action = "no_action"
	// InvalidAction: an event recovery does not use; recorded, nothing started.
	InvalidAction Action = "invalid_action"
	// RetryWithUpdatedPaymentMethod is not Hyperswitch's: the customer's card
	// changed, so each open recovery of theirs retries at once and a recently
	// closed one resumes.
	RetryWithUpdatedPaymentMethod Action = "retry_updated_payment_method"
)

// DecideAction is Hyperswitch's RecoveryAction table: the action follows from
// the event and who triggered the attempt (triggered_by). An empty
// triggeredBy (attempt unknown to us) counts as external.
func DecideAction(kind EventKind, by TriggeredBy) Action {
	switch kind {
	case PaymentFailure:
		if by == Internal {
			return NoAction
		}
		return ScheduleFailedPayment
	case PaymentSuccess:
		if by == Internal {
			return NoAction
		}
		return SuccessPaymentExternal
	case PaymentPending:
		return PendingPayment
	case InvoiceCancel:
		return CancelInvoice
	case PaymentMethodUpdated:
		return RetryWithUpdatedPaymentMethod
	}
	return InvalidAction
}

// ValidAction reports whether s names one of the actions (the recovery API takes it from its caller).
func ValidAction(s string) bool {
	switch Action(s) {
	case CancelInvoice, ScheduleFailedPayment, SuccessPaymentExternal, PendingPayment, NoAction, InvalidAction:
		return true
	}
	return false
}
