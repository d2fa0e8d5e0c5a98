package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"orderflow/config"
)

// A deployment version serves several task queues: the main queue (workflow
// and activity tasks) and one queue per configured courier API (the poll
// activities). Temporal makes a version current only when the queues the
// current version served are polled by it; orderflow goes further and waits
// until every queue this configuration serves is polled, so a courier queue
// added in the new build is never left without a poller.

// ServedQueue is one task queue, and the kind of task, a version must poll.
type ServedQueue struct {
	Name string
	Type client.TaskQueueType
}

func (q ServedQueue) String() string {
	kind := "activity"
	if q.Type == client.TaskQueueTypeWorkflow {
		kind = "workflow"
	}
	return q.Name + " (" + kind + ")"
}

// ServedQueues are the task queues the workers built from cfg poll.
func ServedQueues(cfg config.Config) ([]ServedQueue, error) {
	qs, err := queues(cfg, NewCourierRegistry(cfg.Couriers))
	if err != nil {
		return nil, err
	}
	var out []ServedQueue
	for _, q := range qs {
		if len(q.workflow) > 0 {
			out = append(out, ServedQueue{q.name, client.TaskQueueTypeWorkflow})
		}
		out = append(out, ServedQueue{q.name, client.TaskQueueTypeActivity})
	}
	return out, nil
}

// Unpolled are the queues of want that the version buildID has no poller on
// yet, by the server's description of the version.
func Unpolled(ctx context.Context, tc client.Client, deployment, buildID string, want []ServedQueue) ([]ServedQueue, error) {
	desc, err := tc.WorkerDeploymentClient().GetHandle(deployment).DescribeVersion(ctx,
		client.WorkerDeploymentDescribeVersionOptions{BuildID: buildID})
	if err != nil {
		return nil, fmt.Errorf("describe version %s of deployment %s: %w", buildID, deployment, err)
	}
	var missing []ServedQueue
	for _, q := range want {
		if !slices.ContainsFunc(desc.Info.TaskQueuesInfos, func(i client.WorkerDeploymentTaskQueueInfo) bool {
			return i.Name == q.Name && i.Type == q.Type
		}) {
			missing = append(missing, q)
		}
	}
	return missing, nil
}

// WaitPolled waits, up to within, until the version buildID polls every
// queue of want; the error names those it still does not.
func WaitPolled(ctx context.Context, tc client.Client, deployment, buildID string, want []ServedQueue, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		missing, err := Unpolled(ctx, tc, deployment, buildID, want)
		if err == nil && len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return fmt.Errorf("version %s of deployment %s does not poll %s: start its workers (every courier queue "+
				"too) before making it current or ramping to it", buildID, deployment, queueList(missing))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func queueList(qs []ServedQueue) string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.String()
	}
	return strings.Join(names, ", ")
}

// SetCurrent makes buildID the current version of the deployment once it
// polls every queue of want: new workflows and every auto-upgrade workflow
// move to it; pinned ones finish where they started. Also the rollback: the
// previous build id, its workers still running, made current again.
func SetCurrent(ctx context.Context, tc client.Client, deployment, buildID string, want []ServedQueue, within time.Duration) error {
	if err := WaitPolled(ctx, tc, deployment, buildID, want, within); err != nil {
		return err
	}
	_, err := tc.WorkerDeploymentClient().GetHandle(deployment).SetCurrentVersion(ctx,
		client.WorkerDeploymentSetCurrentVersionOptions{BuildID: buildID})
	if err != nil {
		return fmt.Errorf("set version %s of deployment %s current: %w", buildID, deployment, err)
	}
	return nil
}

// Ramp sends percent of new workflows and of auto-upgrade workflows' tasks to
// buildID, the rest staying on the current version, once buildID polls every
// queue of want. Percent 0 with an empty buildID ends a ramp. Ramping the
// current version changes nothing: the Helm chart's Job ramps the release's
// build after every upgrade, also one that kept a build already promoted.
func Ramp(ctx context.Context, tc client.Client, deployment, buildID string, percent float32, want []ServedQueue, within time.Duration) error {
	if percent < 0 || percent > 100 {
		return errors.New("the ramp percentage must be between 0 and 100")
	}
	if buildID != "" {
		desc, err := tc.WorkerDeploymentClient().GetHandle(deployment).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err == nil && desc.Info.RoutingConfig.CurrentVersion != nil && desc.Info.RoutingConfig.CurrentVersion.BuildID == buildID {
			return nil
		}
		if err := WaitPolled(ctx, tc, deployment, buildID, want, within); err != nil {
			return err
		}
	}
	_, err := tc.WorkerDeploymentClient().GetHandle(deployment).SetRampingVersion(ctx,
		client.WorkerDeploymentSetRampingVersionOptions{BuildID: buildID, Percentage: percent})
	if err != nil {
		return fmt.Errorf("ramp version %q of deployment %s to %v%%: %w", buildID, deployment, percent, err)
	}
	return nil
}

// Rollback makes buildID current again, as SetCurrent does, and ends a ramp
// to any other version: rolling back a build that was only ramping leaves
// the current version as it was, and the ramp must stop too.
func Rollback(ctx context.Context, tc client.Client, deployment, buildID string, want []ServedQueue, within time.Duration) error {
	if err := SetCurrent(ctx, tc, deployment, buildID, want, within); err != nil {
		return err
	}
	desc, err := tc.WorkerDeploymentClient().GetHandle(deployment).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		return fmt.Errorf("describe deployment %s: %w", deployment, err)
	}
	if r := desc.Info.RoutingConfig.RampingVersion; r == nil || r.BuildID == buildID {
		return nil
	}
	return Ramp(ctx, tc, deployment, "", 0, want, within)
}
