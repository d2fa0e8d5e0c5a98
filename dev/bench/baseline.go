package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"orderflow/workflows"
)

// baselineWorkflowType is started but never run: the baseline measures what
// the dev server itself can accept, which bounds every ingress figure.
const baselineWorkflowType = "BenchBaselineNoop"

// runBaseline measures the bare dev-server workflow-start rate with the same
// options, search attributes and client concurrency as the starter's ingress.
func runBaseline(ctx context.Context, e *Env, o Options) (Row, error) {
	n := 2000
	if o.Short {
		n = 500
	}
	rate, err := bareStartRate(ctx, e, n, o.Concurrency)
	if err != nil {
		return Row{}, err
	}
	e.BaselineStartsPerSec = rate
	return Row{Figures: []Figure{
		plain("workflow starts", float64(n), "starts"),
		plain("client concurrency", float64(o.Concurrency), "clients"),
		plain("bare workflow-start rate (the baseline)", round(e.BaselineStartsPerSec, 1), "starts/s"),
	}}, nil
}

// bareStartRate starts n never-run workflows from concurrency clients and
// returns the rate at which the dev server accepted them.
func bareStartRate(ctx context.Context, e *Env, n, concurrency int) (float64, error) {
	queue := fmt.Sprintf("bench-baseline-unpolled-%d", e.seq.Add(1))
	start := func(i int) error {
		_, err := e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       fmt.Sprintf("bench-baseline:%s:%d", queue, i),
			TaskQueue:                queue,
			WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			// Nobody polls this queue. They outlive the run on purpose: a burst of
			// run timeouts would land in the middle of a later row's measurement.
			WorkflowRunTimeout: time.Hour,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.OrderIDAttr.ValueSet(fmt.Sprintf("%024x", i)), workflows.TrackingStatusAttr.ValueSet("rto")),
		}, baselineWorkflowType)
		return err
	}
	t0 := time.Now()
	if err := parallel(ctx, n, concurrency, start); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}
