package delhiveryb2b

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

func TestMapEveryLRStatus(t *testing.T) {
	for in, want := range map[string]couriers.Mapping{
		"MANIFESTED":                {Status: tracking.Booked, Kind: couriers.Forward},
		"NOT_PICKED":                {Status: tracking.Booked, Kind: couriers.Forward},
		"PICKED_UP":                 {Status: tracking.PickedUp, Kind: couriers.Forward},
		"LEFT_ORIGIN":               {Status: tracking.InTransit, Kind: couriers.Forward},
		"REACH_DESTINATION":         {Status: tracking.InTransit, Kind: couriers.Forward},
		"UNDEL_REATTEMPT":           {Status: tracking.NDR, Kind: couriers.Forward},
		"PART_DEL":                  {Status: tracking.Delivered, Kind: couriers.Forward},
		"OFD":                       {Status: tracking.OutForDelivery, Kind: couriers.Forward},
		"DELIVERED":                 {Status: tracking.Delivered, Kind: couriers.Forward},
		"LOST":                      {Status: tracking.Lost, Kind: couriers.Forward},
		"RETURNED_INTRANSIT":        {Status: tracking.RTOInTransit, Kind: couriers.RTO},
		"RECEIVED_AT_RETURN_CENTER": {Status: tracking.RTOInTransit, Kind: couriers.RTO},
		"RETURN_OFD":                {Status: tracking.RTOInTransit, Kind: couriers.RTO},
		"RETURN_DELIVERED":          {Status: tracking.RTODelivered, Kind: couriers.RTO},
		"returned_intransit":        {Status: tracking.RTOInTransit, Kind: couriers.RTO},
		"RETURNED":                  {Kind: couriers.Unknown}, // not in the published list: not guessed
		"":                          {Kind: couriers.Unknown},
	} {
		if got := Map(in); got != want {
			t.Errorf("Map(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// The tracking may answer with a human-readable string instead of the code:
// both forms of every status map alike, whatever their case and separators.
func TestHumanReadableAndCodeFormsMapAlike(t *testing.T) {
	for human, code := range map[string]string{
		"Manifested":                "MANIFESTED",
		"Not Picked":                "NOT_PICKED",
		"Picked Up":                 "PICKED_UP",
		"In Transit":                "LEFT_ORIGIN",
		"Left Origin":               "LEFT_ORIGIN",
		"Reached Destination":       "REACH_DESTINATION",
		"Undelivered - Reattempt":   "UNDEL_REATTEMPT",
		"Out for Delivery":          "OFD",
		"out-for-delivery":          "OFD",
		"Partially Delivered":       "PART_DEL",
		"Delivered":                 "DELIVERED",
		"  delivered ":              "DELIVERED",
		"Lost":                      "LOST",
		"Returned In Transit":       "RETURNED_INTRANSIT",
		"RTO In Transit":            "RETURNED_INTRANSIT",
		"Received at Return Centre": "RECEIVED_AT_RETURN_CENTER",
		"Return Out for Delivery":   "RETURN_OFD",
		"Return Delivered":          "RETURN_DELIVERED",
		"RTO Delivered":             "RETURN_DELIVERED",
	} {
		if got, want := Map(human), Map(code); got != want || got.Kind == couriers.Unknown {
			t.Errorf("Map(%q) = %+v, want %+v as for %s", human, got, want, code)
		}
	}
	for _, unknown := range []string{"Returned", "Return", "In", "Transit In", "RTO"} {
		if got := Map(unknown); got.Kind != couriers.Unknown {
			t.Errorf("Map(%q) = %+v, want Unknown (not guessed)", unknown, got)
		}
	}
}

func TestParseRealBodies(t *testing.T) {
	body, _ := os.ReadFile("testdata/track.json")
	got, err := Parse(body, "220011223")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Found || got.Mapping.Status != tracking.RTOInTransit || got.Raw != "RETURNED_INTRANSIT" {
		t.Errorf("%+v", got)
	}
	// The latest scan, IST without offset.
	if want := time.Date(2026, 8, 26, 4, 50, 0, 0, time.UTC); !got.EventTime.Equal(want) {
		t.Errorf("event time %v, want %v", got.EventTime, want)
	}
	body, _ = os.ReadFile("testdata/not_found.json")
	if got, err := Parse(body, "1"); err != nil || got.Found {
		t.Errorf("not found: %+v %v", got, err)
	}
}

func TestLoginOnceForManyConcurrentCallsAndOnceMoreAfter401(t *testing.T) {
	login, _ := os.ReadFile("testdata/login.json")
	track, _ := os.ReadFile("testdata/track.json")
	var jwt struct {
		Data struct{ JWT string } `json:"data"`
	}
	_ = json.Unmarshal(login, &jwt)
	var logins, tracks atomic.Int32
	var reject atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case LoginPath:
			var in map[string]string
			_ = json.NewDecoder(r.Body).Decode(&in)
			if in["username"] != "u" || in["password"] != "pw-SECRET" {
				http.Error(w, "bad credentials", 401)
				return
			}
			logins.Add(1)
			reject.Store(false)
			_, _ = w.Write(login)
		case TrackPath:
			tracks.Add(1)
			if r.Header.Get("Authorization") != "Bearer "+jwt.Data.JWT || reject.Load() {
				http.Error(w, "expired", 401)
				return
			}
			_, _ = w.Write(track)
		}
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Username: "u", Password: "pw-SECRET", Timeout: 5 * time.Second, LimitBackoff: time.Minute})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s, err := c.trackLR(context.Background(), "220011223"); err != nil || !s.Found {
				t.Errorf("%+v %v", s, err)
			}
		}()
	}
	wg.Wait()
	if logins.Load() != 1 || c.Logins() != 1 {
		t.Fatalf("8 calls made %d logins, want 1", logins.Load())
	}
	reject.Store(true) // the server revokes the token: one new login, then success
	if s, err := c.trackLR(context.Background(), "220011223"); err != nil || !s.Found {
		t.Fatalf("%+v %v", s, err)
	}
	if logins.Load() != 2 || tracks.Load() != 10 {
		t.Errorf("logins %d tracks %d, want 2 and 10", logins.Load(), tracks.Load())
	}
}

func TestTokenExpiryComesFromTheJWT(t *testing.T) {
	login, _ := os.ReadFile("testdata/login.json")
	var out struct {
		Data struct{ JWT string } `json:"data"`
	}
	_ = json.Unmarshal(login, &out)
	def := time.Unix(1, 0)
	if got := jwtExpiry(out.Data.JWT, def); !got.Equal(time.Unix(4102444800, 0)) {
		t.Errorf("exp %v", got)
	}
	if got := jwtExpiry("not-a-jwt", def); !got.Equal(def) {
		t.Errorf("default %v", got)
	}
}

func TestRateLimitedTrackBecomesBackOff(t *testing.T) {
	login, _ := os.ReadFile("testdata/login.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == LoginPath {
			_, _ = w.Write(login)
			return
		}
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Username: "u", Password: "p", Timeout: 5 * time.Second, LimitBackoff: time.Minute})
	_, err := c.Track(context.Background(), []string{"1"})
	var rl *couriers.RateLimitedError
	if !errors.As(err, &rl) || rl.Wait != 2*time.Minute || rl.StatusCode != 429 {
		t.Fatalf("got %v", err)
	}
}

func TestTrackAsksEachLRInACallOfItsOwnAndStopsAtTheFirstError(t *testing.T) {
	login, _ := os.ReadFile("testdata/login.json")
	track, _ := os.ReadFile("testdata/track.json")
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch lr := r.URL.Query().Get("lrnum"); {
		case r.URL.Path == LoginPath:
			_, _ = w.Write(login)
		case lr == "broken":
			asked = append(asked, lr)
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			asked = append(asked, lr)
			_, _ = w.Write(track)
		}
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Username: "u", Password: "p", Timeout: 5 * time.Second, LimitBackoff: time.Minute})
	got, err := c.Track(context.Background(), []string{"220011223", "broken", "never"})
	if err == nil || len(got) != 1 || got[0].AWB != "220011223" || !got[0].Found {
		t.Fatalf("got %+v, %v; want the first LR's shipment and the second's error", got, err)
	}
	if len(asked) != 2 || asked[0] != "220011223" || asked[1] != "broken" {
		t.Errorf("asked %v, want one call per LR up to the failing one", asked)
	}
	if c.API() != tracking.APIDelhiveryB2B || c.MaxPerCall() != 1 {
		t.Errorf("API %q, MaxPerCall %d", c.API(), c.MaxPerCall())
	}
}
