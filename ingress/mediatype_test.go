package ingress

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAcceptsJSONComparesTheParsedMediaType(t *testing.T) {
	for contentType, want := range map[string]bool{
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"Application/JSON ; charset=UTF-8":  true,
		"":                                  false,
		"text/plain":                        false,
		"text/plain; charset=utf-8":         false,
		"application/x-www-form-urlencoded": false,
		"application/jsonx":                 false,
		"application/json;;":                false,
		"application/xml":                   false,
	} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		if got := acceptsJSON(rec, req); got != want {
			t.Errorf("%q: accepted %v, want %v", contentType, got, want)
		}
		if !want && rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("%q: answered %d, want 415", contentType, rec.Code)
		}
	}
}
