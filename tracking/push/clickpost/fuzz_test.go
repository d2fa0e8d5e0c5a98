package clickpost

import (
	"os"
	"path/filepath"
	"testing"
)

// clickpostSeeds are Clickpost's two documented sample payloads, verbatim (Python's True included),
// and the shapes the unit tests cover.
func clickpostSeeds(f *testing.F) {
	for _, name := range []string{"docs_rvp_push.json", "docs_test_push.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"waybill":"","clickpost_status_code":101,"cp_id":-1,"status":"O","timestamp":"2017-08-02T13:23:02Z","additional":{"is_rvp":true,"forward_awb":"sample_forward_awb","latest_status":{"clickpost_status_code":101,"timestamp":"2017-08-02T13:23:02Z"}}}`,
		`{"waybill":"W1","clickpost_status_code":21,"timestamp":"2026-11-20T10:00:00Z","additional":{"order_id":"o1","notification_event_id":6,"latest_status":{"clickpost_status_code":14,"timestamp":"2026-11-21T10:00:00.123"}}}`,
		`{"test_url":"u","test_data":null}`,
		`{"waybill":"A1","clickpost_status_code":5,"timestamp":"2017-08-02 13:23:02"}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse: no body makes Parse panic; an accepted event has what the
// ingress relies on (a code and a parseable time, or the test payload), its
// key is stable and account-scoped, and its scans all carry a parseable time.
func FuzzParse(f *testing.F) {
	clickpostSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			return
		}
		if ev.Key("a") != ev.Key("a") || ev.Key("a") == ev.Key("b") {
			t.Fatalf("key not stable or not account-scoped for %q", body)
		}
		if ev.IsTest() {
			return
		}
		if ev.Code == 0 {
			t.Fatalf("accepted without a status code: %q", body)
		}
		for _, s := range ev.Scans() {
			if _, err := ParseTime(s.Timestamp); err != nil {
				t.Fatalf("accepted scan with time %q: %v", s.Timestamp, err)
			}
		}
		_, _ = Canonical(ev.Code)
	})
}

// FuzzWebhookKey: the key taken from either header verifies against itself
// and never against a different key.
func FuzzWebhookKey(f *testing.F) {
	f.Add("webhook_key_given_during_webhooks_register", "", "other-key-0123")
	f.Add("", "Bearer clickpost-key-0123456789", "clickpost-key-0123456789")
	f.Add("", "Token x", "")
	f.Fuzz(func(t *testing.T, header, authorization, other string) {
		key := KeyFromRequest(header, authorization)
		if key == "" {
			if VerifyKey(key, []string{"", other}) {
				t.Fatal("an empty key verified")
			}
			return
		}
		if !VerifyKey(key, []string{other, key}) {
			t.Fatalf("key %q does not verify against itself", key)
		}
		if other != key && VerifyKey(key, []string{other}) {
			t.Fatalf("key %q verified against %q", key, other)
		}
	})
}
