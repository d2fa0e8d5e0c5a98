package workflows

import (
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayRecordedSweepHistories replays the sweep's histories recorded on
// the dev server (tests/sweep_test.go, ORDERFLOW_RECORD_HISTORY_DIR). The sweep
// names its children after its own workflow ID, so each replay runs under the
// recorded ID, read back from the first child the history started.
func TestReplayRecordedSweepHistories(t *testing.T) {
	for _, tc := range replayedSweepHistories {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			exec := workflow.Execution{ID: "replay", RunID: "replay-run"}
			for _, ev := range hist.Events {
				if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
					if i := strings.LastIndex(a.WorkflowId, "/"); i > 0 {
						exec.ID = a.WorkflowId[:i]
					}
					break
				}
			}
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(tc.workflow)
			if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// replayedSweepHistories are replayed under the workflow ID they recorded.
var replayedSweepHistories = []recordedHistory{
	{"testdata/tracking_sweep_history.json", TrackingSweep},
	{"testdata/tracker_sweep_history.json", TrackerSweep},
	{"testdata/tracker_partition_history.json", TrackerPartition},
	// Recorded before TrackerSweep handed partitions their batches: planned by PlanBatches.
	{"testdata/tracker_partition_planned_history.json", TrackerPartition},
	// Recorded in adaptive polling: the partition's and batches' bounds are
	// due-cursors (risk tier, _id, orders handed out), opaque to the workflow.
	{"testdata/tracker_partition_adaptive_history.json", TrackerPartition},
}
