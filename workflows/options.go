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

	// marketplaceLookup follows the in-house cron: a 5 s bounded read whose failure
	// leaves the source empty rather than holding up the CRM call.
	marketplaceLookup = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumAttempts:    3,
		},
	}

	// webhookDelivery retries 5xx, timeouts and 429 on the CRM webhook's
	// back-off (the activity returns each wait as NextRetryDelay; the policy
	// computes the same for a worker dying mid-POST) for up to three days; a
	// final 4xx or a deleted webhook stops at once.
	webhookDelivery = workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 72 * time.Hour,
		HeartbeatTimeout:       4 * activities.DeliveryHeartbeatInterval, // a dead worker is noticed in 12 s, not 2 min
		RetryPolicy:            activities.CRMWebhookRetry.RetryPolicy(activities.ErrTypeWebhookRejected, activities.ErrTypeWebhookConfig),
	}
)

// Revenue recovery's activity options.
var (
	// recoveryPayment charges through the payment processor. The idempotency
	// key makes every retry safe; declines are results, not errors.
	recoveryPayment = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeRecoveryConfig, activities.ErrTypePaymentRejected},
		},
	}

	// recoveryRecordBack tells the billing platform; it may be down for a while.
	recoveryRecordBack = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        10 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Minute,
			NonRetryableErrorTypes: []string{activities.ErrTypeRecoveryConfig, activities.ErrTypeRecordBackRejected},
		},
	}

	// recoveryWebhook follows the merchant webhook's list of delays: the
	// activity returns each as NextRetryDelay, then RecoveryWebhookGaveUp; the
	// policy's interval (the first delay) covers only a worker dying mid-POST.
	recoveryWebhook = workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 72 * time.Hour,
		RetryPolicy:            activities.MerchantWebhookRetry.RetryPolicy(activities.ErrTypeRecoveryConfig, activities.ErrTypeRecoveryWebhookGaveUp),
	}
)

// recoveryRecordState writes the recoveries record; past its window the
// recovery goes on and the next change writes it again.
var recoveryRecordState = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 10 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// ra gives type-checked references to the recovery activities.
var ra *activities.Recovery

// a gives type-checked references to activity methods; it is never dereferenced.
var a *activities.Activities
