package store_test

import (
	"context"
	"testing"
	"time"

	"orderflow/store"
)

// The breaker's transitions against a real Mongo wire protocol: N failures
// open it (once), one probe per interval, a 2xx closes it and starts
// draining, the drain's end clears it, a 410 disables it at once, and
// failing longer than DisableAfter disables it.
func TestEndpointHealthTransitions(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	fail := func(at time.Time) (store.EndpointHealth, string) {
		t.Helper()
		h, tr, err := s.RecordEndpointFailure(ctx, store.EndpointFailure{Kind: store.KindCRMWebhook, DestinationID: "w1", StatusCode: 503,
			At: at, Threshold: 2, HalfOpen: time.Minute, DisableAfter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return h, tr
	}
	if h, tr := fail(at); tr != store.TransitionNone || h.State != store.EndpointClosed || h.ConsecutiveFailures != 1 {
		t.Fatalf("first failure: %+v %q", h, tr)
	}
	if h, tr := fail(at.Add(time.Second)); tr != store.TransitionOpened || h.State != store.EndpointOpen {
		t.Fatalf("second failure: %+v %q, want opened", h, tr)
	}
	if _, tr := fail(at.Add(2 * time.Second)); tr != store.TransitionNone {
		t.Fatalf("third failure made transition %q", tr)
	}
	if won, err := s.ClaimEndpointProbe(ctx, store.KindCRMWebhook, "w1", time.Minute, at.Add(30*time.Second)); err != nil || won {
		t.Fatalf("probe claimed before the interval: %v %v", won, err)
	}
	probeAt := at.Add(2 * time.Minute)
	if won, err := s.ClaimEndpointProbe(ctx, store.KindCRMWebhook, "w1", time.Minute, probeAt); err != nil || !won {
		t.Fatalf("probe not claimed after the interval: %v %v", won, err)
	}
	if won, _ := s.ClaimEndpointProbe(ctx, store.KindCRMWebhook, "w1", time.Minute, probeAt); won {
		t.Fatal("a second probe claimed in the same interval")
	}
	if tr, err := s.RecordEndpointSuccess(ctx, store.KindCRMWebhook, "w1", probeAt); err != nil || tr != store.TransitionClosed {
		t.Fatalf("probe's 2xx: %q %v, want closed", tr, err)
	}
	h, err := s.EndpointHealthByID(ctx, store.KindCRMWebhook, "w1")
	if err != nil || h.State != store.EndpointClosed || !h.Draining || h.ConsecutiveFailures != 0 || !h.FailingSince.IsZero() {
		t.Fatalf("after the 2xx: %+v %v, want closed, draining, no failures", h, err)
	}
	if tr, _ := s.RecordEndpointSuccess(ctx, store.KindCRMWebhook, "w1", probeAt); tr != store.TransitionNone {
		t.Errorf("second 2xx made transition %q", tr)
	}
	if err := s.FinishEndpointDrain(ctx, store.KindCRMWebhook, "w1", probeAt); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordEndpointSuccess(ctx, store.KindCRMWebhook, "w1", probeAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.EndpointHealthByID(ctx, store.KindCRMWebhook, "w1"); h.Draining {
		t.Fatalf("drain finished but still draining: %+v", h)
	}

	// Failing longer than DisableAfter disables it, once.
	fail(at.Add(3 * time.Hour))
	if h, tr := fail(at.Add(4*time.Hour + time.Second)); tr != store.TransitionDisabled || h.State != store.EndpointDisabled {
		t.Fatalf("failing for an hour: %+v %q, want disabled", h, tr)
	}
	if _, tr := fail(at.Add(5 * time.Hour)); tr != store.TransitionNone {
		t.Errorf("disabled twice: %q", tr)
	}
	if h, err := s.EnableEndpoint(ctx, store.KindCRMWebhook, "w1", at.Add(6*time.Hour)); err != nil || h.State != store.EndpointClosed || !h.Draining || h.DisabledReason != "" {
		t.Fatalf("enabled: %+v %v", h, err)
	}

	// A 410 disables a fresh endpoint at once.
	if h, tr, err := s.DisableEndpoint(ctx, store.KindMerchantWebhook, "p1", "answered 410 Gone", at); err != nil || tr != store.TransitionDisabled || h.DisabledReason != "answered 410 Gone" {
		t.Fatalf("410: %+v %q %v", h, tr, err)
	}
	if _, err := s.EnableEndpoint(ctx, store.KindMerchantWebhook, "nobody", at); err != store.ErrNotFound {
		t.Errorf("enable unknown: %v, want ErrNotFound", err)
	}
}
