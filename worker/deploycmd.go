package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/temporalclient"
)

// DeployUsage is the usage of `starter deploy`.
const DeployUsage = `usage: starter deploy <command>
  status                       the deployment's current and ramping versions and each version's task queues
  current <build-id>           make <build-id> current, once it polls every task queue (main and courier queues)
  ramp <build-id> <percent>    send <percent> of new and auto-upgrade work to <build-id>; "ramp - 0" ends a ramp
  rollback <build-id>          make the previous <build-id> current again and end any ramp (its workers must still run)`

// pollWait is how long deploy commands wait for a version's pollers.
const pollWait = 2 * time.Minute

// DeployCommand runs one `starter deploy` command against the deployment
// named by worker.deployment_name, for the task queues cfg serves.
func DeployCommand(ctx context.Context, cfg config.Config, logger *zap.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(DeployUsage)
	}
	tc, err := temporalclient.Dial(cfg.Temporal, logger, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	served, err := ServedQueues(cfg)
	if err != nil {
		return err
	}
	name := cfg.Worker.DeploymentName
	switch {
	case args[0] == "status" && len(args) == 1:
		return deployStatus(ctx, tc, name, out)
	case (args[0] == "current" || args[0] == "rollback") && len(args) == 2:
		set := SetCurrent
		if args[0] == "rollback" {
			set = Rollback
		}
		if err := set(ctx, tc, name, args[1], served, pollWait); err != nil {
			return err
		}
		_, err := fmt.Fprintf(out, "deployment %s: version %s is current\n", name, args[1])
		return err
	case args[0] == "ramp" && len(args) == 3:
		pct, err := strconv.ParseFloat(args[2], 32)
		if err != nil {
			return fmt.Errorf("ramp percentage %q: %w", args[2], err)
		}
		build := args[1]
		if build == "-" {
			build = ""
		}
		if err := Ramp(ctx, tc, name, build, float32(pct), served, pollWait); err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "deployment %s: ramping %q at %v%%\n", name, build, pct)
		return err
	}
	return errors.New(DeployUsage)
}

func deployStatus(ctx context.Context, tc client.Client, name string, out io.Writer) error {
	h := tc.WorkerDeploymentClient().GetHandle(name)
	desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		return fmt.Errorf("describe deployment %s: %w", name, err)
	}
	rc := desc.Info.RoutingConfig
	fmt.Fprintf(out, "deployment %s\n  current: %s\n", name, buildOf(rc.CurrentVersion))
	if rc.RampingVersion != nil {
		fmt.Fprintf(out, "  ramping: %s at %v%%\n", rc.RampingVersion.BuildID, rc.RampingVersionPercentage)
	}
	for _, v := range desc.Info.VersionSummaries {
		vd, err := h.DescribeVersion(ctx, client.WorkerDeploymentDescribeVersionOptions{BuildID: v.Version.BuildID})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  version %s (%s):", v.Version.BuildID, drainage(v.DrainageStatus))
		for _, q := range vd.Info.TaskQueuesInfos {
			fmt.Fprintf(out, " %s", ServedQueue{q.Name, q.Type})
		}
		fmt.Fprintln(out)
	}
	return nil
}

func buildOf(v *sdkworker.WorkerDeploymentVersion) string {
	if v == nil {
		return "unversioned workers"
	}
	return v.BuildID
}

// drainage says whether a version may still have open pinned runs.
func drainage(s client.WorkerDeploymentVersionDrainageStatus) string {
	switch s {
	case client.WorkerDeploymentVersionDrainageStatusDraining:
		return "draining: pinned runs may still be open"
	case client.WorkerDeploymentVersionDrainageStatusDrained:
		return "drained: its workers can be retired"
	}
	return "serving"
}
