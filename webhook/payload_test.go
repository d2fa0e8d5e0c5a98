package webhook

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// rtoMapping is the payload step of the RTO webhook's configuration.
var rtoMapping = Mapping{
	"phone_number": "customer.phone",
	"order_id":     "order_id",
	"order_source": "source",
	"order_value":  "total_amt",
	"status":       "status",
}

func TestPayloadMappingOfTheRTOWebhook(t *testing.T) {
	building := map[string]any{
		"order_id":        "65f0c0ffee",
		"customer":        map[string]any{"phone": "9876500001", "name": "Asha"},
		"total_amt":       1499.5,
		"source":          "Shopify",
		"status":          "rto",
		"tracking_status": "rto in transit",
	}
	got := rtoMapping.Build(building)
	want := map[string]any{
		"phone_number": "9876500001", "order_id": "65f0c0ffee", "order_source": "Shopify",
		"order_value": 1499.5, "status": "rto",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPayloadMappingMissingFieldsAreNull(t *testing.T) {
	got := rtoMapping.Build(map[string]any{"order_id": "A", "customer": "not-an-object"})
	body, _ := json.Marshal(got)
	want := `{"order_id":"A","order_source":null,"order_value":null,"phone_number":null,"status":null}`
	if string(body) != want {
		t.Fatalf("got %s, want %s", body, want)
	}
}

func TestPayloadMappingNestedPathsAndOutputs(t *testing.T) {
	m := Mapping{
		"contact": map[string]any{"phone": "customer.phone", "city": "customer.address.city"},
		"deep":    "a.b.c.d",
	}
	data := map[string]any{
		"customer": bson.M{"phone": "1", "address": bson.D{{Key: "city", Value: "Pune"}}},
		"a":        map[string]any{"b": map[string]any{"c": map[string]any{"d": 4.0}}},
	}
	got := m.Build(data)
	want := map[string]any{"contact": map[string]any{"phone": "1", "city": "Pune"}, "deep": 4.0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPayloadMappingValidate(t *testing.T) {
	for name, m := range map[string]Mapping{
		"empty":      {},
		"empty path": {"a": ""},
		"number":     {"a": 3.0},
		"nested bad": {"a": map[string]any{"b": true}},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := rtoMapping.Validate(); err != nil {
		t.Errorf("seed mapping rejected: %v", err)
	}
}
