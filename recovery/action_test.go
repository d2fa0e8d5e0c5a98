package recovery

import "testing"

// Every row of Hyperswitch's RecoveryAction table.
func TestDecideActionTable(t *testing.T) {
	for _, tc := range []struct {
		kind EventKind
		by   TriggeredBy
		want Action
	}{
		{PaymentFailure, Internal, NoAction},
		{PaymentFailure, External, ScheduleFailedPayment},
		{PaymentFailure, "", ScheduleFailedPayment},
		{PaymentSuccess, Internal, NoAction},
		{PaymentSuccess, External, SuccessPaymentExternal},
		{PaymentSuccess, "", SuccessPaymentExternal},
		{PaymentPending, Internal, PendingPayment},
		{PaymentPending, External, PendingPayment},
		{PaymentPending, "", PendingPayment},
		{InvoiceCancel, Internal, CancelInvoice},
		{InvoiceCancel, External, CancelInvoice},
		{InvoiceCancel, "", CancelInvoice},
		{OtherEvent, Internal, InvalidAction},
		{OtherEvent, "", InvalidAction},
		{EventKind("refund"), External, InvalidAction},
	} {
		if got := DecideAction(tc.kind, tc.by); got != tc.want {
			t.Errorf("DecideAction(%s, %q) = %s, want %s", tc.kind, tc.by, got, tc.want)
		}
	}
}
