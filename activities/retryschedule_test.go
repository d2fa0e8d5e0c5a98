package activities

import (
	"reflect"
	"testing"
	"time"

	"orderflow/delivery"
	"orderflow/store"
)

func TestCRMWebhookScheduleOverridesOnlyWhatTheWebhookSets(t *testing.T) {
	if got := CRMWebhookSchedule(store.Webhook{}); !reflect.DeepEqual(got, CRMWebhookRetry) {
		t.Errorf("no retry settings: %+v, want the default %+v", got, CRMWebhookRetry)
	}
	initial, window, coeff := 5, 3600, 3.0
	got := CRMWebhookSchedule(store.Webhook{Retry: &store.WebhookRetry{InitialIntervalSeconds: &initial, BackoffCoefficient: &coeff, WindowSeconds: &window}})
	want := delivery.Schedule{Initial: 5 * time.Second, Coefficient: 3, Max: 10 * time.Minute, Window: time.Hour}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schedule %+v, want %+v", got, want)
	}
	if d, more := got.Next(2, 0); !more || d != 15*time.Second {
		t.Errorf("second wait %v (more %v), want 15s", d, more)
	}
}

func TestMerchantScheduleIsTheProfilesThenTheWorkersThenHyperswitchs(t *testing.T) {
	r := &Recovery{}
	if got := r.merchantSchedule(store.BusinessProfile{}); !reflect.DeepEqual(got.Delays, DefaultRecoveryWebhookRetryDelays) {
		t.Errorf("default delays %v, want Hyperswitch's %v", got.Delays, DefaultRecoveryWebhookRetryDelays)
	}
	if n := len(DefaultRecoveryWebhookRetryDelays); n != 16 || DefaultRecoveryWebhookRetryDelays[0] != time.Minute || DefaultRecoveryWebhookRetryDelays[n-1] != 6*time.Hour {
		t.Errorf("Hyperswitch's schedule changed: %v", DefaultRecoveryWebhookRetryDelays)
	}
	r.WebhookRetryDelays = []time.Duration{time.Second}
	if got := r.merchantSchedule(store.BusinessProfile{}); !reflect.DeepEqual(got.Delays, []time.Duration{time.Second}) {
		t.Errorf("worker delays %v, want [1s]", got.Delays)
	}
	prof := store.BusinessProfile{WebhookRetryDelaysSeconds: []int{2, 3}}
	got := r.merchantSchedule(prof)
	if !reflect.DeepEqual(got.Delays, []time.Duration{2 * time.Second, 3 * time.Second}) {
		t.Errorf("profile delays %v, want [2s 3s]", got.Delays)
	}
	if _, more := got.After(3); more {
		t.Error("a third retry after a profile's list of two")
	}
}
