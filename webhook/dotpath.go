package webhook

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Lookup follows a dot path ("customer.phone") through nested objects.
// It reports false when any segment is missing or not an object.
func Lookup(data any, path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	cur := data
	for _, seg := range strings.Split(path, ".") {
		obj, ok := asObject(cur)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// asObject accepts the shapes an object takes after JSON or BSON decoding.
func asObject(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return o, true
	case bson.M:
		return o, true
	case bson.D:
		m := make(map[string]any, len(o))
		for _, e := range o {
			m[e.Key] = e.Value
		}
		return m, true
	}
	return nil, false
}
