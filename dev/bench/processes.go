package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"orderflow/config"
	"orderflow/dev/bench/rig"
	"orderflow/tracking"
	"orderflow/workflows"
)

// workerProcesses are real worker binaries (cmd/worker) serving one stack's
// task queues, as a deployment scaled out to several pods runs them.
type workerProcesses struct {
	cmds []*exec.Cmd
}

// workerBinary builds cmd/worker once per run.
func (e *Env) workerBinary() (string, error) {
	if e.workerBin != "" {
		return e.workerBin, nil
	}
	root, err := rig.RepoRoot()
	if err != nil {
		return "", err
	}
	if e.binDir, err = os.MkdirTemp("", "orderflow-bench-bin-"); err != nil {
		return "", err
	}
	e.logf("building cmd/worker for the worker processes")
	if e.workerBin, err = rig.BuildBinary(root, e.binDir, "./cmd/worker"); err != nil {
		return "", err
	}
	return e.workerBin, nil
}

// startWorkerProcesses runs n worker binaries configured, through ORDERFLOW_*
// as in production, with cfg's Temporal, Mongo and courier settings, and
// waits until each polls the main task queue and every courier queue cfg
// enables. Their logs (errors only) go to stderr with the bench's.
func (e *Env) startWorkerProcesses(ctx context.Context, cfg config.Config, n int) (*workerProcesses, error) {
	bin, err := e.workerBinary()
	if err != nil {
		return nil, err
	}
	env := append(rig.ProcessEnv(cfg, apiKey, "error"), courierEnv(cfg.Couriers)...)
	w := &workerProcesses{}
	for range n {
		cmd := exec.Command(bin)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // none outlives the bench
		if err := cmd.Start(); err != nil {
			w.stop()
			return nil, fmt.Errorf("start worker: %w", err)
		}
		w.cmds = append(w.cmds, cmd)
	}
	queues := []string{cfg.Temporal.TaskQueue}
	for api, c := range cfg.Couriers.ByAPI() {
		if c.Enabled() {
			queues = append(queues, workflows.CourierTaskQueue(cfg.Temporal.TaskQueue, api))
		}
	}
	for _, q := range queues {
		if err := waitPollers(ctx, e.Temporal, q, n); err != nil {
			w.stop()
			return nil, err
		}
	}
	return w, nil
}

// waitPollers waits until n distinct workers poll queue's activity tasks.
func waitPollers(ctx context.Context, tc client.Client, queue string, n int) error {
	return waitUntil(ctx, time.Minute, fmt.Sprintf("%d workers polling %s", n, queue), func() (bool, error) {
		d, err := tc.DescribeTaskQueue(ctx, queue, enums.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			return false, err
		}
		return len(d.GetPollers()) >= n, nil
	})
}

// stop kills the workers: each stack has its own task queues, so nothing is left behind.
func (w *workerProcesses) stop() {
	for _, cmd := range w.cmds {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// courierEnv is the configured couriers' settings as ORDERFLOW_COURIERS_* variables.
func courierEnv(cs config.Couriers) []string {
	prefixes := map[string]string{tracking.APIDelhivery: "DELHIVERY_", tracking.APIDelhiveryB2B: "DELHIVERY_B2B_", tracking.APIShiprocket: "SHIPROCKET_"}
	var env []string
	for api, c := range cs.ByAPI() {
		p := "ORDERFLOW_COURIERS_" + prefixes[api]
		if !c.Enabled() {
			env = append(env, p+"BASE_URL=")
			continue
		}
		env = append(env,
			p+"BASE_URL="+c.BaseURL, p+"TOKEN="+c.Token, p+"USERNAME="+c.Username, p+"PASSWORD="+c.Password,
			p+"REQUESTS_PER_WINDOW="+strconv.Itoa(c.RequestsPerWindow), p+"WINDOW="+c.Window.String(),
			p+"SAFETY_MARGIN="+strconv.FormatFloat(c.SafetyMargin, 'g', -1, 64), p+"BATCH_SIZE="+strconv.Itoa(c.BatchSize),
			p+"REQUEST_TIMEOUT="+c.RequestTimeout.String(), p+"LIMIT_BACKOFF="+c.LimitBackoff.String())
	}
	return env
}
