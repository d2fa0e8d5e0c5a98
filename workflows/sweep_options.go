package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

var (
	// sweepMongo plans partitions and batches: Mongo reads that retry like every
	// Mongo step, but bounded, so a sweep never hangs past its Schedule's next slot by much.
	sweepMongo = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}

	// sweepMongoLocal reads a partition's bounds as a local activity: one
	// marker in TrackerSweep's history instead of an activity's three events
	// and a workflow task; retried like sweepMongo.
	sweepMongoLocal = workflow.LocalActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            sweepMongo.RetryPolicy,
	}

	// pollBatch calls a courier for one batch on the courier's own rate-limited
	// task queue. A 403/429 retries after the courier's back-off
	// (NextRetryDelay overrides the schedule below); a batch that still fails
	// after 30 minutes is counted and left to the next sweep.
	pollBatch = workflow.ActivityOptions{
		// A B2B batch makes up to batch_size sequential calls of request_timeout each.
		StartToCloseTimeout:    5 * time.Minute,
		ScheduleToCloseTimeout: 30 * time.Minute,
		// A worker that dies mid-poll is noticed in 20 s, not 5 min: `make
		// chaos` with the sweep on showed one SIGKILL stalling a sweep that long.
		HeartbeatTimeout: 4 * activities.PollHeartbeatInterval,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeUnknownTracker, activities.ErrTypeCourierNotConfigured},
		},
	}
)

// sa gives type-checked references to the sweep's activity methods; never dereferenced.
var sa *activities.SweepActivities
