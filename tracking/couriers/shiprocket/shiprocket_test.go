package shiprocket

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

func TestMapEveryCodeAndTheReturnTrap(t *testing.T) {
	rtoFamily := map[int]bool{9: true, 10: true, 14: true, 40: true, 41: true, 46: true, 75: true, 78: true}
	for code, m := range codes {
		if (m.Kind == couriers.RTO) != rtoFamily[code] {
			t.Errorf("code %d: kind %s", code, m.Kind)
		}
		if m.Status != "" && !tracking.IsCanonical(m.Status) {
			t.Errorf("code %d maps to non-canonical %q", code, m.Status)
		}
		if rtoFamily[code] != tracking.IsRTO(m.Status) {
			t.Errorf("code %d: status %q", code, m.Status)
		}
		// A return shipment reuses forward labels: never RTO.
		if r := Map(code, true); r.Kind != couriers.CustomerReturn || tracking.IsRTO(r.Status) {
			t.Errorf("return shipment code %d: %+v", code, r)
		}
	}
	for code, want := range map[int]couriers.Mapping{
		6: {Status: tracking.InTransit, Kind: couriers.Forward}, 7: {Status: tracking.Delivered, Kind: couriers.Forward},
		8: {Status: tracking.Cancelled, Kind: couriers.Forward}, 9: {Status: tracking.RTO, Kind: couriers.RTO},
		10: {Status: tracking.RTODelivered, Kind: couriers.RTO}, 12: {Status: tracking.Lost, Kind: couriers.Forward},
		14: {Status: tracking.RTO, Kind: couriers.RTO}, 17: {Status: tracking.OutForDelivery, Kind: couriers.Forward},
		18: {Status: tracking.InTransit, Kind: couriers.Forward}, 21: {Status: tracking.NDR, Kind: couriers.Forward},
		40: {Status: tracking.RTOInTransit, Kind: couriers.RTO}, 41: {Status: tracking.RTOInTransit, Kind: couriers.RTO},
		42: {Status: tracking.PickedUp, Kind: couriers.Forward}, 45: {Status: tracking.Cancelled, Kind: couriers.Forward},
		46: {Status: tracking.RTOInTransit, Kind: couriers.RTO}, 75: {Status: tracking.RTO, Kind: couriers.RTO},
		78: {Status: tracking.RTOInTransit, Kind: couriers.RTO}, 16: {Kind: couriers.Forward},
		0: {Kind: couriers.Unknown}, 99: {Kind: couriers.Unknown}, 30: {Kind: couriers.Unknown},
	} {
		if got := Map(code, false); got != want {
			t.Errorf("Map(%d) = %+v, want %+v", code, got, want)
		}
	}
	// A return shipment is a customer return, never RTO: delivered back is
	// returned, its journey return, its cancellation or RTO codes nothing.
	for code, want := range map[int]string{7: tracking.Returned, 10: tracking.Returned, 6: tracking.Return,
		42: tracking.Return, 17: tracking.Return, 8: "", 9: "", 40: "", 16: ""} {
		if got := Map(code, true); got != (couriers.Mapping{Status: want, Kind: couriers.CustomerReturn}) {
			t.Errorf("Map(%d, return) = %+v, want %q", code, got, want)
		}
	}
}

func TestParseRealBody(t *testing.T) {
	body, err := os.ReadFile("testdata/track_awbs.json")
	if err != nil {
		t.Fatal(err)
	}
	asked := []string{"19041123450001", "19041123450002", "19041123450003", "19041123450004", "19041123450005", "19041123450006"}
	got, err := Parse(body, asked)
	if err != nil {
		t.Fatal(err)
	}
	// Forward delivered, although a scan location reads "RTO/CHD".
	if !got[0].Found || got[0].Mapping != (couriers.Mapping{Status: tracking.Delivered, Kind: couriers.Forward}) {
		t.Errorf("delivered: %+v", got[0])
	}
	if want := time.Date(2026, 8, 25, 11, 10, 0, 0, time.UTC); !got[0].EventTime.Equal(want) {
		t.Errorf("event time %v, want %v (newest activity, IST)", got[0].EventTime, want)
	}
	if got[1].Mapping != (couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}) || got[1].Raw != "46/RTO IN TRANSIT" {
		t.Errorf("RTO: %+v", got[1])
	}
	// shipment_status as a string and is_return as "1": a customer return, not RTO.
	if !got[2].Found || got[2].Mapping.Kind != couriers.CustomerReturn || got[2].Mapping.Status != "" {
		t.Errorf("return: %+v", got[2])
	}
	for i := 3; i < 6; i++ { // {}, track_status 0 with an error, absent
		if got[i].Found {
			t.Errorf("%s must be not found: %+v", asked[i], got[i])
		}
	}
}

func TestLoginCachedAnd429BecomesBackOffFromRetryAfter(t *testing.T) {
	body, _ := os.ReadFile("testdata/track_awbs.json")
	var logins, tracks atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case LoginPath:
			var in map[string]string
			_ = json.NewDecoder(r.Body).Decode(&in)
			if in["email"] != "ops@example.com" || in["password"] != "pw-SECRET" {
				http.Error(w, `{"message":"Invalid email and password combination"}`, 400)
				return
			}
			logins.Add(1)
			_, _ = w.Write([]byte(`{"company_id":1,"email":"ops@example.com","token":"sr-token-SECRET"}`))
		case TrackPath:
			if r.Header.Get("Authorization") != "Bearer sr-token-SECRET" {
				http.Error(w, "unauthorized", 401)
				return
			}
			var in struct{ AWBs []string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			if len(in.AWBs) == 0 {
				t.Error("no awbs in body")
			}
			if tracks.Add(1) == 3 {
				w.Header().Set("Retry-After", "17")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			_, _ = w.Write(body)
		}
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Email: "ops@example.com", Password: "pw-SECRET", Timeout: 5 * time.Second, LimitBackoff: time.Minute})
	for range 2 {
		if got, err := c.Track(context.Background(), []string{"19041123450002"}); err != nil || !got[0].Found {
			t.Fatalf("%+v %v", got, err)
		}
	}
	_, err := c.Track(context.Background(), []string{"19041123450002"})
	var rl *couriers.RateLimitedError
	if !errors.As(err, &rl) || rl.Wait != 17*time.Second {
		t.Fatalf("429 must carry Retry-After: %v", err)
	}
	if logins.Load() != 1 {
		t.Errorf("%d logins for 3 calls, want 1", logins.Load())
	}
	bad := New(Options{BaseURL: srv.URL, Email: "ops@example.com", Password: "wrong", Timeout: 5 * time.Second})
	if _, err := bad.Track(context.Background(), []string{"1"}); err == nil {
		t.Error("wrong credentials must fail")
	}
}
