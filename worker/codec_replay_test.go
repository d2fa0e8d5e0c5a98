package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"orderflow/temporalclient/codec"
)

// Histories written before payload encryption was turned on still replay on
// a worker that encrypts: the codec passes payloads without its encoding
// through. Every recorded history is replayed through the codec's data and
// failure converters, with every workflow the worker registers.
func TestRecordedHistoriesReplayThroughTheCodec(t *testing.T) {
	c, err := codec.New(map[string][]byte{"k1": make([]byte, 32)}, "k1", codec.Options{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	dc := codec.DataConverter(c)
	regs, err := registrations(mainWorkflows)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../workflows/testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{
				DataConverter: dc, FailureConverter: codec.FailureConverter(c, dc),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, reg := range regs {
				r.RegisterWorkflow(reg.workflow)
			}
			err = r.ReplayWorkflowHistoryWithOptions(nil, hist, sdkworker.ReplayWorkflowHistoryOptions{OriginalExecution: recordedExecution(hist)})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// recordedExecution is the workflow ID a history ran under, as far as it
// matters: the sweep names its children after its own ID, so it is read back
// from the first child the history started (workflows/sweep_replay_test.go).
func recordedExecution(hist *historypb.History) workflow.Execution {
	exec := workflow.Execution{ID: "replay", RunID: "replay-run"}
	for _, ev := range hist.GetEvents() {
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			if i := strings.LastIndex(a.WorkflowId, "/"); i > 0 {
				exec.ID = a.WorkflowId[:i]
			}
			break
		}
	}
	return exec
}
