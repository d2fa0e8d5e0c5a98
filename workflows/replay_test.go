package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories recorded from real runs on the
// dev server (see tests/harness_test.go recordHistory). A change that makes a
// workflow decide differently on the same events fails here before it can
// break the workflows running in production.
func TestReplayRecordedHistories(t *testing.T) {
	for _, tc := range []struct {
		file     string
		workflow any
	}{
		{"testdata/rto_cancel_history.json", RTOCancel},
		{"testdata/order_return_history.json", OrderReturn},
		{"testdata/status_update_history.json", StatusUpdate},
		{"testdata/push_ingest_history.json", PushIngest},
		// Started before changeLocalMongoSteps: regular activities, no version marker.
		{"testdata/rto_cancel_history_pre_local_steps.json", RTOCancel},
		{"testdata/status_update_history_pre_local_steps.json", StatusUpdate},
		{"testdata/push_ingest_history_pre_local_steps.json", PushIngest},
		// Recorded before changeCustomerReturns: a customer return only recorded, no version marker.
		{"testdata/push_ingest_customer_return_pre_returns_history.json", PushIngest},
		{"testdata/revenue_recovery_history.json", RevenueRecovery},
		{"testdata/revenue_recovery_external_success_history.json", RevenueRecovery},
		// Started before generations and card-update retries: no version marker.
		{"testdata/revenue_recovery_hard_declined_pre_restart_history.json", RevenueRecovery},
		// Recorded before changeCardNetworkRules: a decline, then a successful retry, no version marker.
		{"testdata/revenue_recovery_pre_network_rules_history.json", RevenueRecovery},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(tc.workflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, tc.file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
