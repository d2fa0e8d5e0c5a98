package delhivery

import (
	"errors"
	"os"
	"path/filepath"
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
	return Ingest(ev, "acme", "push:delhivery:acme:"+ev.Key("acme"), time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
}

// Each documented scan shape maps by StatusType with the poller's table:
// RT and DL+RTO are the RTO family, PU and DL+DTO customer returns (no scan),
// the NDR code arrives as NSLCode. Times without an offset are IST.
func TestScansMapByStatusType(t *testing.T) {
	for _, tc := range []struct {
		file, kind, status string
		at                 time.Time
	}{
		{"manifested.json", push.KindStatus, tracking.Booked, time.Date(2026, 11, 19, 10, 2, 11, 412e6, ist)},
		{"ndr_pending.json", push.KindStatus, tracking.NDR, time.Date(2026, 11, 22, 19, 2, 13, 18e6, ist)},
		{"rto_in_transit.json", push.KindStatus, tracking.RTOInTransit, time.Date(2026, 11, 24, 16, 31, 9, 655e6, ist)},
		{"rto_delivered.json", push.KindStatus, tracking.RTODelivered, time.Date(2026, 11, 28, 12, 40, 0, 0, ist)},
		{"reverse_pickup.json", push.KindCustomerReturn, tracking.Return, time.Date(2026, 12, 1, 9, 15, 30, 120e6, ist)},
		{"dto_delivered.json", push.KindCustomerReturn, tracking.Returned, time.Date(2026, 12, 3, 14, 22, 5, 0, ist)},
	} {
		in := ingest(fixture(t, tc.file))
		if in.Kind != tc.kind || !in.EventTime.Equal(tc.at) {
			t.Errorf("%s: kind %q at %v, want %q at %v", tc.file, in.Kind, in.EventTime, tc.kind, tc.at)
		}
		newest, ok := in.NewestScan()
		if tc.kind == push.KindCustomerReturn && tracking.IsRTO(newest.Status) {
			t.Errorf("%s: a customer return carries RTO scan %+v", tc.file, newest)
		}
		if tc.status != "" && (!ok || newest.Status != tc.status || !newest.EventTime.Equal(tc.at) || len(in.Scans) != 1) {
			t.Errorf("%s: scans %+v, want one %q at %v", tc.file, in.Scans, tc.status, tc.at)
		}
		if len(in.OrderRefs) != 2 || in.OrderRefs[0].Field != push.OrderByAWB || in.OrderRefs[1].Field != push.OrderByID {
			t.Errorf("%s: order refs %+v, want AWB then ReferenceNo", tc.file, in.OrderRefs)
		}
	}
}

// The same Status under each StatusType: only RT (and DL+RTO) is RTO; a
// cancelled parcel reading "Returned" under UD is not; a pair no table knows
// is recorded as ignored with its raw form kept.
func TestDirectionLivesInStatusType(t *testing.T) {
	body := func(status, typ string) []byte {
		return []byte(`{"Shipment":{"AWB":"A1","Status":{"Status":"` + status + `","StatusType":"` + typ +
			`","StatusDateTime":"2026-11-24T16:31:09"}}}`)
	}
	for _, tc := range []struct{ status, typ, kind, want string }{
		{"In Transit", "UD", push.KindStatus, tracking.InTransit},
		{"In Transit", "RT", push.KindStatus, tracking.RTOInTransit},
		{"In Transit", "PU", push.KindCustomerReturn, tracking.Return},
		{"Dispatched", "UD", push.KindStatus, tracking.OutForDelivery},
		{"Dispatched", "RT", push.KindStatus, tracking.RTOInTransit},
		{"Dispatched", "PU", push.KindCustomerReturn, tracking.Return},
		{"Open", "PP", push.KindCustomerReturn, tracking.Return},
		{"Delivered", "DL", push.KindStatus, tracking.Delivered},
		{"RTO", "DL", push.KindStatus, tracking.RTODelivered},
		{"DTO", "DL", push.KindCustomerReturn, tracking.Returned},
		{"Returned", "UD", push.KindStatus, tracking.Cancelled},
		{"Teleported", "UD", push.KindIgnored, ""},
		{"In Transit", "ZZ", push.KindIgnored, ""},
	} {
		ev, err := Parse(body(tc.status, tc.typ))
		if err != nil {
			t.Fatal(err)
		}
		in := ingest(ev)
		newest, _ := in.NewestScan()
		if in.Kind != tc.kind || newest.Status != tc.want {
			t.Errorf("%s/%s: kind %q status %q, want %q %q", tc.typ, tc.status, in.Kind, newest.Status, tc.kind, tc.want)
		}
		if in.Event != tc.typ+"/"+tc.status+"/" {
			t.Errorf("%s/%s: raw status kept as %q", tc.typ, tc.status, in.Event)
		}
	}
}

// A UD scan of a shipment whose RTO has started (the poll response's
// RTOStartedDate or ReverseInTransit, when a push carries them) is RTO.
func TestForwardScanOfAStartedRTOIsRTO(t *testing.T) {
	for _, extra := range []string{`"RTOStartedDate":"2026-11-24T16:31:09"`, `"ReverseInTransit":true`} {
		ev, err := Parse([]byte(`{"Shipment":{"AWB":"A1",` + extra + `,"Status":{"Status":"In Transit","StatusType":"UD","StatusDateTime":"2026-11-25T10:00:00"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		if newest, _ := ingest(ev).NewestScan(); newest.Status != tracking.RTOInTransit {
			t.Errorf("%s: %+v, want rto in transit", extra, newest)
		}
	}
}

func TestParseRefusesWhatCannotBeApplied(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":          `{"Shipment":`,
		"no Shipment":       `{"AWB":"A1"}`,
		"the flat variant":  `{"waybill":"A1","status":"In Transit","Status DateTime":"2026-11-24 16:31:09","Scan Type":"UD"}`,
		"an array":          `[{"Shipment":{"AWB":"A1"}}]`,
		"no AWB":            `{"Shipment":{"Status":{"Status":"In Transit","StatusType":"UD","StatusDateTime":"2026-11-24T16:31:09"}}}`,
		"no StatusType":     `{"Shipment":{"AWB":"A1","Status":{"Status":"In Transit","StatusDateTime":"2026-11-24T16:31:09"}}}`,
		"no Status":         `{"Shipment":{"AWB":"A1","Status":{"StatusType":"UD","StatusDateTime":"2026-11-24T16:31:09"}}}`,
		"no time":           `{"Shipment":{"AWB":"A1","Status":{"Status":"In Transit","StatusType":"UD"}}}`,
		"unreadable time":   `{"Shipment":{"AWB":"A1","Status":{"Status":"In Transit","StatusType":"UD","StatusDateTime":"soon"}}}`,
		"Status a string":   `{"Shipment":{"AWB":"A1","Status":"In Transit"}}`,
		"AWB an object":     `{"Shipment":{"AWB":{},"Status":{"Status":"In Transit","StatusType":"UD","StatusDateTime":"2026-11-24T16:31:09"}}}`,
		"Shipment a string": `{"Shipment":"A1"}`,
	} {
		if _, err := Parse([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	// An AWB written as a number is the same shipment.
	ev, err := Parse([]byte(`{"Shipment":{"AWB":5793081000006612,"Status":{"Status":"In Transit","StatusType":"UD","StatusDateTime":"2026-11-24T16:31:09"}}}`))
	if err != nil || ev.Shipment.AWB != "5793081000006612" {
		t.Errorf("numeric AWB: %v %q", err, ev.Shipment.AWB)
	}
}

// A redelivery has the same key; another scan or account does not.
func TestKeyIsStableAndAccountScoped(t *testing.T) {
	a := fixture(t, "rto_in_transit.json")
	b := fixture(t, "rto_in_transit.json")
	if a.Key("acme") != b.Key("acme") {
		t.Error("a redelivery has another key")
	}
	c := fixture(t, "rto_in_transit.json")
	c.Shipment.Status.StatusDateTime = "2026-11-24T16:31:10.655"
	d := fixture(t, "rto_in_transit.json")
	d.Shipment.Status.StatusType = "UD"
	for _, other := range []string{c.Key("acme"), d.Key("acme"), a.Key("beta")} {
		if other == a.Key("acme") {
			t.Error("distinct scans share a key")
		}
	}
}

func TestVerifyReadsTheAuthorizationHeader(t *testing.T) {
	secrets := []string{"dl-token-old-0123456789", "dl-token-new-0123456789"}
	for header, want := range map[string]bool{
		"Bearer dl-token-old-0123456789": true, "Token dl-token-new-0123456789": true, "dl-token-new-0123456789": true,
		"Bearer dl-token-new-012345678": false, "": false, "Bearer ": false, "Basic dl-token-new-0123456789": false,
	} {
		if got := Verify(header, secrets); got != want {
			t.Errorf("Verify(%q) = %v, want %v", header, got, want)
		}
	}
}
