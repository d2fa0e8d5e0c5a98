package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// changeLocalMongoSteps is the workflow.GetVersion change ID of running short,
// idempotent Mongo steps as local activities. Histories started before it
// replay their regular activities (workflows/testdata keeps such histories).
const changeLocalMongoSteps = "local-mongo-steps"

// localMongoRetryWindow bounds a local Mongo step's retries. A local activity
// needs a schedule-to-close timeout; this one is long enough that a store
// outage delays the work, as it does for mongoActivity, rather than failing it.
const localMongoRetryWindow = 30 * 24 * time.Hour

// mongoStepOptions are one Mongo step's options as a regular activity (for
// histories from before the change) and as a local activity.
type mongoStepOptions struct {
	activity workflow.ActivityOptions
	local    workflow.LocalActivityOptions
}

// asLocal keeps a regular activity's timeout and retry policy for its local
// form; without a schedule-to-close bound of its own it gets localMongoRetryWindow.
func asLocal(o workflow.ActivityOptions) mongoStepOptions {
	window := o.ScheduleToCloseTimeout
	if window == 0 {
		window = localMongoRetryWindow
	}
	return mongoStepOptions{activity: o, local: workflow.LocalActivityOptions{
		StartToCloseTimeout:    o.StartToCloseTimeout,
		ScheduleToCloseTimeout: window,
		RetryPolicy:            o.RetryPolicy,
	}}
}

var (
	mongoStep       = asLocal(mongoActivity)
	marketplaceStep = asLocal(marketplaceLookup)
)

// mongoSteps runs a workflow's short Mongo reads and idempotent writes. As
// local activities they cost one marker event each and no trip through the
// task queue (a regular activity costs three events and a workflow task), so
// a push, a status report or a first RTO reaches its side effect sooner and
// the server does a third of the work. That is safe only for idempotent steps:
// a local activity whose workflow task is lost runs again.
type mongoSteps struct {
	local bool
}

// newMongoSteps must be called at the same point of a workflow on every run
// (it records the version marker there).
func newMongoSteps(ctx workflow.Context) mongoSteps {
	return mongoSteps{local: workflow.GetVersion(ctx, changeLocalMongoSteps, workflow.DefaultVersion, 1) >= 1}
}

// run executes fn with args as a local activity, or as the regular activity a
// history from before changeLocalMongoSteps scheduled.
func (m mongoSteps) run(ctx workflow.Context, o mongoStepOptions, fn any, args ...any) workflow.Future {
	if m.local {
		return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, o.local), fn, args...)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o.activity), fn, args...)
}
