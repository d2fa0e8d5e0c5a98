package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoToken means the auth response had no usable token at the configured path.
var ErrNoToken = errors.New("no token at response_token_path")

// TokenAuth is the webhook system's token auth: POST AuthPayload to URL, read the token at TokenPath.
type TokenAuth struct {
	// ID and Version identify the cache entry: a changed auth config gets a new token.
	ID        string
	Version   int64
	URL       string
	Payload   map[string]any
	TokenPath string
}

// Validate names the first bad field of an auth configuration.
func (a TokenAuth) Validate() error {
	switch {
	case !isHTTPURL(a.URL):
		return fieldError("auth_url", "must be an http(s) URL")
	case len(a.Payload) == 0:
		return fieldError("auth_payload", "must be a non-empty object")
	case strings.TrimSpace(a.TokenPath) == "":
		return fieldError("response_token_path", "is required, e.g. access_token")
	}
	return ValidateKeys("auth_payload", a.Payload)
}

// ExtractToken reads the token at path in a JSON auth response, and its
// lifetime from an expires_in (seconds) beside the token or at the top level;
// zero when the response gives none.
func ExtractToken(body []byte, path string) (string, time.Duration, error) {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", 0, fmt.Errorf("auth response is not a JSON object")
	}
	v, ok := Lookup(doc, path)
	tok, isString := v.(string)
	if !ok || !isString || tok == "" {
		return "", 0, ErrNoToken
	}
	return tok, expiresIn(doc, path), nil
}

func expiresIn(doc map[string]any, tokenPath string) time.Duration {
	candidates := []string{"expires_in"}
	if i := strings.LastIndex(tokenPath, "."); i >= 0 {
		candidates = append([]string{tokenPath[:i] + ".expires_in"}, candidates...)
	}
	for _, p := range candidates {
		v, ok := Lookup(doc, p)
		if !ok {
			continue
		}
		switch x := v.(type) {
		case float64:
			return time.Duration(x * float64(time.Second))
		case string:
			var secs float64
			if _, err := fmt.Sscanf(x, "%g", &secs); err == nil {
				return time.Duration(secs * float64(time.Second))
			}
		}
	}
	return 0
}
