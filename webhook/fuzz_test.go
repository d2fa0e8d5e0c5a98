package webhook

import (
	"encoding/json"
	"testing"
)

// The RTO webhook's payload mapping and the data RTOCancel builds (buildingData).
const (
	rtoMappingJSON = `{"phone_number":"customer.phone","order_id":"order_id","order_source":"source","order_value":"total_amt","status":"status"}`
	rtoDataJSON    = `{"order_id":"64a000000000000000000001","customer":{"name":"Asha","phone":"9876500001"},"total_amt":1499,"source":"Shopify","status":"rto","tracking_status":"rto in transit"}`
)

// FuzzMappingBuild: any mapping that validates builds a body with exactly its
// keys, nested where the mapping nests, from any data, without panicking.
func FuzzMappingBuild(f *testing.F) {
	f.Add(rtoMappingJSON, rtoDataJSON)
	f.Add(`{"customer":{"phone":"customer.phone","name":"customer.name"},"id":"order_id"}`, rtoDataJSON)
	f.Add(`{"x":"a.b.c.d"}`, `{"a":{"b":[1,2]}}`)
	f.Add(`{"x":"."}`, `{"":{"":1}}`)
	f.Add(`{"x":""}`, `{}`)
	f.Add(`{"x":3}`, `null`)
	f.Fuzz(func(t *testing.T, mappingJSON, dataJSON string) {
		var m Mapping
		if json.Unmarshal([]byte(mappingJSON), &m) != nil {
			return
		}
		var data map[string]any
		_ = json.Unmarshal([]byte(dataJSON), &data) // nil data is a valid input too
		if m.Validate() != nil {
			return
		}
		checkShape(t, m, m.Build(data))
	})
}

func checkShape(t *testing.T, m Mapping, out map[string]any) {
	t.Helper()
	if len(out) != len(m) {
		t.Fatalf("body has %d keys, mapping %d: %v vs %v", len(out), len(m), out, m)
	}
	for k, v := range m {
		got, ok := out[k]
		if !ok {
			t.Fatalf("body lacks mapped key %q", k)
		}
		if nested, isObj := v.(map[string]any); isObj {
			sub, ok := got.(map[string]any)
			if !ok {
				t.Fatalf("key %q: nested mapping gave %T", k, got)
			}
			checkShape(t, nested, sub)
		}
	}
}

// FuzzConditionMatch: evaluating any valid condition against any data never
// panics, and each operator is the exact negation of its opposite
// (eq/neq, in/not_in, exists true/false), as the README promises.
func FuzzConditionMatch(f *testing.F) {
	f.Add("tracking_status", "in", "rto,rto in transit", 1, `{"tracking_status":"rto in transit","order_id":"64a000000000000000000001"}`)
	f.Add("tracking_status", "eq", "rto", 1, `{"tracking_status":"rto"}`)
	f.Add("order_id", "contains", "64a", 2, `{"order_id":"64a000000000000000000001"}`)
	f.Add("customer.phone", "exists", "false", 1, `{"customer":{"phone":null}}`)
	f.Add("a.b", "not_in", " x , y ", 1, `{"a":{"b":1.5e300}}`)
	f.Add("tracking_status", "neq", "rto", 3, `{"tracking_status":["rto"]}`)
	f.Fuzz(func(t *testing.T, field, op, value string, group int, dataJSON string) {
		c := Condition{Field: field, Operator: op, Value: value, Group: group}
		if c.Validate() != nil {
			return
		}
		var data map[string]any
		_ = json.Unmarshal([]byte(dataJSON), &data)
		got := Match([]Condition{c}, data)
		opposite := map[string]string{OpEq: OpNeq, OpNeq: OpEq, OpIn: OpNotIn, OpNotIn: OpIn}
		if neg, ok := opposite[op]; ok {
			if Match([]Condition{{Field: field, Operator: neg, Value: value, Group: group}}, data) == got {
				t.Fatalf("%s and %s agree (%v) on %q %q for %s", op, neg, got, field, value, dataJSON)
			}
		}
		if op == OpExists {
			flipped := "false"
			if value == "false" {
				flipped = "true"
			}
			if Match([]Condition{{Field: field, Operator: OpExists, Value: flipped, Group: group}}, data) == got {
				t.Fatalf("exists %q and %q agree on %q for %s", value, flipped, field, dataJSON)
			}
		}
	})
}
