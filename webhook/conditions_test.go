package webhook

import (
	"errors"
	"testing"
)

func TestConditionOperators(t *testing.T) {
	data := map[string]any{
		"tracking_status": "rto in transit",
		"order_id":        "ORD-7",
		"customer":        map[string]any{"phone": "9876500000", "vip": nil},
	}
	cases := []struct {
		c    Condition
		want bool
	}{
		{Condition{"tracking_status", OpEq, "rto in transit", 1}, true},
		{Condition{"tracking_status", OpEq, "rto", 1}, false},
		{Condition{"tracking_status", OpNeq, "rto", 1}, true},
		{Condition{"tracking_status", OpNeq, "rto in transit", 1}, false},
		{Condition{"missing", OpNeq, "x", 1}, true},
		{Condition{"tracking_status", OpIn, "rto,rto in transit", 1}, true},
		{Condition{"tracking_status", OpIn, " rto , rto in transit ", 1}, true},
		{Condition{"tracking_status", OpIn, "rto,delivered", 1}, false},
		{Condition{"missing", OpIn, "rto", 1}, false},
		{Condition{"tracking_status", OpNotIn, "rto,delivered", 1}, true},
		{Condition{"tracking_status", OpNotIn, "rto in transit", 1}, false},
		{Condition{"customer.phone", OpExists, "", 1}, true},
		{Condition{"customer.phone", OpExists, "true", 1}, true},
		{Condition{"customer.email", OpExists, "true", 1}, false},
		{Condition{"customer.email", OpExists, "false", 1}, true},
		{Condition{"customer.vip", OpExists, "", 1}, false}, // null counts as absent
		{Condition{"order_id", OpContains, "ORD", 1}, true},
		{Condition{"order_id", OpContains, "XYZ", 1}, false},
		{Condition{"missing", OpContains, "", 1}, false},
	}
	for _, tc := range cases {
		if got := Match([]Condition{tc.c}, data); got != tc.want {
			t.Errorf("%s %s %q: got %v, want %v", tc.c.Field, tc.c.Operator, tc.c.Value, got, tc.want)
		}
	}
}

func TestConditionGroupsAndWithinOrAcross(t *testing.T) {
	rto := Condition{"tracking_status", OpIn, "rto,rto in transit", 1}
	wrongOrder := Condition{"order_id", OpEq, "OTHER", 1}
	rightOrder := Condition{"order_id", OpEq, "ORD-1", 2}
	data := map[string]any{"tracking_status": "rto", "order_id": "ORD-1"}

	if Match([]Condition{rto, wrongOrder}, data) {
		t.Error("a group must AND its conditions")
	}
	if !Match([]Condition{rto, wrongOrder, rightOrder}, data) {
		t.Error("groups must be ORed: group 2 holds")
	}
	if Match([]Condition{wrongOrder, {"tracking_status", OpEq, "delivered", 2}}, data) {
		t.Error("no group holds, yet matched")
	}
	if !Match(nil, data) {
		t.Error("no conditions must always match")
	}
	// Order of conditions must not matter: a failing condition before a passing one.
	if Match([]Condition{wrongOrder, rto}, data) {
		t.Error("a later passing condition must not revive a failed group")
	}
}

func TestConditionValidateNamesTheField(t *testing.T) {
	cases := map[string]Condition{
		"field":    {"", OpEq, "x", 1},
		"operator": {"a", "like", "x", 1},
		"value":    {"a", OpIn, "", 1},
		"group":    {"a", OpEq, "x", 0},
	}
	for want, c := range cases {
		var fe *FieldError
		if err := c.Validate(); !errors.As(err, &fe) || fe.Field != want {
			t.Errorf("Validate(%+v) = %v, want a FieldError on %q", c, err, want)
		}
	}
	if err := (Condition{"tracking_status", OpIn, "rto,rto in transit", 1}).Validate(); err != nil {
		t.Errorf("the RTO webhook's condition rejected: %v", err)
	}
}
