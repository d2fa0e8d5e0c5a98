package ingress

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestParseLimit(t *testing.T) {
	cases := []struct {
		query string
		want  int64
		ok    bool
	}{
		{"", 0, true},
		{"limit=1", 1, true},
		{"limit=1000", 1000, true},
		{"limit=0", 0, false},
		{"limit=1001", 0, false},
		{"limit=-3", 0, false},
		{"limit=ten", 0, false},
	}
	for _, tc := range cases {
		q, _ := url.ParseQuery(tc.query)
		rec := httptest.NewRecorder()
		got, ok := parseLimit(rec, q)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: got (%d, %v), want (%d, %v)", tc.query, got, ok, tc.want, tc.ok)
		}
		if !tc.ok && rec.Code != http.StatusBadRequest {
			t.Errorf("%q: answered %d, want 400", tc.query, rec.Code)
		}
	}
}
