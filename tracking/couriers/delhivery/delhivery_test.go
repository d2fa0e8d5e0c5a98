package delhivery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/couriers"
)

func TestMapCoversTheTableAndItsTraps(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Status
		want couriers.Mapping
	}{
		{"manifested", Status{Status: "Manifested", StatusType: "UD"}, couriers.Mapping{Status: tracking.Booked, Kind: couriers.Forward}},
		{"not picked", Status{Status: "Not Picked", StatusType: "UD", StatusCode: "X-UCI"}, couriers.Mapping{Status: tracking.Booked, Kind: couriers.Forward}},
		{"forward in transit", Status{Status: "In Transit", StatusType: "UD", StatusCode: "X-PPOM"}, couriers.Mapping{Status: tracking.InTransit, Kind: couriers.Forward}},
		{"forward pending", Status{Status: "Pending", StatusType: "UD"}, couriers.Mapping{Status: tracking.InTransit, Kind: couriers.Forward}},
		{"dispatched is out for delivery", Status{Status: "Dispatched", StatusType: "UD"}, couriers.Mapping{Status: tracking.OutForDelivery, Kind: couriers.Forward}},
		{"delivered", Status{Status: "Delivered", StatusType: "DL"}, couriers.Mapping{Status: tracking.Delivered, Kind: couriers.Forward}},
		{"lost", Status{Status: "LOST", StatusType: "UD"}, couriers.Mapping{Status: tracking.Lost, Kind: couriers.Forward}},
		{"NDR code on pending", Status{Status: "Pending", StatusType: "UD", StatusCode: "EOD-74"}, couriers.Mapping{Status: tracking.NDR, Kind: couriers.Forward}},
		{"NDR ST-108", Status{Status: "Pending", StatusType: "UD", StatusCode: "ST-108"}, couriers.Mapping{Status: tracking.NDR, Kind: couriers.Forward}},
		{"RT in transit is RTO", Status{Status: "In Transit", StatusType: "RT", StatusCode: "RT-101"}, couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}},
		{"RT pending is RTO", Status{Status: "Pending", StatusType: "RT"}, couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}},
		{"RT dispatched is RTO out for delivery", Status{Status: "Dispatched", StatusType: "RT"}, couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}},
		{"DL+RTO is rto delivered", Status{Status: "RTO", StatusType: "DL"}, couriers.Mapping{Status: tracking.RTODelivered, Kind: couriers.RTO}},
		{"UD with RTOStartedDate is RTO", Status{Status: "In Transit", StatusType: "UD", RTOStarted: true}, couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}},
		{"UD with ReverseInTransit is RTO", Status{Status: "Pending", StatusType: "UD", ReverseInTransit: true}, couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}},
		// Traps: customer returns are never RTO.
		{"PP open is a customer return", Status{Status: "Open", StatusType: "PP"}, couriers.Mapping{Status: tracking.Return, Kind: couriers.CustomerReturn}},
		{"PP scheduled", Status{Status: "Scheduled", StatusType: "PP"}, couriers.Mapping{Status: tracking.Return, Kind: couriers.CustomerReturn}},
		{"PU in transit is a customer return", Status{Status: "In Transit", StatusType: "PU", RTOStarted: false}, couriers.Mapping{Status: tracking.Return, Kind: couriers.CustomerReturn}},
		{"PU in transit with ReverseInTransit is still a customer return", Status{Status: "In Transit", StatusType: "PU", ReverseInTransit: true}, couriers.Mapping{Status: tracking.Return, Kind: couriers.CustomerReturn}},
		{"PU dispatched", Status{Status: "Dispatched", StatusType: "PU"}, couriers.Mapping{Status: tracking.Return, Kind: couriers.CustomerReturn}},
		{"DL+DTO is a completed customer return", Status{Status: "DTO", StatusType: "DL"}, couriers.Mapping{Status: tracking.Returned, Kind: couriers.CustomerReturn}},
		// Traps: cancelled parcels.
		{"seller-cancelled stays UD Not Picked DTUP-210", Status{Status: "Not Picked", StatusType: "UD", StatusCode: "DTUP-210"}, couriers.Mapping{Status: tracking.Cancelled, Kind: couriers.Forward}},
		{"cancelled reading Returned is not RTO", Status{Status: "Returned", StatusType: "CN"}, couriers.Mapping{Status: tracking.Cancelled, Kind: couriers.Forward}},
		{"UD Returned is not RTO", Status{Status: "Returned", StatusType: "UD"}, couriers.Mapping{Status: tracking.Cancelled, Kind: couriers.Forward}},
		{"CN canceled", Status{Status: "Canceled", StatusType: "CN"}, couriers.Mapping{Status: tracking.Cancelled, Kind: couriers.Forward}},
		// Unknown is kept raw, never guessed.
		{"unknown status", Status{Status: "Teleported", StatusType: "UD"}, couriers.Mapping{Kind: couriers.Unknown}},
		{"unknown type", Status{Status: "In Transit", StatusType: "ZZ"}, couriers.Mapping{Kind: couriers.Unknown}},
	} {
		if got := Map(tc.in); got != tc.want {
			t.Errorf("%s: Map(%+v) = %+v, want %+v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestParseRealBodies(t *testing.T) {
	body, err := os.ReadFile("testdata/track_mixed.json")
	if err != nil {
		t.Fatal(err)
	}
	asked := []string{"57930810000066", "57930810000073", "57930810000080", "57930810009999"}
	got, err := Parse(body, asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d shipments", len(got))
	}
	if !got[0].Found || got[0].Mapping.Status != tracking.InTransit || got[0].Raw != "UD/In Transit/X-PPOM" {
		t.Errorf("forward: %+v", got[0])
	}
	// IST without an offset: 23:58:39.774 IST is 18:28:39.774 UTC.
	if want := time.Date(2026, 8, 24, 18, 28, 39, 774e6, time.UTC); !got[0].EventTime.Equal(want) {
		t.Errorf("event time %v, want %v", got[0].EventTime, want)
	}
	if got[1].Mapping != (couriers.Mapping{Status: tracking.RTOInTransit, Kind: couriers.RTO}) {
		t.Errorf("RT: %+v", got[1])
	}
	if got[2].Mapping.Kind != couriers.CustomerReturn || got[2].Mapping.Status != tracking.Return {
		t.Errorf("PU with ReverseInTransit must be a customer return: %+v", got[2])
	}
	if got[3].Found {
		t.Errorf("a waybill missing from a partial answer must be not found: %+v", got[3])
	}

	body, _ = os.ReadFile("testdata/not_found.json")
	got, err = Parse(body, []string{"1", "2"})
	if err != nil || len(got) != 2 || got[0].Found || got[1].Found {
		t.Errorf("Data does not exists: %+v %v", got, err)
	}
	if _, err := Parse([]byte(`{"Success":true}`), []string{"1"}); err == nil {
		t.Error("a body with neither data nor error must be an error")
	}
	if _, err := Parse([]byte(`<html>`), []string{"1"}); err == nil {
		t.Error("HTML must be an error")
	}
}

func TestTrackSendsTokenAndWaybillsAndTurns403IntoBackOff(t *testing.T) {
	body, _ := os.ReadFile("testdata/track_mixed.json")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != TrackPath || r.Header.Get("Authorization") != "Token tok-SECRET" {
			http.Error(w, "unauthorized", 401)
			return
		}
		if got := r.URL.Query().Get("waybill"); got != "57930810000066,57930810000073" {
			t.Errorf("waybill=%q", got)
		}
		if n == 2 {
			w.WriteHeader(http.StatusForbidden) // the WAF: no Retry-After
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Token: "tok-SECRET", Timeout: 5 * time.Second, LimitBackoff: 45 * time.Second})
	ctx := context.Background()
	got, err := c.Track(ctx, []string{"57930810000066", "57930810000073"})
	if err != nil || len(got) != 2 || !got[1].Found {
		t.Fatalf("%+v %v", got, err)
	}
	_, err = c.Track(ctx, []string{"57930810000066", "57930810000073"})
	var rl *couriers.RateLimitedError
	if !errors.As(err, &rl) || rl.StatusCode != 403 || rl.Wait != 45*time.Second {
		t.Fatalf("403 must become a rate-limit error with the configured back-off, got %v", err)
	}
	if strings.Contains(err.Error(), "tok-SECRET") {
		t.Error("token in error")
	}
	if _, err := c.Track(ctx, make([]string, MaxWaybills+1)); err == nil {
		t.Error("more than 50 waybills must be refused before calling")
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls", calls.Load())
	}
}
