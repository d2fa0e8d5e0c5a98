package ingress

import (
	"maps"
	"strings"
	"testing"

	"orderflow/config"
	"orderflow/tracking/push/clickpost"
)

// The plain route identifies the account by its key and verifies every
// account whatever the key (no early exit: how long a refusal takes must not
// tell which accounts came before the match); the account route verifies only
// its own. With the match first, in the middle, last or nowhere in name order,
// an implementation that stops at (or skips verifying after) the first match
// verifies fewer accounts, and one that keeps the last match names "echo" for
// the shared key.
func TestCredentialMatch(t *testing.T) {
	creds := config.Credentials{
		"acme": {"acme-key-0123456789"},
		"beta": {"beta-old-0123456789", "beta-new-0123456789"},
		"cora": {"cora-key-0123456789"},
		"dual": {"shared-key-0123456789"},
		"echo": {"echo-key-0123456789", "shared-key-0123456789"},
	}
	cases := []struct {
		name, account, key, want string
		verified                 []string // accounts whose secrets must each be verified exactly once
	}{
		{"plain route, first account", "", "acme-key-0123456789", "acme", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, an account's second key", "", "beta-new-0123456789", "beta", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, middle account", "", "cora-key-0123456789", "cora", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, key of two accounts", "", "shared-key-0123456789", "dual", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"plain route, unknown key", "", "nobody-0123456789", "", []string{"acme", "beta", "cora", "dual", "echo"}},
		{"account route, own key", "cora", "cora-key-0123456789", "cora", []string{"cora"}},
		{"account route, another account's key", "acme", "beta-new-0123456789", "", []string{"acme"}},
		{"account route, unknown account", "zulu", "acme-key-0123456789", "", nil},
	}
	for _, tc := range cases {
		calls := map[string]int{} // secrets verified → times
		verify := func(secrets []string) bool {
			calls[strings.Join(secrets, ",")]++
			return clickpost.VerifyKey(tc.key, secrets)
		}
		acc, ok := match(creds, tc.account, verify)
		if acc != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: matched %q %v, want %q", tc.name, acc, ok, tc.want)
		}
		want := map[string]int{}
		for _, a := range tc.verified {
			want[strings.Join(creds[a], ",")] = 1
		}
		if !maps.Equal(calls, want) {
			t.Errorf("%s: verified %v, want each of %v once", tc.name, calls, tc.verified)
		}
	}
}
