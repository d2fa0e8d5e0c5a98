package shiprocket

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

var ist = time.FixedZone("IST", 5*3600+1800)

func fixture(t *testing.T, name string) Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func ingest(ev Event) push.Event {
	return Ingest(ev, "acme", "push:shiprocket:acme:"+ev.Key("acme"), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
}

func statuses(scans []push.Scan) string {
	var out []string
	for _, s := range scans {
		out = append(out, s.Status+"@"+s.EventTime.In(ist).Format("01-02 15:04"))
	}
	return strings.Join(out, ", ")
}

// The in-transit body carries current_status_id 20 and shipment_status_id 18
// for the same event: 20 in the table's numbering is Pickup Exception
// (pending), which would move the order back. The status is 18's, and the
// history's coded scans come along at their own times; the "NA" scan at a hub
// named "RTO/CHD" says nothing (never map free text).
func TestInTransitMapsShipmentStatusIDNotCurrentStatusID(t *testing.T) {
	in := ingest(fixture(t, "in_transit.json"))
	if in.Kind != push.KindStatus || in.Waybill != "14344920212345" {
		t.Fatalf("kind %q waybill %q", in.Kind, in.Waybill)
	}
	newest, _ := in.NewestScan()
	if newest.Status != tracking.InTransit || !newest.EventTime.Equal(time.Date(2026, 11, 21, 9, 14, 27, 0, ist)) {
		t.Errorf("newest scan %+v, want in transit at 21 Nov 09:14:27 IST", newest)
	}
	if got, want := statuses(in.Scans), "in transit@11-21 09:14, booked@11-19 10:02, picked up@11-19 18:40"; got != want {
		t.Errorf("scans %s, want %s", got, want)
	}
	for _, s := range in.Scans {
		if s.Status == tracking.Pending || tracking.IsRTO(s.Status) {
			t.Errorf("scan %+v: mapped the wrong numbering or free text", s)
		}
	}
	if len(in.OrderRefs) != 2 || in.OrderRefs[0] != (push.OrderRef{Field: push.OrderByAWB, Value: "14344920212345"}) ||
		in.OrderRefs[1] != (push.OrderRef{Field: push.OrderByID, Value: "2231907_118830412"}) {
		t.Errorf("order refs %+v", in.OrderRefs)
	}
	if !strings.Contains(in.Event, "18 IN TRANSIT") || !strings.Contains(in.Event, "current_status_id 20") {
		t.Errorf("event %q does not keep both raw codes", in.Event)
	}
}

// A forward shipment's RTO Initiated (9) is rto, with its NDR history;
// is_return "0" as a string is a forward shipment.
func TestForwardRTOInitiatedIsRTO(t *testing.T) {
	in := ingest(fixture(t, "rto_initiated.json"))
	newest, _ := in.NewestScan()
	if in.Kind != push.KindStatus || newest.Status != tracking.RTO {
		t.Fatalf("kind %q newest %+v, want rto", in.Kind, newest)
	}
	if got, want := statuses(in.Scans), "rto@11-24 16:31, out for delivery@11-22 11:20, ndr@11-22 19:02"; got != want {
		t.Errorf("scans %s, want %s", got, want)
	}
}

// A return shipment (is_return "1") delivered back to the seller is a customer
// return: its scans are return then returned, so it can neither set the order
// to delivered nor ever be an RTO, whatever codes it reuses.
func TestReturnShipmentIsACustomerReturnNeverRTO(t *testing.T) {
	in := ingest(fixture(t, "return_delivered.json"))
	if got, want := statuses(in.Scans), "returned@12-02 13:05, return@11-30 10:12"; in.Kind != push.KindCustomerReturn || got != want {
		t.Fatalf("kind %q scans %s, want a customer return with %s", in.Kind, got, want)
	}
	for _, code := range []int{9, 10, 14, 40, 41, 46, 75, 78, 7, 18} {
		for _, flag := range []string{`1`, `"1"`, `true`, `"true"`} {
			body := `{"awb":"R1","shipment_status_id":` + itoa(code) + `,"current_timestamp":"02 12 2026 13:05:44","is_return":` + flag + `}`
			ev, err := Parse([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if in := ingest(ev); in.Kind != push.KindCustomerReturn || len(in.Scans) > 1 || (len(in.Scans) == 1 && !tracking.IsReturn(in.Scans[0].Status)) {
				t.Errorf("return shipment with code %d (is_return %s): kind %q scans %+v", code, flag, in.Kind, in.Scans)
			}
		}
	}
}

// Every RTO code of the table is RTO on a forward shipment; a code no table
// knows is recorded as ignored with the code kept; 16 (Cancellation
// Requested) is known but changes nothing.
func TestStatusMappingSharesThePollersTable(t *testing.T) {
	cases := map[int]string{9: tracking.RTO, 10: tracking.RTODelivered, 14: tracking.RTO, 40: tracking.RTOInTransit,
		41: tracking.RTOInTransit, 46: tracking.RTOInTransit, 75: tracking.RTO, 78: tracking.RTOInTransit,
		18: tracking.InTransit, 20: tracking.Pending, 17: tracking.OutForDelivery, 21: tracking.NDR, 7: tracking.Delivered}
	for code, want := range cases {
		ev, err := Parse([]byte(`{"awb":"A1","shipment_status_id":` + itoa(code) + `,"current_timestamp":"2026-11-21 09:14:27","is_return":0}`))
		if err != nil {
			t.Fatal(err)
		}
		in := ingest(ev)
		if newest, ok := in.NewestScan(); !ok || newest.Status != want || in.Kind != push.KindStatus {
			t.Errorf("code %d: kind %q scans %+v, want %q", code, in.Kind, in.Scans, want)
		}
	}
	for code, kind := range map[int]string{999: push.KindIgnored, 16: push.KindIgnored, 47: push.KindIgnored} {
		ev, err := Parse([]byte(`{"awb":"A1","shipment_status_id":` + itoa(code) + `,"current_timestamp":"2026-11-21 09:14:27"}`))
		if err != nil {
			t.Fatal(err)
		}
		if in := ingest(ev); in.Kind != kind || len(in.Scans) != 0 || !strings.HasPrefix(in.Event, itoa(code)+" ") {
			t.Errorf("code %d: kind %q scans %+v event %q, want %q with the code kept", code, in.Kind, in.Scans, in.Event, kind)
		}
	}
}

// Without shipment_status_id the newest scan's sr-status (same numbering)
// and date stand in; a body with only current_status_id is refused.
func TestMissingShipmentStatusIDFallsBackToTheScansNotToCurrentStatusID(t *testing.T) {
	ev, err := Parse([]byte(`{"awb":"A1","current_status_id":20,"scans":[` +
		`{"date":"2026-11-21 09:14:27","sr-status":"18"},{"date":"2026-11-22 10:00:00","sr-status":9}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if newest, _ := ingest(ev).NewestScan(); newest.Status != tracking.RTO {
		t.Errorf("newest %+v, want the newest scan's rto", newest)
	}
	if _, err := Parse([]byte(`{"awb":"A1","current_status_id":20,"current_timestamp":"21 11 2026 09:14:27"}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("only current_status_id: err %v, want ErrInvalid", err)
	}
}

func TestParseRefusesWhatCannotBeApplied(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":             `{"awb":`,
		"an array":             `[{"awb":"A1"}]`,
		"no shipment":          `{"shipment_status_id":18,"current_timestamp":"21 11 2026 09:14:27"}`,
		"no status":            `{"awb":"A1","current_timestamp":"21 11 2026 09:14:27"}`,
		"no time":              `{"awb":"A1","shipment_status_id":18}`,
		"unreadable time":      `{"awb":"A1","shipment_status_id":18,"current_timestamp":"yesterday"}`,
		"status id as a word":  `{"awb":"A1","shipment_status_id":"eighteen","current_timestamp":"21 11 2026 09:14:27"}`,
		"is_return as a word":  `{"awb":"A1","shipment_status_id":18,"current_timestamp":"21 11 2026 09:14:27","is_return":"maybe"}`,
		"awb as an object":     `{"awb":{},"shipment_status_id":18,"current_timestamp":"21 11 2026 09:14:27"}`,
		"scans as an object":   `{"awb":"A1","shipment_status_id":18,"current_timestamp":"21 11 2026 09:14:27","scans":{}}`,
		"Python True as value": `{"awb":"A1","shipment_status_id":18,"current_timestamp":"21 11 2026 09:14:27","is_return":True}`,
	} {
		if _, err := Parse([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

// A redelivery has the same key; another status, time or account does not;
// a longer scan history does not change it.
func TestKeyIsStableAndAccountScoped(t *testing.T) {
	a := fixture(t, "in_transit.json")
	b := a
	b.Scans = append(b.Scans, Scan{Date: "2026-11-21 10:00:00", SRStatus: "18"})
	if a.Key("acme") != b.Key("acme") {
		t.Error("a longer scan history changed the key")
	}
	c := a
	c.ShipmentStatusID = 17
	d := a
	d.CurrentTimestamp = "21 11 2026 09:14:28"
	for _, other := range []string{c.Key("acme"), d.Key("acme"), a.Key("beta")} {
		if other == a.Key("acme") {
			t.Error("distinct events share a key")
		}
	}
}

func TestVerifyAcceptsEitherRotatedTokenOnly(t *testing.T) {
	secrets := []string{"sr-token-old-0123456789", "sr-token-new-0123456789"}
	for token, want := range map[string]bool{
		"sr-token-old-0123456789": true, "sr-token-new-0123456789": true, " sr-token-new-0123456789 ": true,
		"sr-token-new-012345678": false, "": false, "SR-TOKEN-NEW-0123456789": false,
	} {
		if got := Verify(token, secrets); got != want {
			t.Errorf("Verify(%q) = %v, want %v", token, got, want)
		}
	}
}

func TestParseTimeReadsBothShiprocketLayoutsAsIST(t *testing.T) {
	want := time.Date(2023, 5, 23, 11, 43, 52, 0, ist)
	for _, s := range []string{"23 05 2023 11:43:52", "2023-05-23 11:43:52", "2023-05-23T11:43:52+05:30"} {
		if got, ok := ParseTime(s); !ok || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
	if _, ok := ParseTime("23/05/2023"); ok {
		t.Error("an unknown layout parsed")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
