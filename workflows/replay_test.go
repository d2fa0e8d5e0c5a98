package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// recordedHistory is a history in testdata and the workflow that replays it.
type recordedHistory struct {
	file     string
	workflow any
}

// TestReplayRecordedHistories replays histories recorded from real runs on the
// dev server (see tests/harness_test.go recordHistory). A change that makes a
// workflow decide differently on the same events fails here before it can
// break the workflows running in production.
func TestReplayRecordedHistories(t *testing.T) {
	for _, tc := range replayedHistories {
		t.Run(tc.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(tc.workflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, tc.file); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Every history in testdata is replayed by one of the two tests: a history
// recorded but never listed would protect nothing.
func TestEveryRecordedHistoryIsReplayed(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories found: %v", err)
	}
	listed := map[string]bool{}
	for _, h := range append(append([]recordedHistory{}, replayedHistories...), replayedSweepHistories...) {
		listed[h.file] = true
	}
	for _, f := range files {
		if !listed[f] {
			t.Errorf("%s is replayed by no test: add it to replayedHistories or replayedSweepHistories", f)
		}
	}
}

// replayedHistories are replayed under any workflow ID.
var replayedHistories = []recordedHistory{
	// A drain releasing three parked deliveries at two a second: a group of
	// two signals sent together, a timer for the rest of the second, then
	// one (changeDrainGroupSignals).
	{"testdata/endpoint_drain_history.json", EndpointDrain},
	// Recorded before changeDrainGroupSignals: each signal answered before
	// the next is sent; no version marker.
	{"testdata/endpoint_drain_pre_group_signals_history.json", EndpointDrain},
	{"testdata/rto_cancel_history.json", RTOCancel},
	{"testdata/status_update_history.json", StatusUpdate},
	{"testdata/push_ingest_history.json", PushIngest},
	// Started before changeLocalMongoSteps: regular activities, no version marker.
	{"testdata/rto_cancel_history_pre_local_steps.json", RTOCancel},
	{"testdata/status_update_history_pre_local_steps.json", StatusUpdate},
	{"testdata/push_ingest_history_pre_local_steps.json", PushIngest},
	{"testdata/revenue_recovery_history.json", RevenueRecovery},
	{"testdata/revenue_recovery_external_success_history.json", RevenueRecovery},
	// Started before generations and card-update retries: no version marker.
	{"testdata/revenue_recovery_hard_declined_pre_restart_history.json", RevenueRecovery},
	// Recorded before changeCardNetworkRules: a decline, then a successful retry, no version marker.
	{"testdata/revenue_recovery_pre_network_rules_history.json", RevenueRecovery},
	// Recorded before changeCardSwitching: a hard decline ends the recovery
	// with one payment_failed, no listing of the customer's other cards.
	{"testdata/revenue_recovery_hard_declined_pre_card_switching_history.json", RevenueRecovery},
	// Recorded before changeEndpointBreaker: a CRM failing three times, then a
	// 2xx, retried inside one delivery activity; no version marker.
	{"testdata/rto_cancel_retries_pre_breaker_history.json", RTOCancel},
	// Recorded before changeAdaptiveTiming: a cascading recovery, a decline
	// then a successful retry, with the restart and card-network markers.
	{"testdata/revenue_recovery_pre_adaptive_history.json", RevenueRecovery},
	// Recorded before changePlatformDeclines: the platform's failed-payment
	// event opens the recovery without counting it in the card's windows.
	{"testdata/revenue_recovery_pre_platform_declines_history.json", RevenueRecovery},
	// Recorded before changeMerchantParking: a decline, then a successful
	// retry whose payment_succeeded is delivered in one activity that
	// cannot park.
	{"testdata/revenue_recovery_pre_merchant_parking_history.json", RevenueRecovery},
	{"testdata/recovery_ingest_history.json", RecoveryIngest},
	{"testdata/order_return_history.json", OrderReturn},
	// Recorded before changeCustomerReturns: a customer return only recorded, no version marker.
	{"testdata/push_ingest_customer_return_pre_returns_history.json", PushIngest},
	// Recorded before changeReturnAWB: a return push that starts its
	// OrderReturn without recording the return shipment's AWB on the order.
	{"testdata/push_ingest_customer_return_pre_return_awb_history.json", PushIngest},
	// Recorded before changeUnmatchedReports: a report accepted while the store
	// could not answer, for an order that never appeared, ending with nothing recorded.
	{"testdata/status_update_unknown_order_pre_unmatched_history.json", StatusUpdate},
}
