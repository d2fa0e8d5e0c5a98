package ingress

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
)

// temporalCallTimeout bounds every call the ingress makes to Temporal: a
// sender waiting longer would time out and retry anyway, so a dead frontend
// gets a 503 first, never a hung request.
const temporalCallTimeout = 10 * time.Second

// handOff makes a report durable by starting the workflow that acts on it,
// under an ID derived from the report: once it returns nil the report survives
// any crash, and a redelivery finds the ID taken (duplicate = true) and
// starts nothing, whether the first run is still going or has closed.
func (d Deps) handOff(ctx context.Context, id string, attrs []temporal.SearchAttributeUpdate, workflow, input any) (duplicate bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, temporalCallTimeout)
	defer cancel()
	_, err = d.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: d.TaskQueue,
		// A closed run keeps its ID taken, unless it failed: then a redelivery
		// may run the report again (the first-RTO claim still decides who is first).
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without it the SDK answers a start of a still-running ID with that run, not an error.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
	}, workflow, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return true, nil
	}
	return false, err
}

// writeUnavailable answers a failed hand-over: the sender must retry, since
// nothing durable holds the report yet.
func (d Deps) writeUnavailable(w http.ResponseWriter, what, workflowID string, err error) {
	d.Logger.Warn("could not hand "+what+" to Temporal", zap.String("workflow_id", workflowID), zap.Error(err))
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "workflow engine unavailable; retry later", "")
}
