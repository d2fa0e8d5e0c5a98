package clickpost

import (
	"testing"
	"time"

	"orderflow/tracking"
)

// Every clickpost_status_code listed in shared/reference/couriers.md.
func TestCodeTableCoversEveryDocumentedCode(t *testing.T) {
	want := map[int]string{
		1: tracking.Pending, 2: tracking.Booked, 3: tracking.Booked, 4: tracking.PickedUp, 5: tracking.InTransit,
		6: tracking.OutForDelivery, 7: "", 8: tracking.Delivered, 9: tracking.NDR, 10: tracking.Cancelled,
		11: tracking.RTO, 12: tracking.RTO, 13: tracking.RTOInTransit, 14: tracking.RTODelivered, 15: tracking.RTOInTransit,
		16: tracking.Lost, 17: tracking.Damaged, 18: tracking.InTransit, 19: "", 20: "", 21: tracking.RTOInTransit,
		23: tracking.Cancelled, 25: tracking.Booked, 26: tracking.RTOInTransit, 27: tracking.RTOInTransit,
		28: tracking.Booked, 101: "",
	}
	for code, status := range want {
		got, known := Canonical(code)
		if !known || got != status {
			t.Errorf("code %d → %q (known %v), want %q", code, got, known, status)
		}
	}
	if len(statusByCode) != len(want) {
		t.Errorf("table has %d codes, couriers.md lists %d", len(statusByCode), len(want))
	}
	// The "Returned" bucket (7) is exactly the RTO family.
	for _, code := range []int{11, 12, 13, 14, 15, 21, 26, 27} {
		if s, _ := Canonical(code); !tracking.IsRTO(s) {
			t.Errorf("code %d must be RTO, got %q", code, s)
		}
	}
	if _, known := Canonical(22); known {
		t.Error("undocumented code 22 must not be guessed")
	}
}

func TestParseSeed001(t *testing.T) {
	// Seed 001's sample with Python's True: not JSON, so refused, never guessed.
	python := `{"waybill":"","clickpost_status_code":101,"timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":True}}`
	if _, err := Parse([]byte(python)); err == nil {
		t.Error("a body with Python's True was accepted")
	}
	rvp := `{"waybill":"","clickpost_status_code":101,"cp_id":-1,"status":"O","timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":true,"forward_awb":"sample_forward_awb","latest_status":{"clickpost_status_code":101,"timestamp":"2017-08-02T13:23:02Z"}}}`
	ev, err := Parse([]byte(rvp))
	if err != nil || !ev.IsCustomerReturn() {
		t.Fatalf("rvp: %+v, %v", ev, err)
	}
	test := `{"test_url":"http://www.clickpost.in/","test_data":{"status":"Return Order Placed","waybill":"","timestamp":"2016-07-12T17:12:36.710","clickpost_status_code":101}}`
	if ev, err := Parse([]byte(test)); err != nil || !ev.IsTest() {
		t.Fatalf("test payload: %+v, %v", ev, err)
	}
	for name, body := range map[string]string{
		"no code":       `{"waybill":"A1","timestamp":"2017-08-02T13:23:02Z"}`,
		"bad time":      `{"waybill":"A1","clickpost_status_code":5,"timestamp":"noon"}`,
		"no reference":  `{"waybill":"","clickpost_status_code":5,"timestamp":"2017-08-02T13:23:02Z"}`,
		"bad latest":    `{"waybill":"A1","clickpost_status_code":5,"timestamp":"2017-08-02T13:23:02Z","additional":{"latest_status":{"clickpost_status_code":6,"timestamp":"x"}}}`,
		"wrong type":    `{"waybill":5,"clickpost_status_code":5,"timestamp":"2017-08-02T13:23:02Z"}`,
		"not an object": `[]`,
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCustomerReturnFlags(t *testing.T) {
	for body, want := range map[string]bool{
		`{"waybill":"A","clickpost_status_code":8,"timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":true}}`:  true,
		`{"waybill":"A","clickpost_status_code":8,"timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":null}}`:  false,
		`{"waybill":"A","clickpost_status_code":8,"timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":false}}`: false,
		`{"waybill":"A","clickpost_status_code":101,"timestamp":"2017-08-02T13:23:02Z"}`:                             true,
	} {
		ev, err := Parse([]byte(body))
		if err != nil || ev.IsCustomerReturn() != want {
			t.Errorf("%s: return=%v err=%v, want %v", body, ev.IsCustomerReturn(), err, want)
		}
	}
}

func TestTimesWithoutOffsetAreIST(t *testing.T) {
	got, err := ParseTime("2016-07-12T17:12:36.710")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2016, 7, 12, 11, 42, 36, 710e6, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got.UTC(), want)
	}
	utc, _ := ParseTime("2017-08-02T13:23:02Z")
	if utc.Hour() != 13 {
		t.Errorf("explicit Z moved: %v", utc)
	}
}

func TestScansIncludeLatestStatusAndKeyIsStable(t *testing.T) {
	body := `{"waybill":"A1","clickpost_status_code":5,"timestamp":"2026-01-01T10:00:00Z","additional":{"latest_status":{"clickpost_status_code":21,"timestamp":"2026-01-02T10:00:00Z"}}}`
	ev, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if s := ev.Scans(); len(s) != 2 || s[1].Code != 21 {
		t.Errorf("scans %+v", s)
	}
	again, _ := Parse([]byte(body))
	if ev.Key("acme") != again.Key("acme") || ev.Key("acme") == ev.Key("beta") {
		t.Error("key must be stable per event and distinct per account")
	}
}
