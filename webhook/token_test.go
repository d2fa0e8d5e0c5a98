package webhook

import (
	"errors"
	"testing"
	"time"
)

func TestExtractToken(t *testing.T) {
	cases := []struct {
		name, body, path string
		wantTok          string
		wantTTL          time.Duration
		wantErr          bool
	}{
		{"top level", `{"access_token":"t1","expires_in":3600}`, "access_token", "t1", time.Hour, false},
		{"nested with sibling expiry", `{"data":{"auth":{"jwt":"t2","expires_in":"120"}}}`, "data.auth.jwt", "t2", 2 * time.Minute, false},
		{"nested, top-level expiry", `{"data":{"token":"t3"},"expires_in":60}`, "data.token", "t3", time.Minute, false},
		{"no expiry", `{"token":"t4"}`, "token", "t4", 0, false},
		{"missing", `{"access_token":"t1"}`, "token", "", 0, true},
		{"not a string", `{"token":{"v":1}}`, "token", "", 0, true},
		{"empty", `{"token":""}`, "token", "", 0, true},
		{"not json", `<html>`, "token", "", 0, true},
	}
	for _, tc := range cases {
		tok, ttl, err := ExtractToken([]byte(tc.body), tc.path)
		if (err != nil) != tc.wantErr || tok != tc.wantTok || ttl != tc.wantTTL {
			t.Errorf("%s: got (%q, %v, %v)", tc.name, tok, ttl, err)
		}
	}
	if _, _, err := ExtractToken([]byte(`{}`), "a.b"); !errors.Is(err, ErrNoToken) {
		t.Errorf("want ErrNoToken, got %v", err)
	}
}
