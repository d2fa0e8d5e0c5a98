package webhook

import (
	"fmt"
	"slices"
	"strings"
)

// Operators a condition may use.
const (
	OpEq       = "eq"
	OpNeq      = "neq"
	OpIn       = "in"     // value is a comma-separated list
	OpNotIn    = "not_in" // value is a comma-separated list
	OpExists   = "exists" // value "true" (default) or "false"
	OpContains = "contains"
)

// Operators lists every supported operator, for validation and documentation.
var Operators = []string{OpEq, OpNeq, OpIn, OpNotIn, OpExists, OpContains}

// Condition is one test on the event's data (the in-house webhook system's updatedData).
// Conditions with the same Group are ANDed; groups are ORed.
type Condition struct {
	Field    string `json:"field" bson:"field"`
	Operator string `json:"operator" bson:"operator"`
	Value    string `json:"value" bson:"value"`
	Group    int    `json:"group" bson:"group"`
}

// Validate reports the first bad field of c, named as the API names it.
func (c Condition) Validate() error {
	switch {
	case strings.TrimSpace(c.Field) == "":
		return fieldError("field", "is required")
	case !slices.Contains(Operators, c.Operator):
		return fieldError("operator", "must be one of "+strings.Join(Operators, ", "))
	case c.Operator == OpExists && c.Value != "" && c.Value != "true" && c.Value != "false":
		return fieldError("value", `must be "true" or "false" for exists`)
	case c.Operator != OpExists && c.Value == "":
		return fieldError("value", "is required for "+c.Operator)
	case c.Group < 1:
		return fieldError("group", "must be 1 or more")
	}
	return nil
}

// Match reports whether data satisfies conds: any group whose conditions all hold.
// No conditions at all means the webhook always fires.
func Match(conds []Condition, data map[string]any) bool {
	if len(conds) == 0 {
		return true
	}
	groups := map[int]bool{}
	for _, c := range conds {
		ok, seen := groups[c.Group]
		if seen && !ok {
			continue
		}
		groups[c.Group] = c.holds(data)
	}
	for _, ok := range groups {
		if ok {
			return true
		}
	}
	return false
}

func (c Condition) holds(data map[string]any) bool {
	v, present := Lookup(data, c.Field)
	present = present && v != nil
	if c.Operator == OpExists {
		return present == (c.Value != "false")
	}
	s := stringify(v)
	switch c.Operator {
	case OpEq:
		return present && s == c.Value
	case OpNeq:
		return !present || s != c.Value
	case OpIn:
		return present && slices.Contains(splitList(c.Value), s)
	case OpNotIn:
		return !present || !slices.Contains(splitList(c.Value), s)
	case OpContains:
		return present && strings.Contains(s, c.Value)
	}
	return false
}

func splitList(v string) []string {
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%g", x)
	}
	return fmt.Sprint(v)
}

// FieldError names the request field that made a configuration invalid.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldError(field, msg string) error { return &FieldError{Field: field, Message: msg} }
