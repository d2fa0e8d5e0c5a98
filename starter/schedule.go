package starter

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"orderflow/config"
	"orderflow/temporalclient"
	"orderflow/tracking"
	"orderflow/workflows"
)

// SweepInput is the TrackingSweep input the Schedule passes, from config: the
// trackers whose courier API is configured, in tracking.Trackers order, with
// their API's batch size, and the fan-out sizes. A fallback tracker runs only
// when a primary tracker of one of its couriers does: only a primary marks
// the orders it found no data for.
func SweepInput(cfg config.Config) workflows.TrackingSweepInput {
	apis := cfg.Couriers.ByAPI()
	var trackers []workflows.TrackerSettings
	for _, tr := range tracking.Trackers {
		api := apis[tr.API]
		if !api.Enabled() || (tr.Fallback && !primaryRuns(tr, apis)) {
			continue
		}
		trackers = append(trackers, workflows.TrackerSettings{Name: tr.Name, BatchSize: api.BatchSize})
	}
	s := cfg.Sweep
	return workflows.TrackingSweepInput{Trackers: trackers, SweepSizes: workflows.SweepSizes{
		PartitionSize: s.PartitionSize, MaxParallelPartitions: s.MaxParallelPartitions,
		MaxParallelPolls: s.MaxParallelPolls, PartitionsPerRun: s.PartitionsPerRun,
	}}
}

// primaryRuns reports whether a configured primary tracker polls one of the
// fallback's couriers through another API.
func primaryRuns(fallback tracking.Tracker, apis map[string]config.Courier) bool {
	for _, tr := range tracking.Trackers {
		if !tr.Fallback && tr.API != fallback.API && apis[tr.API].Enabled() &&
			slices.ContainsFunc(tr.CourierNames, func(n string) bool { return slices.Contains(fallback.CourierNames, n) }) {
			return true
		}
	}
	return false
}

func scheduleParts(cfg config.Config) (client.ScheduleSpec, *client.ScheduleWorkflowAction, client.SchedulePolicies) {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.Sweep.Every}}}
	action := &client.ScheduleWorkflowAction{
		// Runs get IDs "<schedule id>-<slot time>": unique per slot.
		ID:        cfg.Sweep.ScheduleID,
		Workflow:  workflows.TrackingSweep,
		Args:      []any{SweepInput(cfg)},
		TaskQueue: cfg.Temporal.TaskQueue,
		// A sweep is bounded by its poll activities' timeouts; this is a backstop.
		WorkflowRunTimeout: 2 * time.Hour,
	}
	policy := client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: cfg.Sweep.CatchupWindow}
	return spec, action, policy
}

// ApplySchedule creates the tracking sweep's Schedule, or updates it to match
// the config (interval, input, overlap SKIP, catch-up window), keeping its
// paused state. It reports whether it created it.
func ApplySchedule(ctx context.Context, c client.Client, cfg config.Config) (bool, error) {
	spec, action, policy := scheduleParts(cfg)
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: cfg.Sweep.ScheduleID, Spec: spec, Action: action,
		Overlap: policy.Overlap, CatchupWindow: policy.CatchupWindow,
		Note: "created by starter schedule apply",
	})
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return false, fmt.Errorf("schedule: create %s: %w", cfg.Sweep.ScheduleID, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, cfg.Sweep.ScheduleID)
	var before time.Time
	err = h.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			before = in.Description.Info.LastUpdateAt
			s := in.Description.Schedule
			s.Spec, s.Action, s.Policy = &spec, action, &policy
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return false, fmt.Errorf("schedule: update %s: %w", cfg.Sweep.ScheduleID, err)
	}
	return false, awaitUpdate(ctx, h, before)
}

// awaitUpdate waits until the scheduler has applied an update. The update
// carries the whole schedule, state included, and reaches the scheduler as a
// signal: a pause sent right after it could otherwise be applied first and
// then overwritten.
func awaitUpdate(ctx context.Context, h client.ScheduleHandle, before time.Time) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := h.Describe(ctx)
		if err != nil {
			return fmt.Errorf("schedule: describe %s: %w", h.GetID(), err)
		}
		if d.Info.LastUpdateAt.After(before) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("schedule: %s: the update is not applied after 30s", h.GetID())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ScheduleUsage lists the schedule commands.
const ScheduleUsage = `usage: starter schedule [-config file] <command>
  apply                          create the tracking sweep's Schedule or update it to match the config
  trigger                        start a sweep now (skipped if one is running: overlap SKIP)
  pause [-note text]             stop starting sweeps
  unpause [-note text]           start sweeps again
  backfill -from T -to T         run the slots of [from, to] that were missed (RFC 3339 times; at most one buffered)
  describe                       show the Schedule's state, recent and next runs as JSON`

// ScheduleCommand runs one `starter schedule` command against the Temporal frontend in cfg.
func ScheduleCommand(ctx context.Context, cfg config.Config, logger *zap.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(ScheduleUsage)
	}
	tc, err := temporalclient.Dial(cfg.Temporal, logger, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	return runSchedule(ctx, tc, cfg, args, out)
}

func runSchedule(ctx context.Context, tc client.Client, cfg config.Config, args []string, out io.Writer) error {
	h := tc.ScheduleClient().GetHandle(ctx, cfg.Sweep.ScheduleID)
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	note := fs.String("note", "", "note recorded on the Schedule")
	from := fs.String("from", "", "backfill start (RFC 3339)")
	to := fs.String("to", "", "backfill end (RFC 3339)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "apply":
		created, err := ApplySchedule(ctx, tc, cfg)
		if err != nil {
			return err
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		_, err = fmt.Fprintf(out, "schedule %s %s: TrackingSweep every %s on %s, overlap SKIP, catch-up window %s\n",
			cfg.Sweep.ScheduleID, verb, cfg.Sweep.Every, cfg.Temporal.TaskQueue, cfg.Sweep.CatchupWindow)
		return err
	case "trigger":
		return done(out, "triggered", h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	case "pause":
		return done(out, "paused", h.Pause(ctx, client.SchedulePauseOptions{Note: *note}))
	case "unpause":
		return done(out, "unpaused", h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: *note}))
	case "backfill":
		start, err1 := time.Parse(time.RFC3339, *from)
		end, err2 := time.Parse(time.RFC3339, *to)
		if err1 != nil || err2 != nil || !end.After(start) {
			return errors.New("backfill: -from and -to must be RFC 3339 times with from < to")
		}
		return done(out, "backfilled", h.Backfill(ctx, client.ScheduleBackfillOptions{Backfill: []client.ScheduleBackfill{{
			Start: start, End: end,
			// Polling reads the current state: one catch-up sweep after the running one is enough.
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
		}}}))
	case "describe":
		d, err := h.Describe(ctx)
		if err != nil {
			return err
		}
		return describe(out, d)
	}
	return errors.New(ScheduleUsage)
}

func done(out io.Writer, what string, err error) error {
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, "schedule", what)
	return err
}

func describe(out io.Writer, d *client.ScheduleDescription) error {
	view := map[string]any{
		"actions":               d.Info.NumActions,
		"skipped_overlap":       d.Info.NumActionsSkippedOverlap,
		"missed_catchup_window": d.Info.NumActionsMissedCatchupWindow,
		"next_action_times":     d.Info.NextActionTimes,
		"running":               d.Info.RunningWorkflows,
		"recent_actions":        d.Info.RecentActions,
	}
	if st := d.Schedule.State; st != nil {
		view["paused"], view["note"] = st.Paused, st.Note
	}
	if p := d.Schedule.Policy; p != nil {
		view["overlap"], view["catchup_window"] = p.Overlap.String(), p.CatchupWindow.String()
	}
	if s := d.Schedule.Spec; s != nil && len(s.Intervals) > 0 {
		view["every"] = s.Intervals[0].Every.String()
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(view)
}
