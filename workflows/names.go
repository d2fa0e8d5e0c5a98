// Package workflows holds orderflow's workflow definitions. Each workflow
// lives in its own file with its input and output types; this file holds the
// names shared with the worker, the starter and the Temporal UI.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"orderflow/activities"
	"orderflow/tracking"
	"orderflow/tracking/push"
)

// DefaultTaskQueue is the task queue the worker polls unless configured otherwise.
const DefaultTaskQueue = "orderflow"

// Webhook event and module of the in-house RTO trigger.
const (
	EventOrderRTO = "order.rto"
	ModuleOrder   = "order"
)

// DeliveryStateQuery returns an RTOCancel's RTOCancelState.
const DeliveryStateQuery = "delivery_state"

// Search attributes that make orders findable in the Temporal UI.
var (
	OrderIDAttr        = temporal.NewSearchAttributeKeyKeyword("OrderID")
	AWBAttr            = temporal.NewSearchAttributeKeyKeyword("AWB")
	CourierAttr        = temporal.NewSearchAttributeKeyKeyword("Courier")
	TrackingStatusAttr = temporal.NewSearchAttributeKeyKeyword("TrackingStatus")
	// InvoiceID, RecoveryStatus and RetryCount make revenue recoveries findable.
	InvoiceIDAttr      = activities.RecoveryInvoiceIDAttr
	RecoveryStatusAttr = activities.RecoveryStatusAttr
	RetryCountAttr     = activities.RecoveryRetryCountAttr
)

// Search attributes of TrackingSweep runs: what one sweep did, filterable in the UI
// (e.g. SweepFirstRTOs > 0). The dev server's SQLite visibility allows only 3
// Int attributes (RetryCount holds the third), so calls per courier are a
// keyword list ("delhivery=3") and orders changed live in the run's memo with
// the whole SweepStats.
var (
	SweepOrdersPolledAttr = temporal.NewSearchAttributeKeyInt64("SweepOrdersPolled")
	SweepFirstRTOsAttr    = temporal.NewSearchAttributeKeyInt64("SweepFirstRTOs")
	SweepCourierCallsAttr = temporal.NewSearchAttributeKeyKeywordList("SweepCourierCalls")
)

// SearchAttributes lists every custom search attribute with its type, for
// registration on a server (`temporal operator search-attribute create` or the dev server's flags).
var SearchAttributes = map[string]enumspb.IndexedValueType{
	OrderIDAttr.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AWBAttr.GetName():            enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	CourierAttr.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	TrackingStatusAttr.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	InvoiceIDAttr.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	RecoveryStatusAttr.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	RetryCountAttr.GetName():     enumspb.INDEXED_VALUE_TYPE_INT,

	SweepOrdersPolledAttr.GetName(): enumspb.INDEXED_VALUE_TYPE_INT,
	SweepFirstRTOsAttr.GetName():    enumspb.INDEXED_VALUE_TYPE_INT,
	SweepCourierCallsAttr.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

// DevServerFlags are the `temporal server start-dev` flags orderflow needs: its
// SearchAttributes, and one partition per task queue (see OnePartitionConfig).
func DevServerFlags() []string {
	var flags []string
	for name, typ := range SearchAttributes {
		// The CLI spells types as the enum's name without its prefix, capitalised: Keyword, Text…
		t := strings.TrimPrefix(typ.String(), "INDEXED_VALUE_TYPE_")
		flags = append(flags, "--search-attribute", name+"="+t[:1]+strings.ToLower(t[1:]))
	}
	for _, key := range OnePartitionConfig {
		flags = append(flags, "--dynamic-config-value", key+"=1")
	}
	return flags
}

// OnePartitionConfig are the server's dynamic-config keys that must be 1 for
// the courier task queues (CourierTaskQueue). The server splits a queue's
// activities-per-second limit evenly over its read partitions (4 by default),
// and each partition dispatches only its own backlog: with a few polls in
// flight spread over four partitions, a courier's queue used half its rate. One
// partition dispatches at the whole rate, with the burst config/couriers.go
// assumes. The dev server gets them for every queue (DevServerFlags); a
// cluster gets them for the courier queues only (deploy/temporal-dynamicconfig.yaml).
var OnePartitionConfig = []string{"matching.numTaskqueueReadPartitions", "matching.numTaskqueueWritePartitions"}

const rtoCancelPrefix = "rto-cancel:"

// RTOCancelWorkflowID is the one workflow ID an order's first RTO can have:
// Temporal refuses a second workflow with it, which makes the ID the lock.
func RTOCancelWorkflowID(orderID string) string { return rtoCancelPrefix + orderID }

// OrderIDFromRTOCancelWorkflowID reverses RTOCancelWorkflowID.
func OrderIDFromRTOCancelWorkflowID(id string) (string, bool) {
	return strings.CutPrefix(id, rtoCancelPrefix)
}

// StatusUpdateWorkflowID derives a StatusUpdate's ID from its observation, so
// the same report delivered again is rejected as a duplicate.
func StatusUpdateWorkflowID(o tracking.Observation) string {
	return fmt.Sprintf("status-update:%s:%s:%s:%d", o.Source, o.OrderID,
		strings.ReplaceAll(o.Status, " ", "_"), o.EventTime.UnixNano())
}

// WebhookIdempotencyKey is sent with every POST of one (order, webhook) delivery,
// so the receiver can drop a repeat whatever happens on our side.
func WebhookIdempotencyKey(orderID, webhookID string) string {
	return RTOCancelWorkflowID(orderID) + ":" + webhookID
}

// PushIngestWorkflowID derives a PushIngest's ID from the event's own identity
// (fulfilment: the X-Event-Delivery id; the others: a hash of the event), so a
// redelivered event is rejected as a duplicate. Each push source derives it
// itself (push.WorkflowID); this name stays for the callers outside them.
func PushIngestWorkflowID(source, account, eventKey string) string {
	return push.WorkflowID(source, account, eventKey)
}

// RecoveryEventSignal carries a billing event (RecoverySignal) to a RevenueRecovery.
const RecoveryEventSignal = activities.RecoveryEventSignalName

// PaymentMethodUpdatedSignal carries a customer's card update
// (activities.PaymentMethodUpdate) to each open RevenueRecovery of theirs.
const PaymentMethodUpdatedSignal = activities.PaymentMethodUpdatedSignalName

// RecoveryStateQuery returns a RevenueRecovery's RecoveryView: schedule and attempts.
const RecoveryStateQuery = "recovery_state"

const revenueRecoveryPrefix = "revenue-recovery:"

// RevenueRecoveryWorkflowID is the one workflow of an invoice of a profile
// (merchant_reference_id): every billing event of the invoice reaches it.
func RevenueRecoveryWorkflowID(profileID, invoiceID string) string {
	return revenueRecoveryPrefix + profileID + ":" + invoiceID
}

// InvoiceFromRevenueRecoveryWorkflowID reverses RevenueRecoveryWorkflowID.
func InvoiceFromRevenueRecoveryWorkflowID(id string) (profileID, invoiceID string, ok bool) {
	rest, ok := strings.CutPrefix(id, revenueRecoveryPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// RecoveryPaymentIdempotencyKey is the processor's Idempotency-Key of one
// retry: the same for every activity attempt of that retry, new for the next.
// Hashed so it stays within Stripe's 255 characters whatever the invoice id.
func RecoveryPaymentIdempotencyKey(workflowID string, retry int) string {
	return fmt.Sprintf("rr_%s_%d", shortHash(workflowID), retry)
}

// RecoveryGenerationPaymentIdempotencyKey is the Idempotency-Key of a retry of
// a generation of the recovery: generation 0 (never restarted) keeps
// RecoveryPaymentIdempotencyKey's keys, so runs started before generations
// existed keep theirs; a restarted generation's keys name it.
func RecoveryGenerationPaymentIdempotencyKey(workflowID string, generation, retry int) string {
	if generation == 0 {
		return RecoveryPaymentIdempotencyKey(workflowID, retry)
	}
	return fmt.Sprintf("rr_%s_g%d_%d", shortHash(workflowID), generation, retry)
}

// RecoveryGenerationWebhookEventID is RecoveryWebhookEventID for a generation:
// a restarted generation's webhooks are new events to the merchant.
func RecoveryGenerationWebhookEventID(workflowID string, generation int, eventType string) string {
	if generation == 0 {
		return RecoveryWebhookEventID(workflowID, eventType)
	}
	return RecoveryWebhookEventID(fmt.Sprintf("%s#g%d", workflowID, generation), eventType)
}

// RecoveryWebhookEventID is the event_id of an invoice's outgoing webhook of a
// type: the same on every delivery retry and after any crash.
func RecoveryWebhookEventID(workflowID, eventType string) string {
	return "evt_" + shortHash(workflowID+":"+eventType)
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// SweepMemoKey holds a TrackingSweep run's SweepStats in its memo.
const SweepMemoKey = "sweep"

// CourierTaskQueue is the task queue of a courier API's poll activities: its
// own queue, so the server can enforce the courier's rate across all workers.
func CourierTaskQueue(base, api string) string { return base + "-courier-" + api }

// TrackerSweepWorkflowID names one tracker's child of a sweep run.
func TrackerSweepWorkflowID(sweepID, tracker string) string { return sweepID + "/" + tracker }

// TrackerPartitionWorkflowID names one partition of a tracker's sweep.
func TrackerPartitionWorkflowID(trackerSweepID string, seq int) string {
	return fmt.Sprintf("%s/p%d", trackerSweepID, seq)
}

const recoveryIngestPrefix = "recovery-ingest:"

// RecoveryIngestWorkflowID derives a RecoveryIngest's ID from the billing
// event's own identity (the platform's event id, or a hash of the body when
// it has none fit for an ID), so a redelivered event is rejected as a duplicate.
func RecoveryIngestWorkflowID(profileID, connectorID, eventKey string) string {
	return recoveryIngestPrefix + profileID + ":" + connectorID + ":" + eventKey
}
