package activities

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"orderflow/store"
	"orderflow/tracking/push"
)

// Activity inputs and results used to carry store types; recorded histories
// hold their JSON. Each plain type must write the JSON its store type wrote
// and read it back whole.
func TestPlainActivityTypesKeepTheStoreTypesJSON(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		stored any // the store value a recorded history holds
		plain  any // pointer to the plain type that replaced it
	}{
		{"IDRange", store.IDRange{After: "a", Last: "b"}, &IDRange{}},
		{"RTOCandidate", store.RTOCandidate{OrderID: "o", Status: "rto", Source: "s", AWB: "w", Courier: "c"}, &RTOCandidate{}},
		{"OrderSnapshot", store.OrderSnapshot{OrderID: "o", MarketplaceID: "m", Customer: map[string]any{"phone": "1"},
			TotalAmt: 12.5, AWB: "w", Courier: "c", TrackingStatus: "rto"}, &OrderSnapshot{}},
		{"OrderRef", store.OrderRef{Field: store.OrderFieldAWB, Value: "w"}, &push.OrderRef{}},
		{"StockLevel", store.StockLevel{ID: "i", Account: "a", MerchantCode: "m", ProductCode: "p", WarehouseCode: "w",
			WarehouseID: 1, WarehouseAreaID: 2, SKUID: 3, StockID: 4, Quantity: 5, RealQuantity: 6, UpdatedAt: at, EventID: "e"}, &push.StockLevel{}},
	} {
		recorded, err := json.Marshal(tc.stored)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(recorded, tc.plain); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		again, err := json.Marshal(tc.plain)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(recorded) {
			t.Errorf("%s: writes %s, the store type wrote %s", tc.name, again, recorded)
		}
	}
}

// The push_events record lost only recorded_at, which the activity sets.
func TestPushEventRecordIsThePushEventWithoutRecordedAt(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	stored := store.PushEvent{ID: "push:clickpost:acme:1", Source: "clickpost", Account: "acme", Outcome: store.PushOutcomeApplied,
		Event: "21 RTO", Waybill: "W1", OrderRefs: []store.OrderRef{{Field: store.OrderFieldAWB, Value: "W1"}}, OrderID: "o1",
		Statuses: []string{"rto in transit"}, EventTime: at, ReceivedAt: at}
	recorded, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	var rec PushEventRecord
	if err := json.Unmarshal(recorded, &rec); err != nil {
		t.Fatal(err)
	}
	back := store.PushEvent{ID: rec.ID, Source: rec.Source, Account: rec.Account, Outcome: rec.Outcome, Event: rec.Event,
		Waybill: rec.Waybill, OrderRefs: storeOrderRefs(rec.OrderRefs), OrderID: rec.OrderID, Statuses: rec.Statuses,
		EventTime: rec.EventTime, ReceivedAt: rec.ReceivedAt}
	if !reflect.DeepEqual(back, stored) {
		t.Errorf("read back %+v, want %+v", back, stored)
	}
}

// Push refs and outcomes are written by the tracking/push sources and read by
// the store: the strings must be the store's.
func TestPushVocabularyIsTheStores(t *testing.T) {
	for got, want := range map[string]string{
		push.OrderByID: store.OrderFieldID, push.OrderByAWB: store.OrderFieldAWB, push.OrderByFulfilmentCode: store.OrderFieldFulfilmentCode,
	} {
		if got != want {
			t.Errorf("push field %q, store field %q", got, want)
		}
	}
}
