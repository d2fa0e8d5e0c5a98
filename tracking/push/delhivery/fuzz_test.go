package delhivery

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

// FuzzParse: no body makes Parse or Ingest panic; an accepted scan has an
// AWB, a StatusType and a time, its key is stable and account-scoped, a
// customer return never carries a scan, and a scan is canonical and carries
// the event's time.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Shipment":{"AWB":1,"ReverseInTransit":"1","Status":{"Status":"Pending","StatusType":"RT","StatusDateTime":"2026-11-24 16:31:09"}}}`))
	f.Add([]byte(`{"waybill":"A1","status":"In Transit","Status DateTime":"2026-11-24 16:31:09","Scan Type":"UD"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			return
		}
		if ev.Key("a") != ev.Key("a") || ev.Key("a") == ev.Key("b") {
			t.Fatalf("key not stable or not account-scoped for %q", body)
		}
		in := Ingest(ev, "a", "id", time.Unix(0, 0))
		if in.Waybill == "" || in.EventTime.IsZero() {
			t.Fatalf("accepted without an AWB or a time: %q", body)
		}
		for _, s := range in.Scans {
			if (in.Kind == push.KindCustomerReturn) != tracking.IsReturn(s.Status) {
				t.Fatalf("%s event with scan %q: %q", in.Kind, s.Status, body)
			}
		}
		for _, s := range in.Scans {
			if !tracking.IsCanonical(s.Status) || !s.EventTime.Equal(in.EventTime) {
				t.Fatalf("scan %+v from %q", s, body)
			}
		}
	})
}
