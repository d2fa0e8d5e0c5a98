package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Couriers' webhook bodies are not strict about JSON types: Shiprocket's
// is_return arrives as 0/1 and sometimes as a string, ids as numbers or
// strings. The Loose types read what a field means, whichever way it is
// written, and refuse what it cannot mean (an object, a word for a number).

// LooseString is a JSON string or number, kept as text (a number as written).
type LooseString string

// UnmarshalJSON accepts a string, a number or null (empty).
func (s *LooseString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = LooseString(strings.TrimSpace(v))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %.20s", b)
		}
		*s = LooseString(n.String())
	}
	return nil
}

// LooseInt is a JSON integer, or a string holding one; null or "" is 0.
type LooseInt int64

// UnmarshalJSON accepts an integer, a string of digits, "" or null.
func (n *LooseInt) UnmarshalJSON(b []byte) error {
	var s LooseString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %.20q", string(s))
	}
	*n = LooseInt(v)
	return nil
}

// LooseBool is a JSON boolean, 0/1, or one of those as a string; null or "" is false.
type LooseBool bool

// UnmarshalJSON accepts true/false, 0/1, "true"/"false"/"0"/"1"/"", or null.
func (v *LooseBool) UnmarshalJSON(b []byte) error {
	var s LooseString
	if string(bytes.TrimSpace(b)) == "true" || string(bytes.TrimSpace(b)) == "false" {
		s = LooseString(bytes.TrimSpace(b))
	} else if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(string(s)) {
	case "1", "true":
		*v = true
	case "0", "false", "":
		*v = false
	default:
		return fmt.Errorf("want a boolean or 0/1, got %.20q", string(s))
	}
	return nil
}

// DescribeJSONError says what was wrong with a body json.Unmarshal refused,
// without echoing any of it (a body may carry customer data).
func DescribeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return typeErr.Field + " has the wrong type"
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return "not valid JSON"
	}
	if strings.HasPrefix(err.Error(), "want ") { // a Loose value that means nothing
		return "a field has the wrong type"
	}
	return "not a JSON object"
}
