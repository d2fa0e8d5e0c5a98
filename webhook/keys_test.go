package webhook

import (
	"errors"
	"strings"
	"testing"
)

func TestKeysMongoCannotStoreAreRejectedNamingTheKey(t *testing.T) {
	for _, m := range []Mapping{{"$set": "a"}, {"x.y": "b"}, {"": "c"}, {"ok": map[string]any{"$in": "d"}}} {
		var fe *FieldError
		if err := m.Validate(); !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "mapping.") {
			t.Errorf("mapping %v: got %v, want a field error naming the key", m, err)
		}
	}
	auth := TokenAuth{URL: "http://h/t", TokenPath: "access_token", Payload: map[string]any{"grant": []any{map[string]any{"$where": "1"}}}}
	if err := auth.Validate(); err == nil || !strings.Contains(err.Error(), "auth_payload.grant[0].$where") {
		t.Errorf("auth payload with a $ key: %v", err)
	}
}
