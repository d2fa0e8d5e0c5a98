package store_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orderflow/store"
	"orderflow/tracking/push"
)

func TestFindOrderTriesRefsInOrder(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	byAWB := insertOrder(t, s, bson.M{"awb": "AWB-1"})
	byCode := insertOrder(t, s, bson.M{"fulfilment_code": "dh07060099"})

	cases := []struct {
		name  string
		refs  []store.OrderRef
		want  string
		found bool
	}{
		{"waybill", []store.OrderRef{{Field: store.OrderFieldAWB, Value: "AWB-1"}}, byAWB.Hex(), true},
		{"waybill first, then id", []store.OrderRef{{Field: store.OrderFieldAWB, Value: "AWB-X"}, {Field: store.OrderFieldID, Value: byCode.Hex()}}, byCode.Hex(), true},
		{"fulfilment code", []store.OrderRef{{Field: store.OrderFieldFulfilmentCode, Value: "dh07060099"}}, byCode.Hex(), true},
		{"empty values are skipped", []store.OrderRef{{Field: store.OrderFieldAWB, Value: ""}}, "", false},
		{"unknown", []store.OrderRef{{Field: store.OrderFieldAWB, Value: "nope"}, {Field: store.OrderFieldID, Value: bson.NewObjectID().Hex()}}, "", false},
	}
	for _, tc := range cases {
		got, found, err := s.FindOrder(ctx, tc.refs)
		if err != nil || got != tc.want || found != tc.found {
			t.Errorf("%s: FindOrder = %q, %v, %v; want %q, %v", tc.name, got, found, err, tc.want, tc.found)
		}
	}
}

func TestApplyStockLevelNewerWins(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2022, 6, 7, 10, 0, 0, 0, time.UTC)
	level := func(qty int64, at time.Time) store.StockLevel {
		return store.StockLevel{ID: push.StockLevelID("acme", "XYZ", "ABC", "WH", 61), ProductCode: "ABC", Quantity: qty, UpdatedAt: at}
	}
	for _, step := range []struct {
		qty     int64
		at      time.Time
		applied bool
	}{
		{5, t0, true},                   // first
		{3, t0.Add(time.Hour), true},    // newer wins
		{9, t0.Add(time.Minute), false}, // older, late: ignored
		{3, t0.Add(time.Hour), false},   // the same again: nothing
	} {
		applied, err := s.ApplyStockLevel(ctx, level(step.qty, step.at))
		if err != nil || applied != step.applied {
			t.Fatalf("apply %d@%v: applied=%v err=%v, want %v", step.qty, step.at, applied, err, step.applied)
		}
	}
	levels, err := s.StockLevels(ctx, "ABC")
	if err != nil || len(levels) != 1 || levels[0].Quantity != 3 {
		t.Fatalf("levels %+v, %v", levels, err)
	}
}

func TestPushEventsAndCredentials(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	ev := store.PushEvent{ID: "push:clickpost:acme:1", Source: "clickpost", Account: "acme", Outcome: store.PushOutcomeUnmatched,
		Waybill: "W1", ReceivedAt: time.Now().UTC()}
	for i := 0; i < 2; i++ { // recording twice writes one document
		if err := s.RecordPushEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.PushEvents(ctx, store.PushEventFilter{Outcome: store.PushOutcomeUnmatched})
	if err != nil || len(got) != 1 || got[0].Waybill != "W1" {
		t.Fatalf("push events %+v, %v", got, err)
	}
	if other, _ := s.PushEvents(ctx, store.PushEventFilter{Outcome: store.PushOutcomeApplied}); len(other) != 0 {
		t.Errorf("outcome filter ignored: %+v", other)
	}

	c := store.PushCredential{Source: "clickpost", Account: "acme", Secrets: []string{"k1-0123456789abcdef"}}
	if err := s.SetPushCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Secrets = append(c.Secrets, "k2-0123456789abcdef")
	if err := s.SetPushCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	creds, err := s.PushCredentials(ctx)
	if err != nil || len(creds) != 1 || len(creds[0].Secrets) != 2 {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	if err := s.DeletePushCredential(ctx, "clickpost", "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePushCredential(ctx, "clickpost", "acme"); err != store.ErrNotFound {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}
