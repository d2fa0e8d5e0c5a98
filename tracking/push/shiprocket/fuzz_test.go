package shiprocket

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

// FuzzParse: no body makes Parse or Ingest panic; an accepted event has what
// the ingress relies on (a shipment, a status in the shipment_status
// numbering, a time), its key is stable and account-scoped, a return
// shipment never carries a scan, and every scan is canonical with a time.
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
	for _, s := range []string{
		`{"awb":"A1","current_status_id":20,"scans":[{"date":"2026-11-21 09:14:27","sr-status":"18"}]}`,
		`{"awb":19041424751540,"shipment_status_id":"9","current_timestamp":"23 05 2023 11:43:52","is_return":"1"}`,
		`{"order_id":"o1","shipment_status_id":999,"current_timestamp":"2023-05-23T11:43:52Z","is_return":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			return
		}
		if ev.Key("a") != ev.Key("a") || ev.Key("a") == ev.Key("b") {
			t.Fatalf("key not stable or not account-scoped for %q", body)
		}
		in := Ingest(ev, "a", "id", time.Unix(0, 0))
		if in.EventTime.IsZero() || (in.Waybill == "" && len(in.OrderRefs) == 0) {
			t.Fatalf("accepted without a time or a shipment: %q", body)
		}
		if bool(ev.IsReturn) && in.Kind != push.KindCustomerReturn && in.Kind != push.KindIgnored {
			t.Fatalf("return shipment ingested as %q: %q", in.Kind, body)
		}
		for _, s := range in.Scans {
			if bool(ev.IsReturn) != tracking.IsReturn(s.Status) {
				t.Fatalf("return=%v shipment with scan %q: %q", bool(ev.IsReturn), s.Status, body)
			}
		}
		for _, s := range in.Scans {
			if !tracking.IsCanonical(s.Status) || s.EventTime.IsZero() {
				t.Fatalf("scan %+v from %q", s, body)
			}
		}
	})
}

// FuzzVerify: a token verifies against the secrets that hold it and never
// against others.
func FuzzVerify(f *testing.F) {
	f.Add("sr-token-0123456789", "other-token-0123456789")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, token, other string) {
		if token == "" || token != strings.TrimSpace(token) {
			return
		}
		if !Verify(token, []string{other, token}) {
			t.Fatalf("token %q does not verify against itself", token)
		}
		if other != token && Verify(token, []string{other}) {
			t.Fatalf("token %q verified against %q", token, other)
		}
	})
}
