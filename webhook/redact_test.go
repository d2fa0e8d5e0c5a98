package webhook

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRedactRemovesSecretsAtAnyDepth(t *testing.T) {
	in := map[string]any{
		"client_id":     "crm-app",
		"client_secret": "s3cr3t-value",
		"grant_type":    "client_credentials",
		"nested":        map[string]any{"Password": "p4ss", "refresh_token": "r", "user": "u"},
		"apiKey":        "k",
	}
	out, removed := Redact(in)
	body, _ := json.Marshal(out)
	for _, secret := range []string{"s3cr3t-value", "p4ss", `"r"`, `"k"`} {
		if strings.Contains(string(body), secret) {
			t.Errorf("redacted output still holds %s: %s", secret, body)
		}
	}
	if !strings.Contains(string(body), "crm-app") || !strings.Contains(string(body), `"user":"u"`) {
		t.Errorf("redaction removed non-secrets: %s", body)
	}
	slices.Sort(removed)
	want := []string{"apiKey", "client_secret", "nested.Password", "nested.refresh_token"}
	if !reflect.DeepEqual(removed, want) {
		t.Errorf("removed = %v, want %v", removed, want)
	}
	if in["client_secret"] != "s3cr3t-value" {
		t.Error("Redact modified its input")
	}
}

func TestKeepSecretsCarriesOmittedSecretsOver(t *testing.T) {
	old := map[string]any{"client_id": "a", "client_secret": "s", "nested": map[string]any{"password": "p", "x": 1}}
	next := map[string]any{"client_id": "b", "nested": map[string]any{"x": 2}}
	got := KeepSecrets(old, next)
	want := map[string]any{"client_id": "b", "client_secret": "s", "nested": map[string]any{"password": "p", "x": 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	replaced := KeepSecrets(old, map[string]any{"client_secret": "new"})
	if replaced["client_secret"] != "new" {
		t.Error("a given secret must replace the old one")
	}
	if _, ok := replaced["client_id"]; ok {
		t.Error("non-secret fields are not carried over")
	}
}
