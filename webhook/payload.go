package webhook

import "fmt"

// Mapping describes a payload: each output field maps to a dot path into the
// event data, or to a nested Mapping for nested output objects.
type Mapping map[string]any

// Validate checks that every leaf is a non-empty path and every branch an object.
func (m Mapping) Validate() error {
	if len(m) == 0 {
		return fieldError("mapping", "must map at least one field")
	}
	if err := ValidateKeys("mapping", map[string]any(m)); err != nil {
		return err
	}
	return m.validate("mapping")
}

func (m Mapping) validate(prefix string) error {
	for k, v := range m {
		name := prefix + "." + k
		switch x := v.(type) {
		case string:
			if x == "" {
				return fieldError(name, "must be a dot path such as customer.phone")
			}
		case map[string]any:
			if err := Mapping(x).validate(name); err != nil {
				return err
			}
		default:
			return fieldError(name, fmt.Sprintf("must be a dot path or an object, not %T", v))
		}
	}
	return nil
}

// Build makes the body of one delivery: every mapped field present, null when
// the data has nothing at its path, so the receiver always sees the same keys.
func (m Mapping) Build(data map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k], _ = Lookup(data, x)
		case map[string]any:
			out[k] = Mapping(x).Build(data)
		}
	}
	return out
}
