package ingress

import (
	"testing"

	"orderflow/config"
	"orderflow/tracking/push/clickpost"
)

// The plain route identifies the account by its key, trying every account
// (no early exit); the account route only tries its own.
func TestCredentialMatch(t *testing.T) {
	creds := config.Credentials{"acme": {"acme-key-0123456789"}, "beta": {"beta-old-0123456789", "beta-new-0123456789"}}
	tried := 0
	verify := func(key string) func([]string) bool {
		return func(secrets []string) bool { tried++; return clickpost.VerifyKey(key, secrets) }
	}
	if acc, ok := match(creds, "", verify("beta-new-0123456789")); !ok || acc != "beta" || tried != 2 {
		t.Errorf("plain route: %q %v after %d accounts", acc, ok, tried)
	}
	if _, ok := match(creds, "acme", verify("beta-new-0123456789")); ok {
		t.Error("acme's route accepted beta's key")
	}
	if _, ok := match(creds, "", verify("nobody-0123456789")); ok {
		t.Error("an unknown key matched")
	}
}
