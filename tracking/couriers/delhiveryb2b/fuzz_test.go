package delhiveryb2b

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse: no lrn/track body makes Parse panic; the answer is always for
// the asked LR, and a shipment without a status is not found.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"track.json", "not_found.json", "login.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "220011223")
	}
	f.Add([]byte(`{"success":true,"data":{"status":"RTO","wbns":[{"scan_timestamp":"garbage"}]}}`), "1")
	f.Fuzz(func(t *testing.T, body []byte, lr string) {
		s, err := Parse(body, lr)
		if err != nil {
			return
		}
		if s.AWB != lr {
			t.Fatalf("answer for %q, asked %q", s.AWB, lr)
		}
		if s.Found == (s.Raw == "") {
			t.Fatalf("found=%v with status %q", s.Found, s.Raw)
		}
	})
}

// FuzzJWTExpiry: whatever token the login endpoint returns, reading its
// expiry does not panic and falls back to the default when there is no exp.
func FuzzJWTExpiry(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl")
	f.Add("a.b.c")
	f.Add("eyJ9.eyJleHAiOiJ4In0.x")
	def := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, jwt string) {
		if got := jwtExpiry(jwt, def); got.IsZero() {
			t.Fatalf("zero expiry for %q", jwt)
		}
	})
}
