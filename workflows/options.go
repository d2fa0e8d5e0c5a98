package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

// Activity options. Every activity gets an explicit timeout and retry policy.
var (
	// mongoActivity reads or writes MongoDB. It retries without limit: an
	// outage of the store must delay an RTO, never drop it.
	mongoActivity = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}

	// marketplaceLookup follows seed 000: a 5 s bounded read whose failure
	// leaves the source empty rather than holding up the CRM call.
	marketplaceLookup = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumAttempts:    3,
		},
	}

	// webhookDelivery retries 5xx, timeouts and 429 with back-off for up to
	// three days; a final 4xx or a deleted webhook stops at once.
	webhookDelivery = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 72 * time.Hour,
		HeartbeatTimeout:       4 * activities.DeliveryHeartbeatInterval, // a dead worker is noticed in 12 s, not 2 min
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeWebhookRejected, activities.ErrTypeWebhookConfig},
		},
	}
)

// a gives type-checked references to activity methods; it is never dereferenced.
var a *activities.Activities
