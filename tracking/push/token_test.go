package push

import (
	"crypto/subtle"
	"reflect"
	"testing"
)

// VerifyToken compares fixed-length digests with subtle.ConstantTimeCompare
// and tries every secret, also after a match: neither timing nor an early
// exit tells which secret matched or how long it is.
func TestVerifyTokenIsConstantTimeOverEverySecret(t *testing.T) {
	if reflect.ValueOf(constantTimeEqual).Pointer() != reflect.ValueOf(subtle.ConstantTimeCompare).Pointer() {
		t.Fatal("VerifyToken must compare with subtle.ConstantTimeCompare")
	}
	var lengths []int
	constantTimeEqual = func(a, b []byte) int {
		lengths = append(lengths, len(a), len(b))
		return subtle.ConstantTimeCompare(a, b)
	}
	defer func() { constantTimeEqual = subtle.ConstantTimeCompare }()
	for _, tc := range []struct {
		name    string
		got     string
		secrets []string
		want    bool
	}{
		{"first of two", "token-0123456789abcdef", []string{"token-0123456789abcdef", "a-much-longer-second-token-0123456789"}, true},
		{"second of two", "a-much-longer-second-token-0123456789", []string{"token-0123456789abcdef", "a-much-longer-second-token-0123456789"}, true},
		{"neither", "token-0123456789abcdeX", []string{"token-0123456789abcdef", "a-much-longer-second-token-0123456789"}, false},
		{"prefix of a secret", "token-0123456789", []string{"token-0123456789abcdef", "other-0123456789abcdef"}, false},
	} {
		lengths = lengths[:0]
		if got := VerifyToken(tc.got, tc.secrets); got != tc.want {
			t.Errorf("%s: verified %v, want %v", tc.name, got, tc.want)
		}
		if len(lengths) != 2*len(tc.secrets) {
			t.Errorf("%s: compared %d secrets, want all %d (no early exit)", tc.name, len(lengths)/2, len(tc.secrets))
		}
		for _, n := range lengths {
			if n != 32 {
				t.Errorf("%s: compared %d bytes, want 32-byte digests whatever the secret's length", tc.name, n)
			}
		}
	}
}

func TestVerifyTokenRefusesAnEmptyToken(t *testing.T) {
	if VerifyToken("", []string{""}) || VerifyToken("", nil) || VerifyToken("x", nil) {
		t.Error("an empty token, or an account without secrets, verified")
	}
}

func TestTokenFromAuthorization(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"Bearer k1", "k1"}, {"Token k2", "k2"}, {"k3", "k3"}, {"", ""}, {"Bearer  k4 ", "k4"},
	} {
		if got := TokenFromAuthorization(tc.header); got != tc.want {
			t.Errorf("TokenFromAuthorization(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}
