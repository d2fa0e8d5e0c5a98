package fulfilment

import (
	"os"
	"testing"
	"time"

	"orderflow/tracking"
	"orderflow/tracking/push"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestIngest(t *testing.T) {
	ev, err := Parse([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"dh07060099","updated_at":"2022-06-07T09:55:58.000000Z"},"to_status":"RETURN"}}`))
	if err != nil {
		t.Fatal(err)
	}
	in := Ingest(ev, "acme", "push:fulfilment:acme:42", now)
	if in.EventID != "push:fulfilment:acme:42" || in.Kind != push.KindStatus || len(in.Scans) != 1 ||
		in.Scans[0].Status != tracking.RTO || !in.Scans[0].EventTime.Equal(time.Date(2022, 6, 7, 9, 55, 58, 0, time.UTC)) {
		t.Errorf("order change: %+v", in)
	}
	if len(in.OrderRefs) != 2 || in.OrderRefs[0].Field != push.OrderByID || in.OrderRefs[1].Field != push.OrderByFulfilmentCode {
		t.Errorf("refs %+v", in.OrderRefs)
	}
	unknown, err := Parse([]byte(`{"event":"ORDER.CHANGE_STATUS","payload":{"order":{"code":"a","updated_at":"2022-06-07T09:55:58Z"},"to_status":"TELEPORTED"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if in := Ingest(unknown, "acme", "push:fulfilment:acme:43", now); in.Kind != push.KindIgnored || len(in.Scans) != 0 {
		t.Errorf("unknown status: %+v", in)
	}
	other, err := Parse([]byte(`{"event":"PRODUCT.CREATED","payload":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if in := Ingest(other, "acme", "push:fulfilment:acme:44", now); in.Kind != push.KindIgnored {
		t.Errorf("unknown event: %+v", in)
	}
}

func TestIngestKeysEachStockRowByItsWarehouseArea(t *testing.T) {
	body, err := os.ReadFile("testdata/docs_sku_change_stock.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	in := Ingest(ev, "acme", "push:fulfilment:acme:7", now)
	if in.Kind != push.KindStock || len(in.Stock) < 2 || len(in.OrderRefs) != 0 || len(in.Scans) != 0 {
		t.Fatalf("stock event: %+v", in)
	}
	ids := map[string]bool{}
	for _, l := range in.Stock {
		want := push.StockLevelID("acme", l.MerchantCode, l.ProductCode, l.WarehouseCode, l.WarehouseAreaID)
		if l.ID != want || l.Account != "acme" || l.EventID != in.EventID || l.UpdatedAt.IsZero() {
			t.Errorf("level %+v, want ID %s from event %s", l, want, in.EventID)
		}
		ids[l.ID] = true
	}
	if len(ids) != len(in.Stock) {
		t.Errorf("%d rows share %d keys: one area would overwrite another", len(in.Stock), len(ids))
	}
}
