package starter

import (
	"io"
	"reflect"
	"testing"
	"time"
)

func TestParseRedriveReadsEveryFlag(t *testing.T) {
	req, err := parseRedrive([]string{"start", "-webhook", "wh1", "-status", "rejected, exhausted", "-from", "2026-01-01T00:00:00Z",
		"-to", "2026-01-02T00:00:00Z", "-orders", "o1,o2", "-reason", "URL fixed", "-force", "-rate", "2.5", "-request-id", "r1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if req.DryRun || req.WebhookID != "wh1" || req.Reason != "URL fixed" || !req.Force || req.RequestID != "r1" {
		t.Errorf("request %+v", req)
	}
	if !reflect.DeepEqual(req.Statuses, []string{"rejected", "exhausted"}) || !reflect.DeepEqual(req.OrderIDs, []string{"o1", "o2"}) {
		t.Errorf("lists %v %v", req.Statuses, req.OrderIDs)
	}
	if req.RatePerSecond == nil || *req.RatePerSecond != 2.5 {
		t.Errorf("rate %v", req.RatePerSecond)
	}
	if !req.From.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !req.To.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("range %v %v", req.From, req.To)
	}
}

func TestParseRedriveCountIsADryRunAndBadInputIsRefused(t *testing.T) {
	req, err := parseRedrive([]string{"count", "-delivery", "a,b"}, io.Discard)
	if err != nil || !req.DryRun || !reflect.DeepEqual(req.DeliveryIDs, []string{"a", "b"}) {
		t.Errorf("count: %+v, %v", req, err)
	}
	for _, args := range [][]string{nil, {"go"}, {"start", "-from", "yesterday"}, {"start", "extra"}} {
		if _, err := parseRedrive(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
