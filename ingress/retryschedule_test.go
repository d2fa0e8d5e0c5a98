package ingress

import (
	"errors"
	"testing"

	"orderflow/store"
	"orderflow/webhook"
)

func TestWebhookRetrySettingsRefuseBadValuesNamingTheField(t *testing.T) {
	num := func(n int) *int { return &n }
	coeff := func(c float64) *float64 { return &c }
	for _, tc := range []struct {
		retry *store.WebhookRetry
		field string
	}{
		{&store.WebhookRetry{InitialIntervalSeconds: num(0)}, "retry.initial_interval_seconds"},
		{&store.WebhookRetry{MaximumIntervalSeconds: num(-5)}, "retry.maximum_interval_seconds"},
		{&store.WebhookRetry{WindowSeconds: num(0)}, "retry.window_seconds"},
		{&store.WebhookRetry{WindowSeconds: num(259201)}, "retry.window_seconds"},
		{&store.WebhookRetry{BackoffCoefficient: coeff(0.5)}, "retry.backoff_coefficient"},
		{&store.WebhookRetry{InitialIntervalSeconds: num(900)}, "retry.maximum_interval_seconds"}, // above the default 10 min cap
	} {
		if got := fieldOf(t, validateWebhookRetry(tc.retry)); got != tc.field {
			t.Errorf("%+v: field %q, want %q", *tc.retry, got, tc.field)
		}
	}
	good := &store.WebhookRetry{InitialIntervalSeconds: num(1), MaximumIntervalSeconds: num(2), BackoffCoefficient: coeff(1), WindowSeconds: num(5)}
	if err := validateWebhookRetry(good); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
	if err := validateWebhookRetry(nil); err != nil {
		t.Errorf("no settings refused: %v", err)
	}
}

func TestProfileRetryDelaysRefuseBadValuesNamingTheField(t *testing.T) {
	for _, delays := range [][]int{{60, 0}, {-1}, {259200, 1}, {259201}} {
		if got := fieldOf(t, validateWebhookRetryDelays(delays)); got != "webhook_retry_delays_seconds" {
			t.Errorf("%v: field %q, want webhook_retry_delays_seconds", delays, got)
		}
	}
	for _, delays := range [][]int{nil, {1, 2, 3}, {259200}} {
		if err := validateWebhookRetryDelays(delays); err != nil {
			t.Errorf("%v refused: %v", delays, err)
		}
	}
}

// fieldOf is the field a validation error names; it fails the test for any other error.
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *webhook.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want a field error, got %v", err)
	}
	return fe.Field
}
