package clickpost

import (
	"crypto/subtle"
	"reflect"
	"testing"
	"time"

	"orderflow/tracking"
)

// Every clickpost_status_code listed in docs/couriers.md.
func TestCodeTableCoversEveryDocumentedCode(t *testing.T) {
	want := map[int]string{
		1: tracking.Pending, 2: tracking.Booked, 3: tracking.Booked, 4: tracking.PickedUp, 5: tracking.InTransit,
		6: tracking.OutForDelivery, 7: "", 8: tracking.Delivered, 9: tracking.NDR, 10: tracking.Cancelled,
		11: tracking.RTO, 12: tracking.RTO, 13: tracking.RTOInTransit, 14: tracking.RTODelivered, 15: tracking.RTOInTransit,
		16: tracking.Lost, 17: tracking.Damaged, 18: "", 19: "", 20: "", 21: tracking.RTOInTransit,
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
		t.Errorf("table has %d codes, docs/couriers.md lists %d", len(statusByCode), len(want))
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

func TestParseClickpostDocSamples(t *testing.T) {
	// Clickpost's documented sample with Python's True: not JSON, so refused, never guessed.
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

func TestKeyIgnoresLatestStatusAndSeparatesEvents(t *testing.T) {
	parse := func(body string) Event {
		t.Helper()
		ev, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	first := parse(`{"waybill":"A1","clickpost_status_code":21,"timestamp":"2026-01-01T10:00:00Z","additional":{"notification_event_id":6}}`)
	retry := parse(`{"waybill":"A1","clickpost_status_code":21,"timestamp":"2026-01-01T10:00:00Z","additional":{"notification_event_id":6,"latest_status":{"clickpost_status_code":14,"timestamp":"2026-01-03T10:00:00Z"}}}`)
	if first.Key("acme") != retry.Key("acme") {
		t.Error("a retry with a fresher latest_status must be the same event")
	}
	for name, other := range map[string]string{
		"other waybill": `{"waybill":"A2","clickpost_status_code":21,"timestamp":"2026-01-01T10:00:00Z","additional":{"notification_event_id":6}}`,
		"other code":    `{"waybill":"A1","clickpost_status_code":13,"timestamp":"2026-01-01T10:00:00Z","additional":{"notification_event_id":6}}`,
		"other time":    `{"waybill":"A1","clickpost_status_code":21,"timestamp":"2026-01-01T10:00:01Z","additional":{"notification_event_id":6}}`,
	} {
		if parse(other).Key("acme") == first.Key("acme") {
			t.Errorf("%s: same key", name)
		}
	}
}

// Vectors: printf '%s' 'clickpost-key-0123456789' | sha256sum — the digest VerifyKey compares.
func TestVerifyKey(t *testing.T) {
	const key = "clickpost-key-0123456789"
	cases := []struct {
		name string
		got  string
		keys []string
		want bool
	}{
		{"right key", key, []string{key}, true},
		{"new key during rotation", key, []string{"old-clickpost-key-000000", key}, true},
		{"wrong key", "clickpost-key-0123456780", []string{key}, false},
		{"prefix of the key", key[:10], []string{key}, false},
		{"empty", "", []string{key}, false},
		{"no keys", key, nil, false},
	}
	for _, tc := range cases {
		if got := VerifyKey(tc.got, tc.keys); got != tc.want {
			t.Errorf("%s: VerifyKey = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// VerifyKey compares fixed-length digests with subtle.ConstantTimeCompare and
// tries every key: neither timing nor an early exit tells which key matched or
// how long it is.
func TestVerifyKeyIsConstantTimeOverEveryKey(t *testing.T) {
	if reflect.ValueOf(constantTimeEqual).Pointer() != reflect.ValueOf(subtle.ConstantTimeCompare).Pointer() {
		t.Fatal("VerifyKey must compare with subtle.ConstantTimeCompare")
	}
	var lengths []int
	constantTimeEqual = func(a, b []byte) int {
		lengths = append(lengths, len(a), len(b))
		return subtle.ConstantTimeCompare(a, b)
	}
	defer func() { constantTimeEqual = subtle.ConstantTimeCompare }()
	if !VerifyKey("clickpost-key-0123456789", []string{"clickpost-key-0123456789", "a-much-longer-second-key-0123456789"}) {
		t.Fatal("the first key did not verify")
	}
	if len(lengths) != 4 {
		t.Fatalf("compared %d keys, want 2 (no early exit)", len(lengths)/2)
	}
	for _, n := range lengths {
		if n != 32 {
			t.Errorf("compared %d bytes, want 32-byte digests whatever the key length", n)
		}
	}
}

func TestKeyFromRequest(t *testing.T) {
	for _, tc := range []struct{ header, auth, want string }{
		{"k1", "Bearer k2", "k1"}, {"", "Bearer k2", "k2"}, {"", "Token k3", "k3"}, {"", "k4", "k4"}, {"", "", ""},
	} {
		if got := KeyFromRequest(tc.header, tc.auth); got != tc.want {
			t.Errorf("KeyFromRequest(%q, %q) = %q, want %q", tc.header, tc.auth, got, tc.want)
		}
	}
}

func TestTestPayloadKeyFollowsItsData(t *testing.T) {
	a, _ := Parse([]byte(`{"test_url":"u","test_data":{"timestamp":"2016-07-12T17:12:36.710"}}`))
	b, _ := Parse([]byte(`{"test_url":"u","test_data":{"timestamp":"2016-07-12T17:12:37.710"}}`))
	if a.Key("acme") == b.Key("acme") || a.Key("acme") != a.Key("acme") {
		t.Error("test payloads must be keyed by their data")
	}
}
