package workflows

import (
	"reflect"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"orderflow/activities"
)

// The webhook retry policies are derived from the sender's schedules; these
// are the timings both deliveries have always had.
func TestWebhookRetryPoliciesKeepTheirTimings(t *testing.T) {
	crm := &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeWebhookRejected, activities.ErrTypeWebhookConfig}}
	if !reflect.DeepEqual(webhookDelivery.RetryPolicy, crm) {
		t.Errorf("CRM webhook policy %+v, want %+v", webhookDelivery.RetryPolicy, crm)
	}
	merchant := &temporal.RetryPolicy{InitialInterval: time.Minute, BackoffCoefficient: 1,
		NonRetryableErrorTypes: []string{activities.ErrTypeRecoveryConfig, activities.ErrTypeRecoveryWebhookGaveUp}}
	if !reflect.DeepEqual(recoveryWebhook.RetryPolicy, merchant) {
		t.Errorf("merchant webhook policy %+v, want %+v", recoveryWebhook.RetryPolicy, merchant)
	}
	// Hyperswitch's outgoing webhook schedule: +1 m, 5 m ×2, 10 m ×5, 1 h ×5, 6 h ×3.
	var total time.Duration
	for n := 1; ; n++ {
		d, more := activities.MerchantWebhookRetry.After(n)
		if !more {
			if n != 17 {
				t.Errorf("merchant schedule gives up after attempt %d, want 17 (16 retries)", n)
			}
			break
		}
		total += d
	}
	if want := time.Minute + 10*time.Minute + 50*time.Minute + 5*time.Hour + 18*time.Hour; total != want {
		t.Errorf("merchant schedule spans %v, want %v", total, want)
	}
}
