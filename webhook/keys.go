package webhook

import (
	"fmt"
	"strings"
)

// ValidateKeys rejects object keys MongoDB (and FerretDB) cannot store as
// field names — empty, starting with '$' or containing '.' — so such a
// configuration is a 400 naming the key instead of a failed insert (a 500).
// Found by FuzzConfigAPIDecoding.
func ValidateKeys(prefix string, v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			name := prefix + "." + k
			if k == "" || strings.HasPrefix(k, "$") || strings.Contains(k, ".") {
				return fieldError(name, fmt.Sprintf("key %q must be non-empty, not start with '$' and not contain '.'", k))
			}
			if err := ValidateKeys(name, sub); err != nil {
				return err
			}
		}
	case []any:
		for i, sub := range x {
			if err := ValidateKeys(fmt.Sprintf("%s[%d]", prefix, i), sub); err != nil {
				return err
			}
		}
	}
	return nil
}
