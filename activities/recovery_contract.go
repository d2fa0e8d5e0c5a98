package activities

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"orderflow/recovery"
)

// RevenueRecovery's contract with whoever starts or signals it: its workflow
// type, signals, first statuses, search attributes, input and signal. They
// are declared here, once, because the hand-off and restart activities need
// them and package workflows (which imports this one) cannot lend them;
// workflows names them through aliases.
const (
	RevenueRecoveryWorkflowType = "RevenueRecovery"
	// RecoveryEventSignalName carries a billing event (RecoverySignal).
	RecoveryEventSignalName = "recovery_event"
	// PaymentMethodUpdatedSignalName carries a customer's card update
	// (PaymentMethodUpdate) to each open recovery of theirs.
	PaymentMethodUpdatedSignalName = "payment_method_updated"
	// RecoveryAwaitingEvent is the RecoveryStatus a RevenueRecovery starts with.
	RecoveryAwaitingEvent = "awaiting_event"
	// RecoveryScheduledStatus is the RecoveryStatus a restarted run starts with.
	RecoveryScheduledStatus = "scheduled"
)

// The search attributes that make revenue recoveries findable; a recovery starts with all three.
var (
	RecoveryInvoiceIDAttr  = temporal.NewSearchAttributeKeyKeyword("InvoiceID")
	RecoveryStatusAttr     = temporal.NewSearchAttributeKeyKeyword("RecoveryStatus")
	RecoveryRetryCountAttr = temporal.NewSearchAttributeKeyInt64("RetryCount")
)

// RecoverySignal is a billing event and the action RecoveryIngest decided for it.
type RecoverySignal struct {
	Action recovery.Action `json:"action"`
	Event  recovery.Event  `json:"event"`
}

// RevenueRecoveryStart is what starts an invoice's RevenueRecovery: the part
// of its input a hand-off or a restart fills. workflows.RevenueRecoveryInput
// embeds it, so both speak the same JSON.
type RevenueRecoveryStart struct {
	ProfileID          string          `json:"profile_id"`
	MerchantID         string          `json:"merchant_id"`
	InvoiceID          string          `json:"invoice_id"`
	BillingConnectorID string          `json:"billing_connector_id"`
	PaymentConnectorID string          `json:"payment_connector_id"`
	Policy             recovery.Policy `json:"policy"`
	// PSyncDelays are the waits before each status sync of a processing payment
	// (default 60 s, 5 min ×5, then hourly for a day).
	PSyncDelays []time.Duration `json:"psync_delays,omitempty"`
	// Generation counts the restarts of the invoice's recovery (0: never
	// restarted). It enters the payment idempotency keys and webhook event
	// ids, so a restarted recovery never reuses an earlier run's.
	Generation int `json:"generation,omitempty"`
	// Restart is set on the first run of a restarted generation only (RestartRecovery).
	Restart *RecoveryRestart `json:"restart,omitempty"`
}
