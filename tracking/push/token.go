package push

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// VerifyToken reports whether got is one of an account's secrets (two are
// valid while a secret is rotated). It is the check of every push source whose
// sender authenticates with a shared token in a header (Shiprocket's security
// token, the header agreed with Delhivery). It compares SHA-256 digests in
// constant time and tries every secret without stopping early, so neither the
// time taken nor the secrets' lengths tell an attacker how close a guess was
// or which secret matched. An empty token never verifies.
func VerifyToken(got string, secrets []string) bool {
	if got == "" {
		return false
	}
	g := sha256.Sum256([]byte(got))
	ok := 0
	for _, s := range secrets {
		w := sha256.Sum256([]byte(s))
		ok |= constantTimeEqual(g[:], w[:])
	}
	return ok == 1
}

// constantTimeEqual is subtle.ConstantTimeCompare; a variable so a test can
// check that every secret is compared, on equal-length digests.
var constantTimeEqual = subtle.ConstantTimeCompare

// TokenFromAuthorization reads a token from an Authorization header value:
// "Bearer x", "Token x" or the bare value.
func TokenFromAuthorization(authorization string) string {
	for _, scheme := range []string{"Bearer ", "Token "} {
		if t, ok := strings.CutPrefix(authorization, scheme); ok {
			return strings.TrimSpace(t)
		}
	}
	return strings.TrimSpace(authorization)
}
