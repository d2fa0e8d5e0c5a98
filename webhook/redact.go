package webhook

import "strings"

// secretWords mark a configuration key whose value is write-only.
var secretWords = []string{"secret", "password", "passwd", "token", "api_key", "apikey", "private"}

// IsSecretKey reports whether a key names a secret (client_secret, password, refresh_token…).
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Redact returns a copy of obj without secret keys at any depth, plus the dot
// paths of the keys it removed, so an API can say which secrets are set without
// showing them.
func Redact(obj map[string]any) (map[string]any, []string) {
	var removed []string
	return redact(obj, "", &removed), removed
}

func redact(obj map[string]any, prefix string, removed *[]string) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if IsSecretKey(k) {
			*removed = append(*removed, prefix+k)
			continue
		}
		if nested, ok := asObject(v); ok {
			v = redact(nested, prefix+k+".", removed)
		}
		out[k] = v
	}
	return out
}

// KeepSecrets copies into next every secret key that old has and next omits, so an
// update may leave write-only values out instead of having to resend them.
func KeepSecrets(old, next map[string]any) map[string]any {
	out := make(map[string]any, len(next))
	for k, v := range next {
		out[k] = v
	}
	for k, v := range old {
		_, given := out[k]
		switch {
		case given:
			oldObj, ok1 := asObject(v)
			newObj, ok2 := asObject(out[k])
			if ok1 && ok2 {
				out[k] = KeepSecrets(oldObj, newObj)
			}
		case IsSecretKey(k):
			out[k] = v
		}
	}
	return out
}
