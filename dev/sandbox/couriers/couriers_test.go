package couriers

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"orderflow/tracking"
	ocouriers "orderflow/tracking/couriers"
	"orderflow/tracking/couriers/delhivery"
	"orderflow/tracking/couriers/delhiveryb2b"
	"orderflow/tracking/couriers/shiprocket"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The sandbox enforces its window the way the couriers do, and the real
// clients read its answers: so a sweep that sees no 403 really stayed under it.
func TestSandboxEnforcesEachCouriersWindowAndSpeaksTheClientsFormat(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	o := DefaultOptions()
	o.DelhiveryLimit, o.B2BLimit, o.ShiprocketLimit, o.Window, o.Now = 3, 2, 2, time.Minute, clk.now
	sb := New(o)
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	ctx := context.Background()
	sb.SetDelhivery("W1", DelhiveryStatus{Status: "In Transit", StatusType: "RT", StatusCode: "RT-101"})
	sb.SetB2B("LR1", "RETURN_DELIVERED")
	sb.SetShiprocket("S1", ShiprocketStatus{Code: 46, Label: "RTO In Transit", IsReturn: true})

	dl := delhivery.New(delhivery.Options{BaseURL: srv.URL, Token: o.DelhiveryToken, Timeout: 5 * time.Second, LimitBackoff: time.Minute})
	for i := range 3 {
		got, err := dl.Track(ctx, []string{"W1", "NOPE"})
		if err != nil || !got[0].Found || got[0].Mapping.Status != tracking.RTOInTransit || got[1].Found {
			t.Fatalf("call %d: %+v %v", i, got, err)
		}
	}
	var rl *ocouriers.RateLimitedError
	if _, err := dl.Track(ctx, []string{"W1"}); !errors.As(err, &rl) || rl.StatusCode != 403 {
		t.Fatalf("4th call in the window: %v, want 403", err)
	}
	if st := sb.Stats(tracking.APIDelhivery); st.Calls != 3 || st.Rejected != 1 {
		t.Errorf("stats %+v", st)
	}
	if !sb.Seen("W1") || sb.Seen("S1") {
		t.Error("seen marks")
	}

	sr := shiprocket.New(shiprocket.Options{BaseURL: srv.URL, Email: o.ShiprocketEmail, Password: o.ShiprocketPassword, Timeout: 5 * time.Second})
	for range 2 {
		got, err := sr.Track(ctx, []string{"S1", "NOPE"})
		if err != nil || got[0].Mapping.Kind != ocouriers.CustomerReturn || got[1].Found {
			t.Fatalf("%+v %v", got, err)
		}
	}
	clk.add(20 * time.Second)
	if _, err := sr.Track(ctx, []string{"S1"}); !errors.As(err, &rl) || rl.StatusCode != 429 || rl.Wait != 40*time.Second {
		t.Fatalf("3rd Shiprocket call: %v, want 429 with Retry-After 40", err)
	}

	b2b := delhiveryb2b.New(delhiveryb2b.Options{BaseURL: srv.URL, Username: o.B2BUsername, Password: o.B2BPassword, Timeout: 5 * time.Second, LimitBackoff: time.Minute, Now: clk.now})
	trackLR := func(lr string) (ocouriers.Shipment, error) {
		got, err := b2b.Track(ctx, []string{lr})
		if len(got) == 0 {
			return ocouriers.Shipment{}, err
		}
		return got[0], err
	}
	if s, err := trackLR("LR1"); err != nil || s.Mapping.Status != tracking.RTODelivered {
		t.Fatalf("%+v %v", s, err)
	}
	if s, err := trackLR("LR-unknown"); err != nil || s.Found {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := trackLR("LR1"); !errors.As(err, &rl) || rl.StatusCode != 403 {
		t.Fatalf("3rd B2B call: %v, want 403", err)
	}
	clk.add(time.Minute) // the window slides past: calls pass again, on the same cached JWT
	if _, err := dl.Track(ctx, []string{"W1"}); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if _, err := trackLR("LR1"); err != nil || sb.Stats(tracking.APIDelhiveryB2B).Logins != 1 {
		t.Errorf("after the window: %v, logins %d", err, sb.Stats(tracking.APIDelhiveryB2B).Logins)
	}

	bad := delhivery.New(delhivery.Options{BaseURL: srv.URL, Token: "wrong", Timeout: 5 * time.Second, LimitBackoff: time.Minute})
	if _, err := bad.Track(ctx, []string{"W1"}); err == nil || errors.As(err, &rl) {
		t.Errorf("a wrong token must be refused (401), got %v", err)
	}
}
