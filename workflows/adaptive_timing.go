package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
	"orderflow/recovery"
)

// changeAdaptiveTiming is the workflow.GetVersion change ID of the adaptive
// algorithm moving each retry to the best slot of its window. Only adaptive
// recoveries reach it, and none could start before it: the marker keeps the
// patching rule all the same.
const changeAdaptiveTiming = "adaptive-timing"

// recoveryAdaptivePlan reads the profile's statistics (cached by the worker);
// when it fails, the retry keeps the cascading time rather than wait.
var recoveryAdaptivePlan = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		NonRetryableErrorTypes: []string{activities.ErrTypeRecoveryConfig},
	},
}

// adaptiveSlot is when an adaptive recovery's next retry goes: the slot an
// activity picks between earliest (the cascading schedule's time) and a day
// later, never past the recovery's window, with the choice and its
// explanation kept for the recovery_state query. Other algorithms, and an
// adaptive retry whose statistics cannot be read, keep earliest. The card
// networks' rules are checked at the charge, wherever it lands.
func (w *revenueRecovery) adaptiveSlot(ctx workflow.Context, earliest time.Time) time.Time {
	if w.in.Policy.Algorithm != recovery.Adaptive ||
		workflow.GetVersion(ctx, changeAdaptiveTiming, workflow.DefaultVersion, 1) < 1 {
		return earliest
	}
	latest := earliest.Add(recovery.AdaptiveWindow)
	if end := w.st.StartedAt.Add(w.in.Policy.Span()); end.Before(latest) {
		latest = end
	}
	if latest.Before(earliest) { // the window ends first: no room to move
		latest = earliest
	}
	class := w.st.LastDecline.Class
	var choice recovery.SlotChoice
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, recoveryAdaptivePlan), ra.PlanAdaptiveRetry, activities.AdaptiveRetryInput{
		ProfileID: w.in.ProfileID, TimeZone: w.in.Policy.TimeZone, DeclineClass: class, Earliest: earliest, Latest: latest,
	}).Get(ctx, &choice)
	if err != nil || choice.At.Before(earliest) || choice.At.After(latest) {
		w.logger.Warn("adaptive timing unavailable; keeping the cascading time", "error", err)
		choice = recovery.SlotChoice{At: earliest, Class: string(class),
			Explanation: "cascading schedule: the retry statistics could not be read"}
	}
	w.st.RetryTiming = &choice
	return choice.At
}
